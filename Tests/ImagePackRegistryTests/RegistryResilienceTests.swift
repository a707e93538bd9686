import Glibc
import Foundation
import ImagePack
import Testing
import TestSupport

@testable import ImagePackRegistry

/// Damage, interruption, new versions, authentication and TLS, against real registries.
@Suite("Registry: corruption, resume, deltas, auth and TLS", .serialized)
struct RegistryResilienceTests {
    /// The manifest a push stored, from the registry.
    static func manifest(_ w: Workspace, _ registry: RegistryServer, _ ref: String) throws -> [String: Any] {
        let raw = try w.execute("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.address)/\(ref)"])
        return (try? JSONSerialization.jsonObject(with: Data(raw.stdout.utf8)) as? [String: Any]) ?? [:]
    }

    static func layerDigests(_ manifest: [String: Any]) -> [String] {
        ((manifest["layers"] as? [[String: Any]]) ?? []).compactMap { $0["digest"] as? String }
    }

    @Test func aBlobReplacedInTheRegistryIsRefusedAndNothingIsPublished() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        try f.pushDisk(megabytes: 24, seed: 11)
        let layers = Self.layerDigests(try Self.manifest(w, registry, "vm/web:1"))
        let victim = registry.blobPath(layers[layers.count / 2])
        var bytes = [UInt8](FileManager.default.contents(atPath: victim)!)
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: victim))

        let pull = try w.imgpack(["pull", "\(registry.address)/vm/web:1", "-o", w.path("pulled.ipk")] + registry.clientArguments)
        #expect(pull.status == 1, "\(pull.stderr)")
        #expect(pull.stderr.contains("blobDigestMismatch"))
        #expect(pull.stderr.contains(layers[layers.count / 2]))
        #expect(!w.exists("pulled.ipk"))
        // The bad bytes are not kept for a resume.
        let hex = layers[layers.count / 2].replacingOccurrences(of: "sha256:", with: "")
        #expect(!w.exists("cache/blobs/sha256/\(hex).partial"))
        #expect(!w.exists("cache/blobs/sha256/\(hex)"))
    }

    @Test func aPartialDownloadResumesWithARangeAndTheKeptBytesAreCheckedAgain() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        try f.pushDisk(megabytes: 24, seed: 11)
        let layers = Self.layerDigests(try Self.manifest(w, registry, "vm/web:1"))
        try FileManager.default.createDirectory(atPath: w.path("cache/blobs/sha256"), withIntermediateDirectories: true)
        // What an interrupted run leaves: the first part of a layer, under its .partial name.
        let layer = FileManager.default.contents(atPath: registry.blobPath(layers[1]))!
        let hex = layers[1].replacingOccurrences(of: "sha256:", with: "")
        let kept = layer.count / 2
        try layer.prefix(kept).write(to: URL(fileURLWithPath: w.path("cache/blobs/sha256/\(hex).partial")))
        let pull = try w.imgpack(["pull", "\(registry.address)/vm/web:1", "-o", w.path("pulled.ipk"), "--json"] + registry.clientArguments)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(pull.json["bytesResumed"] as? Int == kept)
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))

        // A kept part that is wrong fails the layer's digest, is dropped, and the next run succeeds.
        var wrong = [UInt8](layer.prefix(kept))
        wrong[kept / 2] ^= 1
        try Data(wrong).write(to: URL(fileURLWithPath: w.path("cache/blobs/sha256/\(hex).partial")))
        let bad = try w.imgpack(["pull", "\(registry.address)/vm/web:1", "-o", w.path("again.ipk")] + registry.clientArguments)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("blobDigestMismatch"))
        #expect(!w.exists("again.ipk"))
        let retry = try w.imgpack(["pull", "\(registry.address)/vm/web:1", "-o", w.path("again.ipk")] + registry.clientArguments)
        #expect(retry.status == 0, "\(retry.stderr)")
        expectSameBytes(w.data("again.ipk"), w.data("v1.ipk"))
    }

    @Test func aKilledPullOrPushContinuesWhenRunAgain() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        try f.packDisk(megabytes: 48, seed: 11)
        let ref = "\(registry.address)/vm/big:1"
        // Push killed as soon as it started uploading, then run again.
        let push = try w.start(["push", w.path("v1.ipk"), ref, "--quiet"] + registry.clientArguments)
        while push.isRunning && !FileManager.default.fileExists(atPath: registry.storage + "/docker/registry/v2/repositories/vm/big/_uploads") {
            Thread.sleep(forTimeInterval: 0.005)
        }
        kill(push.processIdentifier, SIGKILL)
        push.waitUntilExit()
        let pushed = try w.imgpack(["push", w.path("v1.ipk"), ref, "--json"] + registry.clientArguments)
        #expect(pushed.status == 0, "\(pushed.stderr)")

        // Pull killed once layers are arriving, then run again: the same file, nothing left behind.
        let pull = try w.start(["pull", ref, "-o", w.path("pulled.ipk"), "--quiet", "--blob-cache", w.path("cache")] + registry.clientArguments)
        func partials() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: w.path("cache/blobs/sha256"))) ?? []).filter { $0.hasSuffix(".partial") }
        }
        while pull.isRunning && Self.keptLayers(w).isEmpty { Thread.sleep(forTimeInterval: 0.002) }
        kill(pull.processIdentifier, SIGKILL)
        pull.waitUntilExit()
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: w.directory)) ?? []).filter { $0.contains("pulled") }
        #expect(leftovers.isEmpty || leftovers == ["pulled.ipk"])
        let killedMidway = !leftovers.contains("pulled.ipk")
        let again = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--force", "--json"] + registry.clientArguments)
        #expect(again.status == 0, "\(again.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))
        #expect(partials().isEmpty)
        // What the killed run had written was kept and used, and the assembly is gone once published.
        if killedMidway { #expect((again.json["bytesResumed"] as? Int ?? 0) > 0, "\(again.stdout)") }
        #expect(Self.assemblies(w).isEmpty)
    }

    /// The files pulls are assembling in the workspace's cache (`cache/pulls`).
    static func assemblies(_ w: Workspace) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: w.path("cache/pulls"))) ?? []).sorted()
    }

    /// The layers (index, bytes) the journal of the one assembly in the cache says it holds.
    static func keptLayers(_ w: Workspace) -> [(layer: Int, bytes: UInt64)] {
        guard let journal = assemblies(w).first(where: { $0.hasSuffix(".journal") }),
            let text = FileManager.default.contents(atPath: w.path("cache/pulls/" + journal))
        else { return [] }
        return PullAssembly.parse([UInt8](text)).map { ($0.key, $0.value) }.sorted { $0.layer < $1.layer }
    }

    @Test func aPullKilledMidwayResumesAndRefusesAKeptByteDamagedMeanwhile() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        try f.packDisk(megabytes: 48, seed: 11)
        let ref = "\(registry.address)/vm/big:1"
        #expect(try w.imgpack(["push", w.path("v1.ipk"), ref, "--quiet"] + registry.clientArguments).status == 0)
        let pull = try w.start(["pull", ref, "-o", w.path("pulled.ipk"), "--quiet", "--blob-cache", w.path("cache")] + registry.clientArguments)
        while pull.isRunning && Self.keptLayers(w).isEmpty { Thread.sleep(forTimeInterval: 0.001) }
        kill(pull.processIdentifier, SIGKILL)
        pull.waitUntilExit()
        #expect(!w.exists("pulled.ipk"), "the pull finished before it could be killed")
        let kept = try #require(Self.keptLayers(w).first)
        let assembly = try #require(Self.assemblies(w).first { $0.hasSuffix(".ipk") })

        // One kept byte changes in the cache (a disk error, another program): the layer's digest
        // covers it, so the next run refuses the layer, publishes nothing, and forgets the layer.
        let layout = RegistryLayout(try ImageReader(path: w.path("v1.ipk")))
        let offset = layout.layers[kept.layer].offset + kept.bytes / 2
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: w.path("cache/pulls/" + assembly)))
        try handle.seek(toOffset: offset)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([byte ^ 0x20]))
        try handle.close()
        let damaged = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk")] + registry.clientArguments)
        #expect(damaged.status == 1, "\(damaged.stderr)")
        #expect(damaged.stderr.contains("blobDigestMismatch"))
        #expect(!w.exists("pulled.ipk"))
        #expect(!Self.keptLayers(w).contains { $0.layer == kept.layer })

        let again = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--json"] + registry.clientArguments)
        #expect(again.status == 0, "\(again.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))
        #expect(Self.assemblies(w).isEmpty)
    }

    /// A directory on another file system than the workspace (tmpfs /dev/shm), if there is one.
    static let otherFileSystem: String? = {
        var shm = stat(), tmp = stat()
        guard stat("/dev/shm", &shm) == 0, stat(NSTemporaryDirectory(), &tmp) == 0, shm.st_dev != tmp.st_dev else { return nil }
        return "/dev/shm"
    }()

    @Test(.enabled(if: otherFileSystem != nil, "needs /dev/shm on another file system than the temporary directory"))
    func aCacheOnAnotherFileSystemPublishesByCopyAndLeavesNothingThere() throws {
        let f = try RegistryFixture()
        let cache = Self.otherFileSystem! + "/imgpack-registry-tests-cache-" + UUID().uuidString
        defer { f.stop(); try? FileManager.default.removeItem(atPath: cache) }
        let (w, registry) = (f.w, f.registry)
        let ref = try f.pushDisk(megabytes: 8, seed: 11)
        // link(2) fails across file systems (EXDEV): the verified file is copied to the destination.
        let pull = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--blob-cache", cache] + registry.clientArguments)
        #expect(pull.status == 0, "\(pull.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: cache + "/pulls")) ?? ["?"]).isEmpty)
        // The same with --force over the file it published: replaced, not refused.
        let again = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--blob-cache", cache, "--force"] + registry.clientArguments)
        #expect(again.status == 0, "\(again.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))
        let refused = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--blob-cache", cache] + registry.clientArguments)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("destinationExists"))
    }

    @Test func versionTwoUploadsOnlyTheChangedLayersAndPullRebuildsTheRestFromTheParent() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        try f.packDisk(megabytes: 32, seed: 11)
        let v1 = try w.imgpack(["push", w.path("v1.ipk"), "\(registry.address)/vm/web:1", "--json"] + registry.clientArguments)
        #expect(v1.status == 0, "\(v1.stderr)")
        let storedAfterV1 = registry.storedBytes()
        // Version 2: one 300 KiB file written into the disk.
        try w.change("disk.raw", at: 9 << 20, count: 300 << 10, seed: 5)
        try w.pack("disk.raw", to: "v2.ipk")
        let v2 = try w.imgpack(["push", w.path("v2.ipk"), "\(registry.address)/vm/web:2", "--json"] + registry.clientArguments)
        #expect(v2.status == 0, "\(v2.stderr)")
        let full = try #require(v1.json["bytesUploaded"] as? Int)
        let uploaded = try #require(v2.json["bytesUploaded"] as? Int)
        #expect(uploaded * 4 <= full, "version 2 uploaded \(uploaded) of \(full) bytes")
        #expect((v2.json["blobsPresent"] as? Int ?? 0) > (v2.json["blobsUploaded"] as? Int ?? 0))
        // The registry stored about what travelled (plus a manifest and links).
        #expect(registry.storedBytes() - storedAfterV1 < UInt64(uploaded) + 64 << 10)

        let pull = try w.imgpack(["pull", "\(registry.address)/vm/web:2", "-o", w.path("pulled.ipk"), "--parent", w.path("v1.ipk"), "--json"] + registry.clientArguments)
        #expect(pull.status == 0, "\(pull.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v2.ipk"))
        #expect((pull.json["layersRebuilt"] as? Int ?? 0) > 0)
        #expect((pull.json["bytesDownloaded"] as? Int ?? .max) <= uploaded)
    }

    @Test func aRegistryWithHtpasswdAuthNeedsTheCredentialsAndNeverShowsThem() throws {
        let f = try RegistryFixture(user: "alice", password: "correct-horse-battery")
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        try f.packDisk(megabytes: 8, seed: 11)
        let ref = "\(registry.address)/vm/web:1"
        let anonymous = try w.imgpack(["push", w.path("v1.ipk"), ref] + registry.clientArguments)
        #expect(anonymous.status == 2)
        #expect(anonymous.stderr.contains("registryAuthenticationFailed"))
        let wrong = try w.imgpack(["push", w.path("v1.ipk"), ref, "--username", "alice", "--password-stdin"] + registry.clientArguments, stdin: "wrong-password\n")
        #expect(wrong.status == 2)
        #expect(!wrong.stderr.contains("wrong-password"))
        let push = try w.imgpack(["push", w.path("v1.ipk"), ref, "--username", "alice", "--password-stdin"] + registry.clientArguments, stdin: "correct-horse-battery\n")
        #expect(push.status == 0, "\(push.stderr)")
        #expect(!(push.stdout + push.stderr).contains("correct-horse"))
        // Credentials from an auth.json, as podman login writes it.
        let auth = Data("alice:correct-horse-battery".utf8).base64EncodedString()
        try #"{"auths":{"\#(registry.address)":{"auth":"\#(auth)"}}}"#.write(toFile: w.path("auth.json"), atomically: true, encoding: .utf8)
        let pull = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--auth-file", w.path("auth.json")] + registry.clientArguments)
        #expect(pull.status == 0, "\(pull.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))
    }

    @Test func tlsWorksWithTheRegistrysCAAndFailsWithoutIt() throws {
        let f = try RegistryFixture(tls: true)
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        try f.packDisk(megabytes: 8, seed: 11)
        let ref = "\(registry.address)/vm/web:1"
        let untrusted = try w.imgpack(["push", w.path("v1.ipk"), ref])
        #expect(untrusted.status == 3, "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("registryUnreachable"))
        let push = try w.imgpack(["push", w.path("v1.ipk"), ref, "--ca-file", registry.caFile])
        #expect(push.status == 0, "\(push.stderr)")
        let pull = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--ca-file", registry.caFile])
        #expect(pull.status == 0, "\(pull.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))
        // --insecure is plain HTTP, which a TLS registry does not speak.
        #expect(try w.imgpack(["push", w.path("v1.ipk"), ref, "--insecure"]).status == 3)
    }
}
