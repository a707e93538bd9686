import Foundation
import Testing

/// `imgpack serve REF`: a registry image's disks over NBD, each chunk fetched by a range request
/// when a client first reads it, verified, and kept in the local sparse copy.
@Suite("serve an image from a registry", .serialized)
struct RemoteServeTests {
    /// `imgpack serve REF --socket` in the background, until ``stop()``.
    struct Served {
        let process: Process
        let socket: String
        let log: String
        func uri(_ export: String = "root") -> String { "nbd+unix:///\(export)?socket=\(socket)" }
        var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        init(_ w: Workspace, _ ref: String, _ registry: RegistryServer, extra: [String] = []) throws {
            socket = w.path("nbd-\(UUID().uuidString.prefix(8)).sock")
            log = socket + ".log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process = Process()
            process.executableURL = URL(fileURLWithPath: Workspace.imgpack)
            process.arguments = ["serve", ref, "--socket", socket, "--blob-cache", w.path("cache")] + registry.clientArguments + extra
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            for _ in 0..<600 where process.isRunning && !FileManager.default.fileExists(atPath: socket) { Thread.sleep(forTimeInterval: 0.05) }
            guard FileManager.default.fileExists(atPath: socket) else {
                if process.isRunning { process.terminate() }
                throw RegistryServer.Unavailable(description: "imgpack serve did not start: \(logText)")
            }
        }

        @discardableResult
        func stop() -> Int32 {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// Bytes of layer blobs (not the config) the registry sent since `first` reads.
    static func layerBytes(_ registry: RegistryServer, config: String, after first: Int) -> Int {
        registry.blobReads().dropFirst(first).filter { $0.digest != config }.map(\.bytes).reduce(0, +)
    }

    static func manifest(_ w: Workspace, _ ref: String) throws -> (config: String, layers: [(digest: String, size: Int)]) {
        let raw = try w.execute("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(ref)"])
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw.stdout.utf8)) as? [String: Any])
        let config = try #require((manifest["config"] as? [String: Any])?["digest"] as? String)
        let layers = ((manifest["layers"] as? [[String: Any]]) ?? []).map { ($0["digest"] as? String ?? "", $0["size"] as? Int ?? 0) }
        return (config, layers)
    }

    @Test func aServedReferenceReadsLikeTheDiskAndFetchesOnlyWhatClientsRead() throws {
        let w = try Workspace()
        let registry = try RegistryServer()
        defer { registry.stop(); w.cleanUp() }
        _ = try w.makeDisk("disk.raw", megabytes: 32, seed: 41)
        try w.pack("disk.raw", to: "v1.ipk")
        let ref = "\(registry.address)/vm/web:1"
        #expect(try w.imgpack(["push", w.path("v1.ipk"), ref] + registry.clientArguments).status == 0)
        let (config, layers) = try Self.manifest(w, ref)
        let layerTotal = layers.map(\.size).reduce(0, +)
        let first = registry.blobReads().count

        let served = try Served(w, ref, registry)
        defer { served.stop() }
        // A partial read: 1 MiB of 32 fetches a few chunks, not the image.
        let head = try w.execute("/usr/bin/qemu-io", ["-r", "-f", "raw", "-c", "read -v 0 4k", "-c", "read 1M 1M", served.uri()])
        #expect(head.status == 0, "\(head.stderr)")
        #expect(head.stdout.contains("read 1048576/1048576 bytes"), "\(head.stdout)")
        let partial = Self.layerBytes(registry, config: config, after: first)
        #expect(partial > 0)
        #expect(partial * 8 < layerTotal, "a 1 MiB read fetched \(partial) of \(layerTotal) layer bytes")

        // The whole disk, by two clients: identical to the raw disk.
        let compare = try w.execute("/usr/bin/qemu-img", ["compare", "-f", "raw", "-F", "raw", served.uri(), w.path("disk.raw")])
        #expect(compare.status == 0, "\(compare.stdout) \(compare.stderr)")
        let whole = Self.layerBytes(registry, config: config, after: first)
        #expect(whole <= layerTotal, "each record is fetched once: \(whole) of \(layerTotal)")
        // A sequential reader's records come several to a range request, not one each (this
        // small image's layers hold only about 4 chunks each, and a request stays within a layer).
        let listed = try JSONSerialization.jsonObject(with: Data(try w.imgpack(["ls", w.path("v1.ipk"), "--json"]).stdout.utf8)) as? [String: Any]
        let stored = ((listed?["chunks"] as? [[String: Any]]) ?? []).filter { ($0["storedSize"] as? Int ?? 0) > 0 }.count
        let requests = registry.blobReads().dropFirst(first).filter { $0.digest != config }.count
        #expect(stored > 64 && requests * 2 < stored, "\(requests) range requests for \(stored) stored chunks")
        let copy = try w.execute("/usr/bin/nbdcopy", [served.uri(), w.path("copy.raw")])
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(w.data("copy.raw") == w.data("disk.raw"))
        // The second full read came from the local copy: no byte more from the registry.
        #expect(Self.layerBytes(registry, config: config, after: first) == whole)
        #expect(served.stop() == 0, "\(served.logText)")
    }

    @Test func aBlobDamagedInTheRegistryGivesAnIOErrorForItsChunksAndTheServerGoesOn() throws {
        let w = try Workspace()
        let registry = try RegistryServer()
        defer { registry.stop(); w.cleanUp() }
        _ = try w.makeDisk("disk.raw", megabytes: 16, seed: 42)
        try w.pack("disk.raw", to: "v1.ipk")
        let ref = "\(registry.address)/vm/web:1"
        #expect(try w.imgpack(["push", w.path("v1.ipk"), ref] + registry.clientArguments).status == 0)
        // The chunk whose record ends the first layer: its last payload byte is damaged.
        let remote = try w.imgpack(["ls-remote", ref, "--json"] + registry.clientArguments)
        let layers = try #require(remote.json["layers"] as? [[String: Any]])
        let firstLayer = try #require(layers.first)
        let layerEnd = (firstLayer["fileOffset"] as? Int ?? 0) + (firstLayer["size"] as? Int ?? 0)
        let chunks = (try JSONSerialization.jsonObject(with: Data(try w.imgpack(["ls", w.path("v1.ipk"), "--json"]).stdout.utf8)) as? [String: Any])?["chunks"] as? [[String: Any]] ?? []
        let victim = try #require(chunks.first { ($0["recordOffset"] as? Int ?? 0) + ($0["storedSize"] as? Int ?? 0) == layerEnd && ($0["storedSize"] as? Int ?? 0) > 0 })
        let victimOffset = try #require(victim["logicalOffset"] as? Int)
        let lastLayerStart = try #require(layers.last?["fileOffset"] as? Int)
        let healthy = try #require(chunks.first { ($0["recordOffset"] as? Int ?? 0) >= lastLayerStart && $0["kind"] as? String == "data" })
        let healthyOffset = try #require(healthy["logicalOffset"] as? Int)
        let path = registry.blobPath(try #require(firstLayer["digest"] as? String))
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count - 1] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let served = try Served(w, ref, registry)
        defer { served.stop() }
        for _ in 0..<2 {
            let bad = try w.execute("/usr/bin/qemu-io", ["-r", "-f", "raw", "-c", "read \(victimOffset) 4k", served.uri()])
            #expect((bad.stdout + bad.stderr).contains("Input/output error"), "\(bad.stdout) \(bad.stderr)")
        }
        let disk = w.data("disk.raw")
        let good = try w.execute("/usr/bin/qemu-io", ["-r", "-f", "raw", "-c", "read -v \(healthyOffset) 256", served.uri()])
        #expect(good.status == 0 && !good.stdout.contains("error"), "\(good.stdout) \(good.stderr)")
        var dumped: [UInt8] = []
        for line in good.stdout.split(separator: "\n") where line.count > 10 && line.dropFirst(8).hasPrefix(":") {
            dumped += line.dropFirst(10).prefix(16 * 3).split(separator: " ").compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        }
        #expect(dumped == [UInt8](disk[healthyOffset..<(healthyOffset + 256)]))
        #expect(served.logText.contains("chunkChecksumMismatch"), "\(served.logText)")
        #expect(served.process.isRunning)
    }

    @Test func aServedReferenceWithAnOverlayTakesWritesAndKeepsTheRestAsInTheRegistry() throws {
        let w = try Workspace()
        let registry = try RegistryServer()
        defer { registry.stop(); w.cleanUp() }
        _ = try w.makeDisk("disk.raw", megabytes: 8, seed: 43)
        try w.pack("disk.raw", to: "v1.ipk")
        let ref = "\(registry.address)/vm/web:1"
        #expect(try w.imgpack(["push", w.path("v1.ipk"), ref] + registry.clientArguments).status == 0)
        let served = try Served(w, ref, registry, extra: ["--overlay", w.path("web.overlay")])
        // A write that starts and ends inside blocks: the rest of each block comes from the registry.
        let write = try w.execute("/usr/bin/qemu-io", ["-f", "raw", "-c", "write -P 0xab 1000000 70000", served.uri()])
        #expect(write.status == 0 && !write.stdout.contains("error"), "\(write.stdout) \(write.stderr)")
        #expect(served.stop() == 0, "\(served.logText)")
        // Served again with the same overlay: the write is there, everything else is the disk's.
        let again = try Served(w, ref, registry, extra: ["--overlay", w.path("web.overlay")])
        defer { again.stop() }
        let copy = try w.execute("/usr/bin/nbdcopy", [again.uri(), w.path("copy.raw")])
        #expect(copy.status == 0, "\(copy.stderr)")
        var expected = [UInt8](w.data("disk.raw"))
        for i in 1_000_000..<1_070_000 { expected[i] = 0xab }
        #expect([UInt8](w.data("copy.raw")) == expected)
    }
}
