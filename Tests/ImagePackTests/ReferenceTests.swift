import Foundation
import Testing
import TestSupport
@testable import ImagePack

/// In-image deduplication: `reference` chunks (spec §7.2), written by the writer for repeated
/// data chunks and resolved by the random-access reader, the streaming reader (from its window)
/// and the validator.
@Suite("Reference chunks: dedup within an image")
struct ReferenceTests {
    /// Every stream of `path` read through the random-access reader.
    func readAll(_ path: String, limits: ImageLimits = .init()) throws -> [[UInt8]] {
        let reader = try ImageReader(path: path, limits: limits)
        return try reader.streams.indices.map { try reader.read(stream: $0, at: 0, count: Int(reader.streams[$0].logicalSize)) }
    }

    func kinds(_ path: String) throws -> [ChunkKind: Int] {
        var out: [ChunkKind: Int] = [:]
        for e in try ImageReader(path: path).entries { out[e.kind, default: 0] += 1 }
        return out
    }

    /// A disk of 64 KiB chunks holding a "file" at chunk alignment, and the same file again later.
    static func duplicatedFileDisk() -> [UInt8] {
        let file = textBytes(3 * 65536, seed: 11)
        return randomBytes(65536, seed: 1) + file + [UInt8](repeating: 0, count: 65536) + textBytes(65536, seed: 12) + file + randomBytes(1000, seed: 2)
    }

    @Test("repeated data chunks become references, in any stream; zero and fill chunks stay what they are; the root digest is dedup's-off one")
    func roundTrip() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let streams = InvalidSamples.referenceStreams + [("files", Self.duplicatedFileDisk())]
        let path = dir + "/dedup.ipk"
        let summary = try writeImage(streams, to: path)
        var plain = legacyTestOptions
        plain.deduplicate = false
        let plainSummary = try writeImage(streams, to: dir + "/plain.ipk", options: plain)
        #expect(summary.rootDigest == plainSummary.rootDigest)
        // disk: the first chunk again; memory: the first chunk once more; files: 3 chunks of the file.
        #expect(summary.chunksByKind[.reference] == 5)
        #expect(summary.chunksByKind[.fill] == 2, "the second fill chunk stays a fill chunk")
        #expect(summary.fileLength < plainSummary.fileLength)
        try expectSameBytes(readAll(path), streams.map(\.1))
        let (streamed, contents) = try streamAll(path)
        expectSameBytes(contents, streams.map(\.1))
        #expect(streamed.rootDigest == summary.rootDigest)
        #expect(try ImageReader(path: path).verify(ReadOptions(threads: 2)).isValid)
        let report = try ImageValidator.validate(path: path, options: ValidationOptions(read: ReadOptions(threads: 2)))
        #expect(report.isValid, "\(report.problems)")
        // Header: minor version 0 (references are a 1.0 feature), bit 1 set.
        let header = try FileHeader.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(64)))
        #expect(header.critical == .references)
        #expect(try kinds(dir + "/plain.ipk")[.reference] == nil)
    }

    @Test("without repeats the image is byte for byte what a writer without dedup makes (no references bit)")
    func noRepeatsNoBit() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let streams = InvalidSamples.baseStreams
        _ = try writeImage(streams, to: dir + "/a.ipk")
        var plain = legacyTestOptions
        plain.deduplicate = false
        _ = try writeImage(streams, to: dir + "/b.ipk", options: plain)
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: dir + "/a.ipk")), Data(contentsOf: URL(fileURLWithPath: dir + "/b.ipk")))
    }

    @Test("a sink that cannot rewrite the header (a pipe) gets the references bit up front; the content is the same")
    func pipeSetsBitUpFront() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let streams = InvalidSamples.baseStreams
        let file = dir + "/file.ipk"
        let piped = dir + "/piped.ipk"
        _ = try writeImage(streams, to: file)
        let fd = open(piped, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        let state = SystemState(metadata: testMetadata(), streams: streams.map { StreamSpec(name: $0.0, source: BytesSource($0.1)) })
        let summary = try ImageWriter.write(state, to: DescriptorSink(descriptor: fd, name: piped), options: legacyTestOptions)
        close(fd)
        let a = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        let b = Array(try Data(contentsOf: URL(fileURLWithPath: piped)))
        #expect(try FileHeader.decode(Array(b.prefix(64))).critical == .references)
        #expect(try FileHeader.decode(Array(a.prefix(64))).critical == [])
        expectSameBytes(a[64...], b[64...], "only the header differs")
        #expect(try ImageReader(path: piped).rootDigest == summary.rootDigest)
    }

    @Test("the output does not depend on the thread count, though workers put off compressing repeats in any order")
    func threadIndependence() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        // Many repeats of a few chunks, interleaved, so that later repeats are hashed before earlier ones.
        var disk: [UInt8] = []
        for k in 0..<48 { disk += textBytes(65536, seed: UInt64(k % 5)) }
        var bytes: [Data] = []
        for threads in [1, 2, 7] {
            var options = WriterOptions(chunkSize: 64 << 10, threads: threads)
            options.referenceDistance = 16 << 10  // some repeats are stored again, compressed late
            _ = try writeImage([("disk", disk)], to: dir + "/t\(threads).ipk", options: options)
            bytes.append(try Data(contentsOf: URL(fileURLWithPath: dir + "/t\(threads).ipk")))
        }
        expectSameBytes(bytes[1], bytes[0], "2 threads against 1")
        expectSameBytes(bytes[2], bytes[0], "7 threads against 1")
        let stored = try kinds(dir + "/t1.ipk")[.data] ?? 0
        #expect(stored > 5, "the distance made the writer store repeats again (\(stored) data chunks)")
        var limits = ImageLimits()
        limits.maxReferenceDistance = 16 << 10
        try expectSameBytes(readAll(dir + "/t1.ipk", limits: limits), [disk])
        var streamed: [UInt8] = []
        _ = try StreamingReader(path: dir + "/t1.ipk", options: ReadOptions(limits: limits, threads: 2)).read { event in
            if case .data(_, _, let b) = event { streamed += b }
        }
        expectSameBytes(streamed, disk)
    }

    @Test("a target farther back than maxReferenceDistance is V60 for all three readers")
    func distanceLimit() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/refs.ipk"
        _ = try writeImage(InvalidSamples.referenceStreams, to: path)
        var limits = ImageLimits()
        limits.maxReferenceDistance = 1000
        let random = #expect(throws: ImagePackError.self) {
            if let failure = try ImageReader(path: path, limits: limits).verify(ReadOptions(threads: 2)).failures.first { throw failure }
        }
        #expect(random?.rule == .v60 && random?.code == .referenceInvalid)
        let streaming = #expect(throws: ImagePackError.self) {
            _ = try StreamingReader(path: path, options: ReadOptions(limits: limits, threads: 2)).read { _ in }
        }
        #expect(streaming?.rule == .v60)
        #expect(streaming?.chunk == random?.chunk)
        let report = try ImageValidator.validate(path: path, options: ValidationOptions(read: ReadOptions(limits: limits, threads: 2)))
        #expect(report.problems.first?.rule == .v60)
        #expect(report.problems.first?.chunk == random?.chunk)
    }

    @Test("the streaming window keeps at most maxReferenceDistance of records, and forgets older ones")
    func windowBound() {
        var window = ReferenceWindow(distance: 1000)
        let header = ChunkHeader(kind: .data, codec: .stored, stream: 0, logicalOffset: 0, logicalLength: 200, payloadLength: 200, payloadCRC: 0, contentDigest: .zero)
        let payload = [UInt8](repeating: 1, count: 200)
        var offset: UInt64 = 64
        for _ in 0..<100 {
            window.forget(before: offset)
            payload.withUnsafeBytes { window.keep(header, at: offset, payload: $0) }
            #expect(window.bytes <= 1000 + 200)
            offset += 284
        }
        #expect(window.record(at: offset - 284) != nil)
        #expect(window.record(at: offset - 284 * 10) == nil)
        #expect(window.record(at: offset - 284 + 1) == nil)
    }

    @Test("in a delta, unchanged chunks are parent chunks even when they repeat; new repeats are references")
    func deltaWithReferences() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let base = Self.duplicatedFileDisk()
        _ = try writeImage([("disk", base)], to: dir + "/base.ipk")
        var next = base
        let newChunk = textBytes(65536, seed: 99)
        next.replaceSubrange(0..<65536, with: newChunk)
        next.insert(contentsOf: newChunk, at: 9 * 65536)  // before the short last chunk: the new chunk again, aligned
        var options = legacyTestOptions
        let parent = try ImageReader(path: dir + "/base.ipk")
        options.parent = parent
        let summary = try writeImage([("disk", next)], to: dir + "/delta.ipk", options: options)
        #expect(summary.chunksByKind[.reference] == 1, "the new chunk's repeat")
        #expect(summary.chunksByKind[.parent] == 7, "the file's second copy is unchanged: parent chunks (references in the parent), not references")
        let full = try writeImage([("disk", next)], to: dir + "/full.ipk")
        #expect(summary.rootDigest == full.rootDigest)
        let delta = try ImageReader(path: dir + "/delta.ipk", parents: [parent])
        try expectSameBytes(delta.read(stream: 0, at: 0, count: next.count), next)
        let (_, streamed) = try streamAll(dir + "/delta.ipk", parents: [parent])
        expectSameBytes(streamed, [next])
        #expect(try delta.verify(ReadOptions(threads: 2)).isValid)
    }

    @Test("copy, verbatim and re-encoded, keeps references valid: a re-encode computes new targets for its new offsets")
    func copyKeepsReferences() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let streams = InvalidSamples.referenceStreams + [("files", Self.duplicatedFileDisk())]
        let path = dir + "/src.ipk"
        let written = try writeImage(streams, to: path)
        for (name, codec) in [("verbatim", nil), ("zlib", Codec.zlib), ("stored", Codec.stored)] as [(String, Codec?)] {
            let out = dir + "/\(name).ipk"
            let summary = try ImageCopier.copy(imageAt: path, toFile: out, codec: codec, options: ReadOptions(threads: 2))
            #expect(summary.rootDigest == written.rootDigest)
            #expect(try kinds(out)[.reference] == 5, "\(name)")
            try expectSameBytes(readAll(out), streams.map(\.1), "\(name)")
            try expectSameBytes(streamAll(out).1, streams.map(\.1), "\(name)")
            #expect(try ImageValidator.validate(path: out).isValid, "\(name)")
        }
    }
}

extension ReferenceTests {
    @Test("a reference whose target record is damaged: all three readers report the target's chunk, by its index entry")
    func damagedTargetAgreement() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/refs.ipk"
        _ = try writeImage(InvalidSamples.referenceStreams, to: path)
        let reader = try ImageReader(path: path)
        let target = try #require(reader.entries.firstIndex { $0.kind == .data })
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[Int(reader.entries[target].recordOffset) + Layout.chunkPrefixSize + 10] ^= 0x20
        let damaged = dir + "/damaged.ipk"
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let random = randomAccessFailure(path: damaged)
        let streaming = streamingFailure(path: damaged)
        let validated = try ImageValidator.validate(path: damaged, options: ValidationOptions(read: ReadOptions(threads: 2))).problems.first
        #expect(random?.rule == .v26 && streaming?.rule == .v26 && validated?.rule == .v26)
        #expect(random?.chunk == target && streaming?.chunk == target && validated?.chunk == target)
        // A read of the reference alone fails on the target too.
        let reference = try #require(reader.entries.firstIndex { $0.kind == .reference })
        let e = reader.entries[reference]
        let failure = #expect(throws: ImagePackError.self) {
            _ = try ImageReader(path: damaged).read(stream: Int(e.stream), at: e.logicalOffset, count: Int(e.logicalLength))
        }
        #expect(failure?.rule == .v26 && failure?.chunk == target)
    }

    @Test("recovery without an index writes reference ranges from their targets")
    func recovery() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/refs.ipk"
        _ = try writeImage(InvalidSamples.referenceStreams, to: path)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let cut = dir + "/cut.ipk"
        try Data(bytes[0..<InvalidSamples.footerIndexOffset(bytes)]).write(to: URL(fileURLWithPath: cut))
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        let report = try ImageRecovery.recover(path: cut, to: dir + "/out", options: ReadOptions(threads: 2))
        for (name, content) in InvalidSamples.referenceStreams {
            let stream = try #require(report.streams.first { $0.name == name })
            // Without the index, zero chunks are not told from lost ones: compare what was covered.
            let recovered = Array(try Data(contentsOf: URL(fileURLWithPath: stream.path)))
            var expected = content
            for gap in stream.missing {
                #expect(content[Int(gap.offset)..<Int(gap.offset + gap.length)].allSatisfy { $0 == 0 }, "\(name): only zero ranges are missing")
                expected.replaceSubrange(Int(gap.offset)..<Int(gap.offset + gap.length), with: [UInt8](repeating: 0, count: Int(gap.length)))
            }
            expectSameBytes(recovered, expected, "\(name)")
        }
    }
}
