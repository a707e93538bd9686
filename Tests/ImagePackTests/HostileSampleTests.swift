import Foundation
import Testing
import TestSupport
@testable import ImagePack
import ImagePackInterop

@Suite("samples/hostile: images at the limits stay cheap for every reader")
struct HostileSampleTests {
    static func manifest() throws -> [HostileManifestEntry] {
        let data = try Data(contentsOf: URL(fileURLWithPath: HostileSamples.directory + "/MANIFEST.json"))
        return try JSONDecoder().decode([HostileManifestEntry].self, from: data)
    }

    /// The error `body` throws, nil if it returns.
    static func failure(_ body: () throws -> Void) -> ImagePackError? {
        do {
            try body()
            return nil
        } catch {
            return error as? ImagePackError
        }
    }

    @Test("the generator rebuilds the committed samples byte for byte (REGENERATE_SAMPLES=1 rewrites them)")
    func generator() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let samples = try HostileSamples.generate(in: dir)
        if ProcessInfo.processInfo.environment["REGENERATE_SAMPLES"] == "1" {
            let fm = FileManager.default
            try fm.createDirectory(atPath: HostileSamples.directory, withIntermediateDirectories: true)
            for (entry, bytes) in samples { try Data(bytes).write(to: URL(fileURLWithPath: HostileSamples.directory + "/" + entry.file)) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try (encoder.encode(samples.map(\.0)) + Data("\n".utf8)).write(to: URL(fileURLWithPath: HostileSamples.directory + "/MANIFEST.json"))
        }
        #expect(try Self.manifest().map(\.file) == samples.map(\.0.file), "MANIFEST.json lists the generated samples; run with REGENERATE_SAMPLES=1")
        for (entry, bytes) in samples {
            let committed = try? Data(contentsOf: URL(fileURLWithPath: HostileSamples.directory + "/" + entry.file))
            expectSameBytes(committed ?? Data(), bytes, "\(entry.file) differs from what the generator makes; run with REGENERATE_SAMPLES=1")
            #expect(bytes.count < 16 << 10, "\(entry.file) stays small (\(bytes.count) bytes)")
        }
    }

    @Test("every reader agrees on every hostile sample")
    func readersAgree() throws {
        for entry in try Self.manifest() {
            let path = HostileSamples.directory + "/" + entry.file
            let report = try ImageValidator.validate(path: path)
            let random = randomAccessFailure(path: path)
            let streaming = streamingFailure(path: path)
            if entry.expectation == HostileSamples.valid {
                #expect(report.isValid, "validator on \(entry.file): \(report.problems)")
                #expect(random == nil, "random access on \(entry.file): \(String(describing: random))")
                #expect(streaming == nil, "streaming on \(entry.file): \(String(describing: streaming))")
            } else {
                #expect(report.problems.first?.rule?.name == entry.expectation, "validator on \(entry.file): \(report.problems)")
                #expect(random?.rule?.name == entry.expectation, "random access on \(entry.file): \(String(describing: random))")
                #expect(streaming?.rule?.name == entry.expectation, "streaming on \(entry.file): \(String(describing: streaming))")
            }
        }
    }

    @Test("qcow2 export sizes its work from the index, whatever the header's chunkSize says", arguments: ["chunk-size-zero.ipk", "chunk-size-4GiB.ipk", "chunk-size-understated.ipk"])
    func exportIgnoresHeaderChunkSize(file: String) throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let honest = try ImageReader(path: InvalidSamples.validDirectory + "/small.ipk")
        let lying = try ImageReader(path: HostileSamples.directory + "/" + file)
        for cluster in [4096, 65536] {
            let expected = dir + "/honest-\(cluster).qcow2"
            let path = dir + "/\(file)-\(cluster).qcow2"
            try ImageExporter.export(honest, stream: 0, format: .qcow2, to: expected, options: .init(clusterSize: cluster, threads: 2))
            try ImageExporter.export(lying, stream: 0, format: .qcow2, to: path, options: .init(clusterSize: cluster, threads: 2))
            try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: path)), Data(contentsOf: URL(fileURLWithPath: expected)))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.contains("imgpack-tmp") })
    }

    @Test("a fill chunk's cached digest is the SHA-256 of its content")
    func fillDigest() {
        for length: UInt32 in [8, 4096, (1 << 16) + 8, 3 << 20] {
            let value = HostileSamples.pattern.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            let content = (0..<Int(length) / 8).flatMap { _ in HostileSamples.pattern }
            #expect(FillDigests.digest(pattern: value, length: length) == Digest.sha256(content))
        }
    }

    /// The fill sample under a budget of 2^15 logical bytes per stored byte (zstd's own bound),
    /// which its 4 GiB in 10 KB exceed: every reader refuses it with V46 before hashing anything.
    @Test("a tightened work budget is enforced by every reader with V46")
    func budget() throws {
        var limits = ImageLimits()
        limits.maxLogicalBytesPerStoredByte = 1 << 15
        let path = HostileSamples.directory + "/fill-64x64MiB.ipk"
        let read = ReadOptions(limits: limits, threads: 2)
        let report = try ImageValidator.validate(path: path, options: .init(read: read))
        #expect(report.problems.contains { $0.rule == .v46 && $0.code == .limitExceeded }, "\(report.problems)")
        let random = Self.failure { _ = try ImageReader(path: path, limits: limits) }
        #expect(random?.rule == .v46 && random?.code == .limitExceeded, "\(String(describing: random))")
        let streaming = Self.failure { _ = try StreamingReader(path: path, options: read).read { _ in } }
        #expect(streaming?.rule == .v46 && streaming?.code == .limitExceeded, "\(String(describing: streaming))")
    }

    /// A stream of chunk records may not outgrow what an index can list: with maxChunks 3 the
    /// small image's four records are refused at the fourth, even when no index follows (the
    /// reader kept every record it saw, without a cap, until the input ended), and the whole
    /// image is refused by every reader with the same rule.
    @Test("the streaming reader keeps at most maxChunks chunk records")
    func streamingChunkCap() throws {
        var limits = ImageLimits()
        limits.maxChunks = 3
        let path = InvalidSamples.validDirectory + "/small.ipk"
        let read = ReadOptions(limits: limits, threads: 2)
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let noIndex = dir + "/no-index.ipk"
        try Data(bytes[0..<InvalidSamples.footerIndexOffset(bytes)]).write(to: URL(fileURLWithPath: noIndex))
        let capped = Self.failure { _ = try StreamingReader(path: noIndex, options: read).read { _ in } }
        #expect(capped?.rule == .v30 && capped?.code == .limitExceeded, "\(String(describing: capped))")
        let streaming = Self.failure { _ = try StreamingReader(path: path, options: read).read { _ in } }
        #expect(streaming?.rule == .v30 && streaming?.code == .limitExceeded, "\(String(describing: streaming))")
        let random = Self.failure { _ = try ImageReader(path: path, limits: limits) }
        #expect(random?.rule == .v30 && random?.code == .limitExceeded, "\(String(describing: random))")
        let report = try ImageValidator.validate(path: path, options: .init(read: read))
        #expect(report.problems.contains { $0.rule == .v30 && $0.code == .limitExceeded }, "\(report.problems)")
    }
}

@Suite("The index in memory: its size on disk and no more")
struct CompactIndexTests {
    /// Memory to open an image scales with its index: the reader keeps the INDX record as read
    /// (64 bytes an entry) and nothing per entry besides. Before, every entry was also an 80-byte
    /// struct in an array, and the body a copy of the record.
    @Test("an opened reader holds exactly the INDX record for its entries")
    func readerHoldsTheRecord() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/many.ipk"
        _ = try writeImage([("disk", mixedDisk(chunkSize: 64 << 10, seed: 3))], to: path, options: WriterOptions(chunkSize: 64 << 10, threads: 2))
        let reader = try ImageReader(path: path)
        let indexRecord = Layout.envelopeSize + Layout.indexFixedSize + reader.entries.count * Layout.indexEntrySize + 4
        #expect(reader.entries.count > 1)
        #expect(reader.entries.storageByteCount == indexRecord)
        #expect(MemoryLayout<ChunkEntries>.size <= 32)
    }

    @Test("entries read back as written, and an entry set in place changes only itself")
    func roundTrip() {
        var entries: [ChunkEntry] = []
        for k in 0..<5 {
            let kind: ChunkKind = k % 2 == 0 ? .data : .fill
            let codec: Codec = k % 2 == 0 ? .zstd : .stored
            let header = ChunkHeader(
                kind: kind, codec: codec, stream: UInt32(k / 3), logicalOffset: UInt64(k) << 16, logicalLength: 65536,
                payloadLength: UInt32(100 + k), payloadCRC: 0, contentDigest: Digest.sha256([UInt8(k)]))
            entries.append(ChunkEntry(header: header, recordOffset: UInt64(1000 * k)))
        }
        var packed = ChunkEntries(entries)
        #expect(Array(packed) == entries)
        packed[2].recordOffset = 7
        var expected = entries
        expected[2].recordOffset = 7
        #expect(Array(packed) == expected)
        #expect(packed == ChunkEntries(expected))
        #expect(packed != ChunkEntries(entries))
    }
}
