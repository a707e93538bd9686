import Foundation
import Testing
import TestSupport

/// cat-remote (LazyRemoteImage): ranges of a disk in a registry, fetched chunk by chunk and verified.
@Suite("Lazy reads from a registry", .serialized)
struct LazyReadTests {
    @Test func aRangeReadsTheDisksBytesFetchingOnlyItsChunks() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let w = f.w
        let ref = try f.pushDisk(megabytes: 24, seed: 3)
        let disk = w.data("disk.raw")
        for (offset, length) in [(0, 1 << 20), (5_000_000, 777_777), (24 << 20 - 4096, 4096)] {
            let r = try w.execute("/bin/sh", ["-c", "'\(Workspace.imgpack)' cat-remote \(ref) --offset \(offset) --length \(length) --insecure --blob-cache '\(w.path("cache"))' > '\(w.path("range"))'"])
            #expect(r.status == 0, "\(r.stderr)")
            expectSameBytes(w.data("range"), disk.subdata(in: offset..<(offset + length)), "cat-remote --offset \(offset) --length \(length)")
        }
        // Past the end: a usage error.
        let past = try w.execute("/bin/sh", ["-c", "'\(Workspace.imgpack)' cat-remote \(ref) --offset \(24 << 20) --length 1 --insecure --blob-cache '\(w.path("cache"))' > /dev/null"])
        #expect(past.status == 2 && past.stderr.contains("--offset"), "\(past.stderr)")
    }

    @Test func aChunkTheRegistryDamagedIsRefused() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        let ref = try f.pushDisk(megabytes: 8, seed: 4)
        let raw = try w.execute("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(ref)"])
        let manifest = try JSONSerialization.jsonObject(with: Data(raw.stdout.utf8)) as? [String: Any]
        let first = try #require((manifest?["layers"] as? [[String: Any]])?.first?["digest"] as? String)
        let path = registry.blobPath(first)
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count - 1] ^= 0x01  // the last payload byte of the layer's last record
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let r = try w.execute("/bin/sh", ["-c", "'\(Workspace.imgpack)' cat-remote \(ref) --insecure --blob-cache '\(w.path("cache"))' > '\(w.path("range"))'"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("chunkChecksumMismatch"), "\(r.stderr)")
    }
}
