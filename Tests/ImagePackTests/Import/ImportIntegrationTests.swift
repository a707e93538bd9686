import Foundation
import Synchronization
import Testing
@testable import ImagePack
@testable import ImagePackInterop

/// Imports images made by qemu-img and compares every byte with `qemu-img convert -O raw`.
@Suite("Import against qemu-img", .enabled(if: ImportFixtures.hasQemuImg, "qemu-img not installed (apt-get install qemu-utils); skipping qemu-img integration tests"))
struct ImportIntegrationTests {
    @Test("whole disk reads equal qemu-img's raw conversion", arguments: ImportFixtures.cases)
    func wholeDiskMatchesQemu(_ c: ImportFixtures.Case) throws {
        let (image, expectedPath) = try ImportFixtures.make(c)
        let disk = try ForeignFormat.open(path: image)
        #expect(disk.format == c.variant.format)
        let expected = [UInt8](FileManager.default.contents(atPath: expectedPath)!)
        #expect(disk.virtualSize == UInt64(expected.count))
        let actual = try ImportFixtures.readAll(disk.source)
        #expect(actual.count == expected.count)
        let difference = actual.withUnsafeBytes { a in expected.withUnsafeBytes { b in firstDifference(a, b) } }
        #expect(difference == nil, "first difference at byte \(difference ?? -1)")
    }

    @Test("random small reads at odd offsets equal qemu-img's raw conversion", arguments: ImportFixtures.variants)
    func randomReads(_ variant: ImportFixtures.Variant) throws {
        let (image, expectedPath) = try ImportFixtures.make(.init(disk: "islands", variant: variant))
        let disk = try ForeignFormat.open(path: image)
        let expected = [UInt8](FileManager.default.contents(atPath: expectedPath)!)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let offset = Int.random(in: 0..<expected.count, using: &generator)
            let count = Int.random(in: 1...min(300_000, expected.count - offset), using: &generator)
            var buffer = [UInt8](repeating: 0xAA, count: count)
            try buffer.withUnsafeMutableBytes { try disk.source.read(at: UInt64(offset), into: $0) }
            let difference = buffer.withUnsafeBytes { a in
                expected.withUnsafeBytes { b in firstDifference(a, UnsafeRawBufferPointer(rebasing: b[offset..<offset + count])) }
            }
            #expect(difference == nil, "read of \(count) at \(offset) differs at \(difference ?? -1)")
            if disk.source.isKnownZero(offset: UInt64(offset), length: count) {
                let zero = expected.withUnsafeBytes { isAllZero(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + count])) }
                #expect(zero, "isKnownZero lied at \(offset)+\(count)")
            }
        }
    }

    @Test("facts describe the image")
    func facts() throws {
        let zstd = try ForeignFormat.open(path: ImportFixtures.make(.init(disk: "islands", variant: ImportFixtures.variants[2])).image)
        #expect(zstd.facts.variant == "qcow2 v3")
        #expect(zstd.facts.compression == "zstd")
        #expect(zstd.facts.clusterSize == 65536)
        #expect(zstd.facts.backingFile == nil)
        let v2 = try ForeignFormat.open(path: ImportFixtures.make(.init(disk: "islands", variant: ImportFixtures.variants[7])).image)
        #expect(v2.facts.variant == "qcow2 v2")
        let stream = try ForeignFormat.open(path: ImportFixtures.make(.init(disk: "islands", variant: ImportFixtures.variants[11])).image)
        #expect(stream.facts.variant == "streamOptimized")
        #expect(stream.facts.compression == "deflate")
        let dynamic = try ForeignFormat.open(path: ImportFixtures.make(.init(disk: "islands", variant: ImportFixtures.variants[13])).image)
        #expect(dynamic.facts.variant == "dynamic")
        #expect(dynamic.facts.clusterSize == 2 << 20)
    }

    @Test("a zero-heavy qcow2 reports its holes as known zeros")
    func knownZeros() throws {
        let disk = try ForeignFormat.open(path: ImportFixtures.make(.init(disk: "islands", variant: ImportFixtures.variants[0])).image)
        #expect(disk.source.isKnownZero(offset: 24 << 20, length: 4 << 20))
        #expect(!disk.source.isKnownZero(offset: 0, length: 4 << 20))
    }

    @Test("concurrent readers of one source see the same bytes", arguments: ["qcow2-zstd", "qcow2-zlib", "vmdk-streamOptimized", "vhd-dynamic"])
    func concurrentReads(_ name: String) throws {
        let variant = ImportFixtures.variants.first { $0.name == name }!
        let (image, expectedPath) = try ImportFixtures.make(.init(disk: "islands", variant: variant))
        let disk = try ForeignFormat.open(path: image, limits: ImportLimits(maxCacheBytes: 1))  // evict constantly
        let expected = [UInt8](FileManager.default.contents(atPath: expectedPath)!)
        let piece = 1 << 20
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: expected.count / piece) { i in
            var buffer = [UInt8](repeating: 0, count: piece)
            do {
                try buffer.withUnsafeMutableBytes { try disk.source.read(at: UInt64(i * piece), into: $0) }
                let same = buffer.withUnsafeBytes { a in expected.withUnsafeBytes { firstDifference(a, UnsafeRawBufferPointer(rebasing: $0[i * piece..<(i + 1) * piece])) } } == nil
                if !same { failures.withLock { $0 += 1 } }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
    }

    @Test("internal snapshots are counted and the active disk is read")
    func snapshots() throws {
        let path = try ImportFixtures.scratchCopy("qcow2", tag: "snap")
        let expectedPath = try ImportFixtures.make(.init(disk: "islands", variant: ImportFixtures.variants[0])).expected
        try ImportFixtures.run(ImportFixtures.qemuImg!, ["snapshot", "-c", "before", path])
        let qemuIO = (ImportFixtures.qemuImg! as NSString).deletingLastPathComponent + "/qemu-io"
        try #require(FileManager.default.isExecutableFile(atPath: qemuIO), "qemu-io (qemu-utils) not installed")
        try ImportFixtures.run(qemuIO, ["-f", "qcow2", "-c", "write -P 0x11 0 64k", path])
        try ImportFixtures.run(ImportFixtures.qemuImg!, ["snapshot", "-c", "after", path])
        let disk = try ForeignFormat.open(path: path)
        #expect(disk.facts.snapshotCount == 2)
        var expected = Patch.bytes(expectedPath)
        expected.replaceSubrange(0..<65536, with: [UInt8](repeating: 0x11, count: 65536))
        let actual = try ImportFixtures.readAll(disk.source)
        #expect(actual.withUnsafeBytes { a in expected.withUnsafeBytes { firstDifference(a, $0) } } == nil)
    }
}
