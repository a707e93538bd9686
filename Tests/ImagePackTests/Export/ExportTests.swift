import Foundation
import Testing
import TestSupport
@testable import ImagePack
@testable import ImagePackInterop

/// Export behaviour that needs no external tool: layout arithmetic, refusals, cleanup.
@Suite("Export")
struct ExportTests {
    static func image(_ disk: [UInt8], in dir: String, chunkSize: Int = 64 << 10) throws -> ImageReader {
        _ = try writeImage([("root", disk)], to: dir + "/disk.imgpack", options: .init(chunkSize: chunkSize, threads: 2))
        return try ImageReader(path: dir + "/disk.imgpack")
    }

    /// Reads a qcow2 file written by the exporter back with the importer.
    static func readBack(_ path: String) throws -> [UInt8] {
        try ImportFixtures.readAll(ForeignFormat.open(path: path).source)
    }

    @Test("geometry: refcount table and front region cover the largest possible file", arguments: [512, 4096, 65536, 2 << 20])
    func geometry(_ cluster: Int) throws {
        for size: UInt64 in [0, 1, 511, 1 << 20, (1 << 30) + 7, 1 << 40] {
            guard let g = try? Qcow2Geometry(virtualSize: size, clusterSize: cluster, compression: .zlib) else {
                #expect(cluster == 512 && size == 1 << 40, "only 512-byte clusters of a 1 TiB disk exceed qemu's L1 limit")
                continue
            }
            let worst = UInt64(g.frontClusters) + 2 * g.guestClusters + 2 * UInt64(g.l1Entries) + 2
            let spans = (worst + UInt64(g.spanClusters) - 1) / UInt64(g.spanClusters)
            #expect(UInt64(g.refTableCapacity) >= spans + spans * 2 / UInt64(g.spanClusters))
            #expect(g.frontRefblocks * g.spanClusters >= g.frontClusters)
            #expect(g.l1Entries * g.l2Entries >= Int(g.guestClusters))
        }
    }

    @Test("the exporter's qcow2 reads back through the importer", arguments: [Qcow2Compression.none, .zlib, .zstd])
    func readBackThroughImporter(_ compression: Qcow2Compression) throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = mixedDisk(chunkSize: 64 << 10, seed: 7) + [UInt8](repeating: 0, count: 300_000) + textBytes(5000, seed: 3)
        let reader = try Self.image(disk, in: dir)
        for cluster in [512, 4096, 65536, 1 << 20] {
            let path = dir + "/out-\(cluster).qcow2"
            let summary = try ImageExporter.export(reader, stream: 0, format: .qcow2, to: path, options: .init(clusterSize: cluster, compression: compression, threads: 2))
            try expectSameBytes(Self.readBack(path), disk, "cluster size \(cluster)")
            #expect(summary.virtualSize == UInt64(disk.count))
            if cluster <= 65536 { #expect(summary.zeroClusters > 0) }
            if compression != .none { #expect(summary.compressedClusters > 0) }
        }
    }

    @Test("an all-zero disk exports as metadata only")
    func zeroDisk() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let reader = try Self.image([UInt8](repeating: 0, count: 10 << 20), in: dir)
        let summary = try ImageExporter.export(reader, stream: 0, format: .qcow2, to: dir + "/z.qcow2")
        #expect(summary.storedClusters == 0 && summary.compressedClusters == 0)
        #expect(summary.fileLength <= 4 * 65536)
        try expectSameBytes(Self.readBack(dir + "/z.qcow2"), [UInt8](repeating: 0, count: 10 << 20))
    }

    @Test("an existing destination is refused unless overwriting, and left untouched")
    func refusesExisting() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let reader = try Self.image(textBytes(100_000, seed: 1), in: dir)
        for format in ExportFormat.allCases {
            let path = dir + "/existing.\(format)"
            _ = FileManager.default.createFile(atPath: path, contents: Data("keep".utf8))
            #expect(throws: ImagePackError(.destinationExists, "")) {
                try ImageExporter.export(reader, stream: 0, format: format, to: path)
            }
            expectSameBytes(FileManager.default.contents(atPath: path) ?? Data(), Data("keep".utf8))
            try ImageExporter.export(reader, stream: 0, format: format, to: path, overwrite: true)
            expectDifferentBytes(FileManager.default.contents(atPath: path) ?? Data(), Data("keep".utf8))
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("imgpack-tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test("bad options and unknown disks are refused with their codes")
    func refusals() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let reader = try Self.image(textBytes(100_000, seed: 1), in: dir)
        for cluster in [256, 3 << 10, 4 << 20] {
            #expect(throws: ImagePackError(.invalidArgument, "")) {
                try ImageExporter.export(reader, stream: 0, format: .qcow2, to: dir + "/x", options: .init(clusterSize: cluster))
            }
        }
        #expect(throws: ImagePackError(.invalidArgument, "")) {
            try ImageExporter.export(reader, stream: 0, format: .qcow2, to: dir + "/x", options: .init(compression: .zlib, level: 12))
        }
        #expect(throws: ImagePackError(.noSuchStream, "")) {
            try ImageExporter.export(reader, streamNamed: "data", format: .qcow2, to: dir + "/x")
        }
        #expect(throws: ImagePackError(.noSuchStream, "")) {
            try ImageExporter.export(reader, stream: 3, format: .raw, to: dir + "/x")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/x"))
    }

    @Test("a corrupt chunk stops the export and leaves nothing behind")
    func corruptChunk() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let reader = try Self.image(randomBytes(512 << 10, seed: 9), in: dir)
        let victim = reader.chunks(ofStream: 0)[reader.chunks(ofStream: 0).startIndex + 3]
        var bytes = Patch.bytes(dir + "/disk.imgpack")
        bytes[Int(victim.recordOffset) + Layout.chunkPrefixSize + 100] ^= 0x40
        Patch.write(dir + "/disk.imgpack", bytes)
        let damaged = try ImageReader(path: dir + "/disk.imgpack")
        for format in ExportFormat.allCases {
            do {
                try ImageExporter.export(damaged, stream: 0, format: format, to: dir + "/out.\(format)", options: .init(threads: 2))
                Issue.record("export of a corrupt image succeeded")
            } catch {
                #expect([ImagePackError.Code.chunkChecksumMismatch, .chunkHashMismatch].contains(error.code), "\(error)")
                #expect(error.chunk == 3)
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/out.\(format)"))
        }
    }

    @Test("cancellation stops the export and leaves nothing behind")
    func cancelled() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let reader = try Self.image(textBytes(2 << 20, seed: 4), in: dir)
        let cancel = Cancellation()
        cancel.cancel()
        #expect(throws: ImagePackError(.cancelled, "")) {
            try ImageExporter.export(reader, stream: 0, format: .qcow2, to: dir + "/c.qcow2", options: .init(threads: 2, cancellation: cancel))
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/c.qcow2"))
    }

    @Test("import plan: provenance tags, duplicate names, format mismatch")
    func importPlan() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let raw = dir + "/a.raw"
        _ = FileManager.default.createFile(atPath: raw, contents: Data(textBytes(70_000, seed: 2)))
        let plan = try ImageImporter.plan([.init(path: raw, diskName: "root"), .init(path: raw, diskName: "data")], metadata: testMetadata())
        #expect(plan.state.streams.map(\.name) == ["root", "data"])
        #expect(plan.state.metadata.tags["imported-from.root"] == "raw")
        #expect(plan.state.metadata.tags["env"] == "test")
        let quiet = try ImageImporter.plan([.init(path: raw, diskName: "root")], metadata: testMetadata(), recordProvenance: false)
        #expect(quiet.state.metadata.tags == testMetadata().tags)
        #expect(throws: ImagePackError(.invalidArgument, "")) {
            try ImageImporter.plan([.init(path: raw, diskName: "root"), .init(path: raw, diskName: "root")], metadata: testMetadata())
        }
        #expect(throws: ImagePackError(.invalidArgument, "")) {
            try ImageImporter.plan([.init(path: raw, format: .qcow2, diskName: "root")], metadata: testMetadata())
        }
        #expect(throws: ImagePackError(.invalidArgument, "")) {
            try ImageImporter.plan([], metadata: testMetadata())
        }
    }
}
