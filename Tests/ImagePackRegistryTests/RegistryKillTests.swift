import Foundation
import Glibc
import Testing
import TestSupport

/// The registry killed (SIGKILL) in the middle of a push or a pull, then started again on the
/// same port and storage: the interrupted command fails clearly and publishes nothing, and the
/// same command run again finishes the job with the same bytes.
@Suite("Registry killed mid-transfer", .serialized)
struct RegistryKillTests {
    /// Runs imgpack in the background with its output kept, for a run that a kill interrupts.
    static func start(_ w: Workspace, _ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Workspace.imgpack)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: w.directory)
        let err = Pipe()
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = err
        try process.run()
        return (process, err)
    }

    static func files(_ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }


    @Test func aPushWhoseRegistryDiesPublishesNothingAndThePushAgainSkipsWhatArrived() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        try f.packDisk(megabytes: 96, seed: 31)
        let ref = "\(registry.address)/vm/big:1"
        // One transfer at a time, so that some layers are stored and others are not when the registry dies.
        let (push, err) = try Self.start(w, ["push", w.path("v1.ipk"), ref, "--jobs", "1", "--quiet"] + registry.clientArguments)
        let blobs = registry.storage + "/docker/registry/v2/blobs/sha256"
        func storedBlobs() -> Int { Self.files(blobs).filter { FileManager.default.fileExists(atPath: "\(blobs)/\($0)") }.flatMap { Self.files("\(blobs)/\($0)") }.count }
        while push.isRunning && storedBlobs() < 3 { Thread.sleep(forTimeInterval: 0.002) }
        #expect(push.isRunning, "the push ended before the registry was killed: the test proves nothing")
        registry.kill()
        push.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(push.terminationStatus == 3, "an I/O error (registryUnreachable, registryRequestFailed)")
        #expect(message.contains("registryUnreachable") || message.contains("registryRequestFailed"), "\(message)")
        #expect(message.contains(registry.address), "\(message)")

        try registry.restart()
        // Nothing published: no manifest under the tag.
        let listed = try w.imgpack(["ls-remote", ref] + registry.clientArguments)
        #expect(listed.status == 2, "manifestUnknown is a usage error")
        #expect(listed.stderr.contains("manifestUnknown"), "\(listed.stderr)")
        let again = try w.imgpack(["push", w.path("v1.ipk"), ref, "--json"] + registry.clientArguments)
        #expect(again.status == 0, "\(again.stderr)")
        #expect((again.json["blobsPresent"] as? Int ?? 0) > 0, "blobs stored before the kill are skipped: \(again.stdout)")
        let pull = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk")] + registry.clientArguments)
        #expect(pull.status == 0, "\(pull.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"), "the pulled file against the pushed one")
    }

    /// What the push-kill test above sometimes left: docker-registry 2.8 writes a repository's
    /// link to a blob in place (truncate, then write the digest), so a SIGKILL between the two
    /// leaves the link empty, and HEAD of that blob answers 500 ("invalid checksum digest
    /// format") from then on. The push again uploads that blob, which rewrites the link, where
    /// it used to stop at the 500 (then the pull found no manifest).
    @Test func aBlobLinkEmptiedByAKillIsUploadedAgainByTheNextPush() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        let ref = try f.pushDisk(megabytes: 8, seed: 32)
        let links = registry.storage + "/docker/registry/v2/repositories/vm/web/_layers/sha256"
        let victim = try #require(Self.files(links).sorted().first)
        #expect(FileManager.default.createFile(atPath: "\(links)/\(victim)/link", contents: Data()))

        let again = try w.imgpack(["push", w.path("v1.ipk"), ref, "--json"] + registry.clientArguments)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.json["blobsUploaded"] as? Int == 1, "only the blob with the empty link travels: \(again.stdout)")
        let link = String(decoding: FileManager.default.contents(atPath: "\(links)/\(victim)/link") ?? Data(), as: UTF8.self)
        #expect(link == "sha256:\(victim)", "the upload rewrote the link")
        let pull = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk")] + registry.clientArguments)
        #expect(pull.status == 0, "\(pull.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))
    }

    @Test func aPullWhoseRegistryDiesPublishesNothingAndThePullAgainResumesAndVerifies() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        // Incompressible 4 MiB chunks: layers of several records, each far larger than the
        // loopback socket buffers, so the registry dies in the middle of sending one.
        #expect(try w.execute("/bin/sh", ["-c", "head -c 96M /dev/urandom > disk.raw"]).status == 0)
        #expect(try w.imgpack(["pack", "--disk", "root=\(w.path("disk.raw"))", "-o", w.path("v1.ipk"), "--quiet"]).status == 0)
        let ref = "\(registry.address)/vm/big:1"
        #expect(try w.imgpack(["push", w.path("v1.ipk"), ref] + registry.clientArguments).status == 0)

        let (pull, err) = try Self.start(w, ["pull", ref, "-o", w.path("pulled.ipk"), "--jobs", "1", "--quiet", "--blob-cache", w.path("cache")] + registry.clientArguments)
        // Killed while a layer is arriving: the assembly's journal counts a megabyte of it.
        let held = { RegistryResilienceTests.keptLayers(w).reduce(UInt64(0)) { $0 + $1.bytes } }
        while pull.isRunning && held() <= 1 << 20 {
            Thread.sleep(forTimeInterval: 0.001)
        }
        #expect(pull.isRunning, "the pull ended before the registry was killed: the test proves nothing")
        registry.kill()
        pull.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(pull.terminationStatus == 3, "an I/O error (registryUnreachable, registryRequestFailed)")
        #expect(message.contains("registryUnreachable") || message.contains("registryRequestFailed"), "\(message)")
        #expect(!w.exists("pulled.ipk"))
        #expect(!Self.files(w.directory).contains { $0.contains("pulled") })
        #expect(held() > 0)

        try registry.restart()
        let again = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--json"] + registry.clientArguments)
        #expect(again.status == 0, "\(again.stderr)")
        #expect((again.json["bytesResumed"] as? Int ?? 0) > 0, "\(again.stdout)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))
        #expect(RegistryResilienceTests.assemblies(w).isEmpty, "the published assembly leaves nothing in the cache")
    }
}
