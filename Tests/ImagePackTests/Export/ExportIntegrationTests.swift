import Foundation
import Testing
@testable import ImagePack
@testable import ImagePackInterop

/// The whole path with qemu-img as the reference: foreign image → ImagePack → raw or qcow2.
@Suite("Import, pack and export against qemu-img", .enabled(if: ImportFixtures.hasQemuImg, "qemu-img not installed (apt-get install qemu-utils); skipping qemu-img export tests"))
struct ExportIntegrationTests {
    static let importVariants = ["qcow2", "qcow2-zlib", "qcow2-zstd", "qcow2-64k", "qcow2-2M", "vmdk-monolithicSparse", "vmdk-streamOptimized", "vhd-fixed", "vhd-dynamic"]
    static let importCases: [ImportFixtures.Case] = ["ext4", "random", "islands"].flatMap { disk in
        importVariants.map { name in ImportFixtures.Case(disk: disk, variant: ImportFixtures.variants.first { $0.name == name }!) }
    }

    /// A qcow2 export configuration, and the ImagePack chunk size of the image it reads.
    struct Setup: CustomTestStringConvertible, Sendable {
        let disk: String
        let cluster: Int
        let compression: Qcow2Compression
        var chunkSize = 1 << 20
        var testDescription: String { "\(disk), \(cluster >> 10 == 0 ? "\(cluster) B" : "\(cluster >> 10) KiB") clusters, \(compression), \(chunkSize >> 10) KiB chunks" }
    }

    static let exportSetups: [Setup] = ["ext4", "random", "islands"].flatMap { disk in
        [
            Setup(disk: disk, cluster: 64 << 10, compression: .none),
            Setup(disk: disk, cluster: 64 << 10, compression: .zlib),
            Setup(disk: disk, cluster: 64 << 10, compression: .zstd),
            Setup(disk: disk, cluster: 2 << 20, compression: .none, chunkSize: 64 << 10),
        ]
    } + [
        // Small clusters: many refcount spans, compressed runs crossing clusters and spans.
        Setup(disk: "ext4", cluster: 512, compression: .zlib),
        Setup(disk: "islands", cluster: 512, compression: .none),
        Setup(disk: "ext4", cluster: 4096, compression: .zstd),
        // Chunks that straddle clusters (68 KiB chunks, 64 KiB clusters).
        Setup(disk: "islands", cluster: 64 << 10, compression: .none, chunkSize: 68 << 10),
        Setup(disk: "ext4", cluster: 64 << 10, compression: .zstd, chunkSize: 68 << 10),
    ]

    static func pack(_ foreign: String, to image: String, chunkSize: Int = 1 << 20) throws -> ImageImporter.Plan {
        let plan = try ImageImporter.plan([.init(path: foreign, diskName: "root")], metadata: testMetadata())
        try ImageWriter.write(plan.state, toFile: image, options: WriterOptions(chunkSize: chunkSize, threads: 2))
        return plan
    }

    static func qemu(_ arguments: [String]) throws -> String { try ImportFixtures.run(ImportFixtures.qemuImg!, arguments) }

    static func sameFiles(_ a: String, _ b: String) -> Bool {
        FileManager.default.contentsEqual(atPath: a, andPath: b)
    }

    @Test("foreign image → pack → extract equals qemu-img convert -O raw", arguments: importCases)
    func importPackExtract(_ c: ImportFixtures.Case) throws {
        let (foreign, expected) = try ImportFixtures.make(c)
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let plan = try Self.pack(foreign, to: dir + "/disk.imgpack")
        #expect(plan.state.metadata.tags[ImageImporter.provenanceTag(disk: "root")] != nil)
        let reader = try ImageReader(path: dir + "/disk.imgpack")
        #expect(try reader.verify(ReadOptions(threads: 2)).failures.isEmpty)
        try ImageExporter.export(reader, streamNamed: "root", format: .raw, to: dir + "/out.raw", options: .init(threads: 2))
        #expect(Self.sameFiles(dir + "/out.raw", expected), "extracted disk differs from qemu-img's raw conversion")
    }

    @Test("qcow2 export passes qemu-img check and compares equal to the source", arguments: exportSetups)
    func exportQcow2(_ s: Setup) throws {
        let source = try #require(ImportFixtures.rawDisks[s.disk], "source disk \(s.disk) could not be made")
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        _ = try Self.pack(source, to: dir + "/disk.imgpack", chunkSize: s.chunkSize)
        let reader = try ImageReader(path: dir + "/disk.imgpack")
        let out = dir + "/out.qcow2"
        let summary = try ImageExporter.export(reader, stream: 0, format: .qcow2, to: out, options: .init(clusterSize: s.cluster, compression: s.compression, threads: 2))
        let check = try Self.qemu(["check", "-f", "qcow2", out])
        #expect(check.contains("No errors were found on the image."), "\(check)")
        #expect(!check.contains("leaked"), "\(check)")
        _ = try Self.qemu(["compare", "-f", "raw", "-F", "qcow2", source, out])
        let info = try Self.qemu(["info", "--output=json", out])
        #expect(info.contains("\"virtual-size\": \(reader.streams[0].logicalSize)"))
        #expect(info.contains("\"cluster-size\": \(s.cluster)"))
        let fileSize = try FileManager.default.attributesOfItem(atPath: out)[.size] as! UInt64
        #expect(fileSize == summary.fileLength)
        if s.compression != .none && s.disk == "ext4" { #expect(summary.compressedClusters > 0) }
        if s.compression == .none {
            // Zero clusters stay unallocated: no larger than qemu-img's own conversion (plus a table or two).
            let reference = dir + "/reference.qcow2"
            _ = try Self.qemu(["convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=\(s.cluster)", source, reference])
            let referenceSize = try FileManager.default.attributesOfItem(atPath: reference)[.size] as! UInt64
            #expect(fileSize <= referenceSize + 2 * UInt64(s.cluster), "ours \(fileSize) bytes, qemu-img's \(referenceSize)")
        }
        if s.disk == "islands" { #expect(summary.zeroClusters > 0) }
        if s.compression == .zstd { #expect(info.contains("\"compression-type\": \"zstd\"")) }
    }

    @Test("raw export equals the source and keeps zero chunks as holes")
    func exportRaw() throws {
        let source = try #require(ImportFixtures.rawDisks["islands"])
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        _ = try Self.pack(source, to: dir + "/disk.imgpack")
        let reader = try ImageReader(path: dir + "/disk.imgpack")
        let summary = try ImageExporter.export(reader, stream: 0, format: .raw, to: dir + "/out.raw")
        #expect(Self.sameFiles(dir + "/out.raw", source))
        #expect(summary.virtualSize == reader.streams[0].logicalSize)
        var info = stat()
        #expect(stat(dir + "/out.raw", &info) == 0)
        #expect(UInt64(info.st_blocks) * 512 < summary.virtualSize / 2, "raw export is not sparse")
    }

    @Test("a qcow2 export imports back to the same disk")
    func qcow2RoundTrip() throws {
        let source = try #require(ImportFixtures.rawDisks["ext4"])
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        _ = try Self.pack(source, to: dir + "/a.imgpack")
        let reader = try ImageReader(path: dir + "/a.imgpack")
        try ImageExporter.export(reader, stream: 0, format: .qcow2, to: dir + "/a.qcow2", options: .init(compression: .zstd, threads: 2))
        let disk = try ForeignFormat.open(path: dir + "/a.qcow2")
        #expect(disk.facts.variant == "qcow2 v3")
        let plan = try Self.pack(dir + "/a.qcow2", to: dir + "/b.imgpack")
        #expect(plan.state.metadata.tags["imported-from.root"] == "qcow2 v3")
        let again = try ImageReader(path: dir + "/b.imgpack")
        #expect(again.chunks(ofStream: 0).map(\.contentDigest) == reader.chunks(ofStream: 0).map(\.contentDigest))
    }
}
