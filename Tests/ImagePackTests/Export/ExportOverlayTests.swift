import Foundation
import Testing
@testable import ImagePack
@testable import ImagePackInterop

/// qcow2 overlays of deltas (issue #11): only the clusters that differ from the parent, read
/// through to a backing file that holds the parent's disk, with qemu-img as the judge.
@Suite("qcow2 overlay export against qemu-img", .enabled(if: ImportFixtures.hasQemuImg, "qemu-img not installed (apt-get install qemu-utils)"))
struct ExportOverlayTests {
    static let chunk = 256 << 10
    static let cluster = 64 << 10

    /// A parent disk (text, random, a fill run, zeros), and the next backup: one 4 KiB block
    /// rewritten inside a chunk, a 320 KiB range of data zeroed (a whole chunk and part of the
    /// next), a zero range of the parent written, and the rest unchanged.
    static func disks() -> (parent: [UInt8], next: [UInt8]) {
        // 2.25 MiB + 5 KiB: the last cluster is partial (qemu wants whole 512-byte sectors).
        let parent = textBytes(chunk * 4, seed: 31) + randomBytes(chunk * 2, seed: 32) + [UInt8](repeating: 0xAB, count: chunk) + [UInt8](repeating: 0, count: chunk * 2) + textBytes(5120, seed: 33)
        var next = parent
        next.replaceSubrange(chunk + 12288..<chunk + 16384, with: randomBytes(4096, seed: 34))
        next.replaceSubrange(chunk * 2..<chunk * 3 + (64 << 10), with: [UInt8](repeating: 0, count: chunk + (64 << 10)))
        next.replaceSubrange(chunk * 7 + 1000..<chunk * 7 + 1000 + 70000, with: textBytes(70000, seed: 35))
        return (parent, next)
    }

    /// Clusters in which `a` and `b` differ, and of those, the ones that are zero in `b`.
    static func changedClusters(_ a: [UInt8], _ b: [UInt8]) -> (changed: Int, zeroed: Int) {
        var changed = 0, zeroed = 0
        for start in stride(from: 0, to: b.count, by: cluster) {
            let end = min(start + cluster, b.count)
            if a[start..<end] != b[start..<end] {
                changed += 1
                if b[start..<end].allSatisfy({ $0 == 0 }) { zeroed += 1 }
            }
        }
        return (changed, zeroed)
    }

    func write(_ disk: [UInt8], to path: String, parent: ImageReader? = nil) throws {
        var options = WriterOptions(chunkSize: Self.chunk, threads: 2)
        options.parent = parent
        _ = try writeImage([("root", disk), ("nvram", textBytes(3000, seed: 9))], to: path, options: options)
    }

    static func qemu(_ arguments: [String]) throws -> String { try ImportFixtures.run(ImportFixtures.qemuImg!, arguments) }

    /// Checks the overlay with qemu-img: no errors or leaks, its chain resolves to `backing`, and
    /// through it the disk is `expected` (a raw file).
    static func judge(_ overlay: String, backing: String, backingFormat: String, expected: String) throws {
        let check = try qemu(["check", "-f", "qcow2", overlay])
        #expect(check.contains("No errors were found on the image."), "\(check)")
        #expect(!check.contains("leaked"), "\(check)")
        let info = try qemu(["info", "--backing-chain", "--output=json", overlay])
        #expect(info.contains("\"backing-filename\": \"\(backing)\""), "\(info)")
        #expect(info.contains("\"backing-filename-format\": \"\(backingFormat)\""), "\(info)")
        let compare = try qemu(["compare", "-f", "qcow2", "-F", "raw", overlay, expected])
        #expect(compare.contains("Images are identical"), "\(compare)")
    }

    @Test("a delta's overlay on its parent's qcow2 holds exactly the changed clusters, zeroed ones as zero clusters, and reads as the delta")
    func deltaOverlay() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (old, new) = Self.disks()
        try write(old, to: dir + "/parent.ipk")
        let parent = try ImageReader(path: dir + "/parent.ipk")
        try write(new, to: dir + "/delta.ipk", parent: parent)
        let delta = try ImageReader(path: dir + "/delta.ipk", parents: [parent])
        #expect(delta.entries.contains { $0.kind == .parent })
        try ImageExporter.export(parent, streamNamed: "root", format: .qcow2, to: dir + "/parent.qcow2", options: .init(threads: 2))
        try Data(new).write(to: URL(fileURLWithPath: dir + "/new.raw"))

        for compression in Qcow2Compression.allCases {
            let overlay = dir + "/overlay-\(compression).qcow2"
            let summary = try ImageExporter.export(
                delta, streamNamed: "root", format: .qcow2, to: overlay,
                options: .init(clusterSize: Self.cluster, compression: compression, threads: 2, backing: Qcow2Backing(name: "parent.qcow2", content: parent)))
            let expected = Self.changedClusters(old, new)
            #expect(summary.storedClusters + summary.compressedClusters == UInt64(expected.changed - expected.zeroed), "\(compression): \(summary)")
            #expect(summary.zeroClusters == UInt64(expected.zeroed))
            #expect(summary.backingClusters == UInt64((new.count + Self.cluster - 1) / Self.cluster - expected.changed))
            #expect(expected.zeroed == 5 && expected.changed == 8)
            try Self.judge(overlay, backing: "parent.qcow2", backingFormat: "qcow2", expected: dir + "/new.raw")
        }
        // The overlay is the size of the change, not of the disk.
        let stored = try FileManager.default.attributesOfItem(atPath: dir + "/overlay-none.qcow2")[.size] as! Int
        #expect(stored < 3 * Self.cluster + 8 * Self.cluster, "overlay of 3 changed data clusters is \(stored) bytes")
    }

    @Test("the delta of a delta: its parent is read through the rest of the chain, whatever parents the parent was opened with")
    func chainOverlay() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (old, new) = Self.disks()
        var newer = new
        newer.replaceSubrange(Self.chunk * 5 + 100..<Self.chunk * 5 + 200, with: textBytes(100, seed: 40))
        try write(old, to: dir + "/g0.ipk")
        try write(new, to: dir + "/g1.ipk", parent: try ImageReader(path: dir + "/g0.ipk"))
        try write(newer, to: dir + "/g2.ipk", parent: try ImageReader(path: dir + "/g1.ipk", parents: [try ImageReader(path: dir + "/g0.ipk")]))
        // As the CLI opens them: a pool of images each opened alone.
        let g2 = try ImageReader(path: dir + "/g2.ipk", parents: try ImageReader.openParents(files: [dir + "/g1.ipk", dir + "/g0.ipk"]))
        let g1 = try #require(g2.parents.readers.first)
        try Data(new).write(to: URL(fileURLWithPath: dir + "/g1.raw"))
        try Data(newer).write(to: URL(fileURLWithPath: dir + "/g2.raw"))
        let summary = try ImageExporter.export(
            g2, streamNamed: "root", format: .qcow2, to: dir + "/g2.qcow2",
            options: .init(threads: 2, backing: Qcow2Backing(name: "g1.raw", content: g1)))
        #expect(summary.storedClusters == 1 && summary.zeroClusters == 0)
        try Self.judge(dir + "/g2.qcow2", backing: "g1.raw", backingFormat: "raw", expected: dir + "/g2.raw")
    }

    @Test("on a raw backing file, and for a full image compared with the parent given, the overlay is the same")
    func rawBackingAndFullImage() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (old, new) = Self.disks()
        try write(old, to: dir + "/parent.ipk")
        let parent = try ImageReader(path: dir + "/parent.ipk")
        try write(new, to: dir + "/full.ipk")
        let full = try ImageReader(path: dir + "/full.ipk")
        try FileManager.default.createDirectory(atPath: dir + "/base", withIntermediateDirectories: true)
        try ImageExporter.export(parent, streamNamed: "root", format: .raw, to: dir + "/base/parent.raw", options: .init(threads: 2))
        try Data(new).write(to: URL(fileURLWithPath: dir + "/new.raw"))
        let summary = try ImageExporter.export(
            full, streamNamed: "root", format: .qcow2, to: dir + "/overlay.qcow2",
            options: .init(threads: 2, backing: Qcow2Backing(name: "base/parent.raw", format: .raw, content: parent)))
        let expected = Self.changedClusters(old, new)
        #expect(summary.storedClusters == UInt64(expected.changed - expected.zeroed))
        #expect(summary.zeroClusters == UInt64(expected.zeroed))
        try Self.judge(dir + "/overlay.qcow2", backing: "base/parent.raw", backingFormat: "raw", expected: dir + "/new.raw")
    }

    @Test("a backing file of another size, a missing one, or a parent without the disk: refused, nothing written")
    func refusals() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (old, new) = Self.disks()
        try write(old, to: dir + "/parent.ipk")
        let parent = try ImageReader(path: dir + "/parent.ipk")
        try write(new, to: dir + "/delta.ipk", parent: parent)
        let delta = try ImageReader(path: dir + "/delta.ipk", parents: [parent])
        try Data(old.dropLast(512)).write(to: URL(fileURLWithPath: dir + "/short.raw"))
        _ = try Self.qemu(["create", "-q", "-f", "qcow2", dir + "/big.qcow2", "\(old.count + 65536)"])
        _ = try writeImage([("data", old)], to: dir + "/other.ipk", options: WriterOptions(chunkSize: Self.chunk, threads: 2))
        let other = try ImageReader(path: dir + "/other.ipk")
        let cases: [(Qcow2Backing, String)] = [
            (Qcow2Backing(name: "short.raw", content: parent), "backingFile"),
            (Qcow2Backing(name: "big.qcow2", content: parent), "backingFile"),
            (Qcow2Backing(name: "missing.qcow2", content: parent), "backingFile"),
            (Qcow2Backing(name: "short.raw", format: .qcow2, content: parent), "backingFormat"),
        ]
        for (backing, field) in cases {
            let error = #expect(throws: ImagePackError.self) {
                try ImageExporter.export(delta, streamNamed: "root", format: .qcow2, to: dir + "/out.qcow2", options: .init(threads: 2, backing: backing))
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.field == field, "\(String(describing: error))")
            #expect(!FileManager.default.fileExists(atPath: dir + "/out.qcow2"))
        }
        try Data(old).write(to: URL(fileURLWithPath: dir + "/old.raw"))
        let noDisk = #expect(throws: ImagePackError.self) {
            try ImageExporter.export(delta, streamNamed: "root", format: .qcow2, to: dir + "/out.qcow2", options: .init(threads: 2, backing: Qcow2Backing(name: "old.raw", content: other)))
        }
        #expect(noDisk?.code == .noSuchStream)
        let raw = #expect(throws: ImagePackError.self) {
            try ImageExporter.export(delta, streamNamed: "root", format: .raw, to: dir + "/out.raw", options: .init(threads: 2, backing: Qcow2Backing(name: "old.raw", content: parent)))
        }
        #expect(raw?.code == .invalidArgument)
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.qcow2") && !FileManager.default.fileExists(atPath: dir + "/out.raw"))
    }
}
