import Foundation
@testable import ImagePack

/// What one reader must report for a sample: the rule and the error code.
struct Expectation: Codable, Equatable, CustomStringConvertible {
    var rule: String
    var code: String
    var description: String { "\(rule)/\(code)" }
}

/// One row of samples/invalid/MANIFEST.json.
struct ManifestEntry: Codable {
    var file: String
    var rule: String
    var code: String
    var description: String
    /// What the random-access reader (open, then verify) reports; nil when it cannot see the
    /// problem by design (it reads only what the index lists).
    var randomAccess: Expectation?
    var streaming: Expectation
    var hostile: Bool
    /// For a delta: the images every reader is given as its parents, relative to samples/invalid
    /// (the broken part is then how the delta and these images fit together).
    var parents: [String]?
}

/// The deliberately broken images of samples/invalid/, one per rule, and the small valid images
/// they are made from. Everything here is deterministic: regenerating gives the same bytes.
enum InvalidSamples {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let invalidDirectory = repository + "/samples/invalid"
    static let validDirectory = repository + "/samples/valid"

    /// Log-like text: compresses well, so chunks stay small.
    static func logText(_ count: Int, seed: Int) -> [UInt8] {
        var out: [UInt8] = []
        var line = seed
        while out.count < count {
            out += Array("\(line): kernel: eth0 link up, 1000 Mbps full duplex\n".utf8)
            line += 1
        }
        return Array(out[0..<count])
    }

    /// The streams of the small valid image: a disk with a zstd chunk, a zero chunk, a fill chunk
    /// and a short stored chunk, and a small NVRAM stream.
    static var baseStreams: [(String, [UInt8])] {
        let disk = logText(65536, seed: 1) + [UInt8](repeating: 0, count: 65536) + [UInt8](repeating: 0xFF, count: 65536) + randomBytes(3000, seed: 7)
        return [("disk", disk), ("nvram", logText(2000, seed: 500))]
    }

    /// The key of samples/keys/test-publisher: TEST ONLY. Its private key is committed, so a
    /// signature by it proves nothing; it exists so that signed samples are reproducible.
    static let testKey = try! SigningKey(seed: Array("imgpack-samples-test-only-key-01".utf8))
    static let keysDirectory = repository + "/samples/keys"

    /// The valid zstd image signed by ``testKey`` (samples/valid/small-signed.ipk).
    static func signedImage(in dir: String) throws -> [UInt8] {
        let path = dir + "/signed.ipk"
        removeItem(path)
        try Data(try baseImage(in: dir)).write(to: URL(fileURLWithPath: path))
        try ImageSigner.sign(imageAt: path, with: testKey, sync: false)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Writes the valid image (zstd, or zlib) and returns its bytes.
    static func baseImage(codec: Codec = .zstd, in dir: String) throws -> [UInt8] {
        let path = dir + "/base-\(codec).ipk"
        removeItem(path)
        _ = try writeImage(baseStreams, to: path, options: WriterOptions(codec: codec, chunkSize: 64 << 10, threads: 2))
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The base image's streams one backup later: a few bytes of the first chunk rewritten (a
    /// zstd-patch chunk), a short tail appended to the disk, everything else unchanged (parent chunks).
    static var deltaStreams: [(String, [UInt8])] {
        var streams = baseStreams
        streams[0].1.replaceSubrange(100..<140, with: Array("a log line written after the first backup".utf8.prefix(40)))
        streams[0].1 += logText(1000, seed: 2)
        return streams
    }

    /// Writes the valid delta on ``baseImage(codec:in:)`` (zstd) and returns its bytes.
    static func deltaImage(in dir: String) throws -> [UInt8] {
        let parentPath = dir + "/delta-parent.ipk"
        let path = dir + "/delta.ipk"
        removeItem(parentPath)
        removeItem(path)
        _ = try writeImage(baseStreams, to: parentPath, options: WriterOptions(chunkSize: 64 << 10, threads: 2))
        var options = WriterOptions(chunkSize: 64 << 10, threads: 2)
        options.parent = try ImageReader(path: parentPath)
        _ = try writeImage(deltaStreams, to: path, options: options)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Streams with repeated content: the disk's first chunk again, after a zero chunk, and once
    /// more in a memory stream; the fill and zero chunks repeat too, and stay fill and zero.
    static var referenceStreams: [(String, [UInt8])] {
        let first = logText(65536, seed: 1)
        let disk = first + [UInt8](repeating: 0, count: 65536) + first + [UInt8](repeating: 0xFF, count: 65536) + [UInt8](repeating: 0xFF, count: 65536) + randomBytes(3000, seed: 7)
        return [("disk", disk), ("memory", logText(65536, seed: 9) + first), ("nvram", logText(2000, seed: 500))]
    }

    /// Writes the valid image with reference chunks (samples/valid/small-references.ipk) and returns its bytes.
    static func referencesImage(in dir: String) throws -> [UInt8] {
        let path = dir + "/references.ipk"
        removeItem(path)
        _ = try writeImage(referenceStreams, to: path, options: WriterOptions(chunkSize: 64 << 10, threads: 2))
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Turns the base image's zero chunk at disk offset 65536 into a reference chunk whose target
    /// is `target(offsets)` (every record's offset), with the first chunk's length and digest,
    /// and sets the `references` feature; the reference is record 1.
    static func addReference(_ m: inout ImageModel, target: @escaping ([Int]) -> UInt64) {
        m.header.critical.insert(.references)
        m.zeroEntries.removeAll { $0.stream == 0 && $0.logicalOffset == 65536 }
        let first = m.records[0].header
        let h = ChunkHeader(
            kind: .reference, codec: .stored, stream: 0, logicalOffset: 65536, logicalLength: first.logicalLength, payloadLength: 8,
            payloadCRC: 0, contentDigest: first.contentDigest)
        var r = ImageModel.Record(header: h, payload: [UInt8](repeating: 0, count: 8))
        r.target = target
        m.records.insert(r, at: 1)
    }

    struct Sample {
        var entry: ManifestEntry
        var make: (inout ImageModel) throws -> Void
    }

    static func sample(
        _ file: String, _ rule: String, _ code: ImagePackError.Code, _ description: String, hostile: Bool = false,
        random: Expectation?? = .none, streaming: Expectation? = nil, make: @escaping (inout ImageModel) throws -> Void
    ) -> Sample {
        let same = Expectation(rule: rule, code: code.name)
        let randomExpectation: Expectation? = random ?? same
        return Sample(
            entry: ManifestEntry(file: file, rule: rule, code: code.name, description: description, randomAccess: randomExpectation, streaming: streaming ?? same, hostile: hostile),
            make: make)
    }

    static func footerIndexOffset(_ bytes: [UInt8]) -> Int {
        let at = bytes.count - Layout.footerSize
        return Int(bytes[at..<at + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    static func compress(_ codec: Codec, _ input: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: input.count + 1024)
        let n: Int? = try input.withUnsafeBytes { src in
            try out.withUnsafeMutableBytes { dst in
                switch codec {
                case .zstd: try Zstd.Compressor(level: 3).compress(src, into: dst)
                case .zlib: try Zlib.Compressor(level: 6).compress(src, into: dst)
                case .stored, .zstdPatch: nil
                }
            }
        }
        return Array(out[0..<n!])
    }

    /// The canonical JSON text of `metadata` (by default that of the valid samples).
    static func jsonText(_ metadata: ImageMetadata = testMetadata()) throws -> String {
        String(decoding: try MetadataRecord.canonicalJSON(metadata), as: UTF8.self)
    }

    /// A META body (schema 1, JSON) holding `json` as it is.
    static func metadataBody(_ json: some StringProtocol) -> [UInt8] { MetadataRecord.encodeBody(json: Array(json.utf8), schemaVersion: 1) }

    /// The content of the disk's first chunk, the one record 0 holds.
    static var firstChunk: [UInt8] { Array(baseStreams[0].1[0..<65536]) }

    /// A zstd block header (RFC 8878 §3.1.1.2.1): Last_Block, Block_Type, Block_Size, 3 bytes little-endian.
    static func zstdBlockHeader(last: Bool, type: Int, size: Int) -> [UInt8] {
        let v = (size << 3) | (type << 1) | (last ? 1 : 0)
        return [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF)]
    }

    /// Index of the record of `stream` at `offset` in `model.records`.
    static func record(_ model: ImageModel, stream: UInt32, offset: UInt64) -> Int {
        model.records.firstIndex { $0.header.stream == stream && $0.header.logicalOffset == offset }!
    }

    static let other = Digest.sha256(Array("not this".utf8))

    /// Every sample: file name, the rule it breaks, the code each reader must report, and how it is made.
    static var all: [Sample] { [
        // Header (V1-V6).
        sample("V1-bad-magic.ipk", "V1", .badMagic, "first magic byte changed") { m in m.patchHeader = { $0[0] = 0x88 } },
        sample("V2-major-version.ipk", "V2", .unsupportedVersion, "majorVersion 2 (header CRC recomputed)") { m in m.patchHeader = { $0.setLE(UInt16(2), at: 8) } },
        sample("V3-header-size.ipk", "V3", .malformedField, "headerSize 128") { m in m.patchHeader = { $0.setLE(UInt32(128), at: 12) } },
        sample("V4-header-crc.ipk", "V4", .headerChecksumMismatch, "a chunkSize bit flipped, header CRC left as it was") { m in
            m.patchHeader = { $0[33] ^= 1 }
            m.fixHeaderCRC = false
        },
        sample("V5-unknown-critical-feature.ipk", "V5", .unknownCriticalFeature, "critical feature bit 5, unknown to version 1.0", hostile: true) { m in
            m.patchHeader = { $0.setLE(UInt64(1 << 5), at: 16) }
        },
        sample("V6-reserved-header.ipk", "V6", .reservedFieldNotZero, "a reserved header byte set") { m in m.patchHeader = { $0[40] = 1 } },
        // Records (V7-V10).
        sample(
            "V7-unknown-critical-record.ipk", "V7", .unknownRecordType, "a critical record of unknown type XTRA between chunk records"
        ) { m in
            var raw = [UInt8](repeating: 0, count: 24)
            raw.setLE(RecordType("XTRA").rawValue, at: 0)
            raw.setLE(UInt32(1), at: 4)
            raw.setLE(UInt64(8), at: 8)
            m.records.insert(ImageModel.Record(header: m.records[0].header, payload: [], raw: raw), at: 1)
        },
        sample("V8-record-order.ipk", "V8", .unexpectedRecord, "STRM written before META") { m in m.swapMetaAndStreams = true },
        sample("V10-metadata-length.ipk", "V10", .limitExceeded, "META bodyLength claims 2 MiB, over maxMetadataSize", hostile: true) { m in
            m.patchMetaRecord = { $0.setLE(UInt64(2 << 20), at: 8) }
        },
        // Metadata and streams (V11-V15).
        sample("V11-metadata-crc.ipk", "V11", .metadataChecksumMismatch, "a JSON byte flipped, META CRC left as it was") { m in
            m.patchMetaRecord = { $0[40] ^= 0x01 }
        },
        sample("V11-metadata-not-json.ipk", "V11", .invalidMetadata, "the metadata document is not JSON") { m in
            m.metadataBody = MetadataRecord.encodeBody(json: Array("not json at all".utf8), schemaVersion: 1)
        },
        sample("V11-metadata-deep-nesting.ipk", "V11", .invalidMetadata, "an unknown key holding arrays nested 5,000 deep", hostile: true) { m in
            let json = "{\"x\":" + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000) + "}"
            m.metadataBody = MetadataRecord.encodeBody(json: Array(json.utf8), schemaVersion: 1)
        },
        sample("V12-metadata-bounds.ipk", "V12", .invalidMetadata, "vcpuCount 0") { m in
            var metadata = testMetadata()
            metadata.vcpuCount = 0
            m.metadataBody = MetadataRecord.encodeBody(json: try MetadataRecord.canonicalJSON(metadata), schemaVersion: 1)
        },
        sample("V11-metadata-duplicate-key.ipk", "V11", .invalidMetadata, "visibility given twice, \"custom\" then \"public\" (JSON parsers disagree on which counts)", hostile: true) { m in
            var metadata = testMetadata()
            metadata.visibility = .custom
            metadata.sharedWith = []
            m.metadataBody = metadataBody(try jsonText(metadata).replacingOccurrences(of: "\"visibility\":\"custom\"", with: "\"visibility\":\"custom\",\"visibility\":\"public\""))
        },
        sample("V11-metadata-duplicate-nested-key.ipk", "V11", .invalidMetadata, "the tag env given twice inside tags", hostile: true) { m in
            m.metadataBody = metadataBody(try jsonText().replacingOccurrences(of: "\"env\":\"test\"", with: "\"env\":\"test\",\"env\":\"prod\""))
        },
        sample("V11-metadata-integer-not-canonical.ipk", "V11", .invalidMetadata, "vcpuCount written 2.0") { m in
            m.metadataBody = metadataBody(try jsonText().replacingOccurrences(of: "\"vcpuCount\":2", with: "\"vcpuCount\":2.0"))
        },
        sample("V11-metadata-byte-order-mark.ipk", "V11", .invalidMetadata, "the document starts with a UTF-8 byte order mark") { m in
            m.metadataBody = MetadataRecord.encodeBody(json: [0xEF, 0xBB, 0xBF] + Array(try jsonText().utf8), schemaVersion: 1)
        },
        sample("V11-metadata-lone-surrogate.ipk", "V11", .invalidMetadata, "the name ends in the escape \\ud800, a lone surrogate", hostile: true) { m in
            m.metadataBody = metadataBody(try jsonText().replacingOccurrences(of: "\"name\":\"test-image\"", with: "\"name\":\"test-image\\ud800\""))
        },
        sample("V11-metadata-nesting-over-limit.ipk", "V11", .invalidMetadata, "an unknown key holding arrays nested one level deeper than the limit of 64", hostile: true) { m in
            let nested = String(repeating: "[", count: CanonicalJSON.maxDepth) + String(repeating: "]", count: CanonicalJSON.maxDepth)
            m.metadataBody = metadataBody("{\"x\":" + nested + "," + (try jsonText()).dropFirst())
        },
        sample("V12-metadata-bidi-override-in-name.ipk", "V12", .invalidMetadata, "a name holding U+202E RIGHT-TO-LEFT OVERRIDE, displayed as prod-test-db", hostile: true) { m in
            m.metadataBody = metadataBody(try jsonText(testMetadata("prod-\u{202E}bd-tset")))
        },
        sample("V12-metadata-integer-out-of-range.ipk", "V12", .invalidMetadata, "memoryMiB 99999999999999999999, beyond 64 bits") { m in
            m.metadataBody = metadataBody(try jsonText().replacingOccurrences(of: "\"memoryMiB\":2048", with: "\"memoryMiB\":99999999999999999999"))
        },
        sample("V13-stream-kind.ipk", "V13", .malformedField, "stream kind 9") { m in m.streamBody[8] = 9 },
        sample("V14-stream-100TB.ipk", "V14", .limitExceeded, "a disk declaring 100 TB, over maxStreamSize", hostile: true) { m in
            m.streamBody.setLE(UInt64(100_000_000_000_000), at: 16)
        },
        sample("V15-stream-name-path-traversal.ipk", "V15", .invalidStreamName, "a disk named ../../etc/passwd", hostile: true) { m in
            var streams = try StreamTable.decodeBody(m.streamBody, at: 0, limits: .init())
            streams[0].name = "../../etc/passwd"
            m.streamBody = StreamTable.encodeBody(streams)
        },
        // Chunk records (V20-V28).
        sample("V20-chunk-header-crc.ipk", "V20", .chunkHeaderChecksumMismatch, "a logicalOffset bit flipped, chunk header CRC left as it was") { m in
            m.records[0].patch = { $0[24] ^= 1 }
            m.records[0].fixHeaderCRC = false
        },
        sample("V21-chunk-codec.ipk", "V21", .unknownCodec, "codec 7 in a chunk record (the index says zstd)") { m in
            m.records[0].patch = { $0[17] = 7 }
        },
        sample("V22-chunk-huge-logical-length.ipk", "V22", .limitExceeded, "a chunk record claiming 128 MiB of content, over maxChunkSize", hostile: true) { m in
            m.records[0].patch = { $0.setLE(UInt32(128 << 20), at: 32) }
        },
        sample("V23-chunk-stream.ipk", "V23", .chunkLayoutInvalid, "a chunk record naming stream 5 of 2", random: Expectation(rule: "V34", code: "indexMismatch")) { m in
            m.records[0].patch = { $0.setLE(UInt32(5), at: 20) }
        },
        sample("V24-chunk-body-length.ipk", "V24", .malformedField, "a chunk record 8 bytes longer than 68 + payloadLength") { m in
            let i = record(m, stream: 0, offset: 196608)
            m.records[i].patch = {
                $0.setLE(UInt64(Layout.chunkHeaderSize + 3000 + 8), at: 8)
                $0 += [UInt8](repeating: 0, count: 8)
            }
        },
        sample("V26-payload-crc.ipk", "V26", .chunkChecksumMismatch, "a payload byte flipped, payload CRC left as it was") { m in
            m.records[0].patch = { $0[Layout.chunkPrefixSize + 5] ^= 1 }
        },
        sample("V27-zstd-bomb.ipk", "V27", .chunkSizeMismatch, "a 64 KiB chunk whose valid zstd payload decodes to 64 MiB; CRCs valid", hostile: true) { m in
            let bomb = try compress(.zstd, [UInt8](repeating: 0, count: 64 << 20))
            m.records[0] = ImageModel.chunk(m.records[0].header, payload: bomb)
        },
        sample("V27-zstd-not-a-frame.ipk", "V27", .decompressionFailed, "a zstd chunk whose payload is random bytes; CRCs valid") { m in
            m.records[0] = ImageModel.chunk(m.records[0].header, payload: randomBytes(100, seed: 3))
        },
        sample("V27-zstd-two-frames.ipk", "V27", .decompressionFailed, "a whole zstd frame followed by a second, empty one (libzstd decodes both)", hostile: true) { m in
            m.records[0] = ImageModel.chunk(m.records[0].header, payload: try compress(.zstd, firstChunk) + (try compress(.zstd, [])))
        },
        sample("V27-zstd-skippable-frame.ipk", "V27", .decompressionFailed, "a skippable frame hiding 6 bytes before the zstd frame (libzstd skips it)", hostile: true) { m in
            var skippable: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 6, 0, 0, 0]
            skippable += Array("hidden".utf8)
            m.records[0] = ImageModel.chunk(m.records[0].header, payload: skippable + (try compress(.zstd, firstChunk)))
        },
        sample("V27-zstd-window-2GiB.ipk", "V27", .decompressionFailed, "a zstd frame whose header asks for a 2 GiB window, over the 2^27 allowed", hostile: true) { m in
            let frame = try compress(.zstd, firstChunk)
            let header = try frame.withUnsafeBytes { p throws(ImagePackError) in try Zstd.checkFrame(p, logicalLength: firstChunk.count) }.headerSize
            // Not single-segment, window descriptor exponent 21 (2^31), 4-byte content size.
            var payload: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x80, 21 << 3]
            payload += withUnsafeBytes(of: UInt32(firstChunk.count).littleEndian, Array.init)
            m.records[0] = ImageModel.chunk(m.records[0].header, payload: payload + frame[header...])
        },
        sample("V27-zstd-legacy-frame.ipk", "V27", .decompressionFailed, "a legacy zstd v0.7 frame (magic 0xFD2FB527), which the system libzstd still decodes", hostile: true) { m in
            let content = [UInt8](repeating: UInt8(ascii: "A"), count: 65536)
            // Single segment, 4-byte content size 65536; one RLE block of 65536 bytes (v0.7 block
            // header: type in bits 7-6 of the first byte, big-endian size); then the end block.
            let payload: [UInt8] = [0x27, 0xB5, 0x2F, 0xFD, 0xA0, 0x00, 0x00, 0x01, 0x00, 0x81, 0x00, 0x00, UInt8(ascii: "A"), 0xC0, 0x00, 0x00]
            var h = m.records[0].header
            h.contentDigest = Digest.sha256(content)
            m.records[0] = ImageModel.chunk(h, payload: payload)
        },
        sample("V27-zstd-raw-block-over-maximum.ipk", "V27", .decompressionFailed, "a 2 KiB raw block in a zstd frame with a 1 KiB window, whose blocks are at most 1 KiB", hostile: true) { m in
            let content = Array(firstChunk[0..<2048]) + [UInt8](repeating: 0, count: 65536 - 2048)
            // Window descriptor 0: a 1 KiB window; 4-byte content size 65536.
            var payload: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x80, 0x00]
            payload += withUnsafeBytes(of: UInt32(65536).littleEndian, Array.init)
            payload += zstdBlockHeader(last: false, type: 0, size: 2048) + content[0..<2048]
            for i in 0..<62 { payload += zstdBlockHeader(last: i == 61, type: 1, size: 1024) + [0] }
            var h = m.records[0].header
            h.contentDigest = Digest.sha256(content)
            m.records[0] = ImageModel.chunk(h, payload: payload)
        },
        sample("V27-zlib-trailing-bytes.ipk", "V27", .decompressionFailed, "a zlib chunk with a byte after the end of its stream") { m in
            let i = record(m, stream: 1, offset: 0)
            var h = m.records[i].header
            h.codec = .zlib
            m.records[i] = ImageModel.chunk(h, payload: try compress(.zlib, baseStreams[1].1) + [0])
        },
        sample("V28-content-digest.ipk", "V28", .chunkHashMismatch, "a stored chunk whose record and index entry carry another digest") { m in
            let i = record(m, stream: 0, offset: 196608)
            m.records[i].header.contentDigest = other
        },
        sample("V28-zero-digest.ipk", "V28", .chunkHashMismatch, "a zero chunk whose index digest is not that of zeros") { m in
            m.zeroEntries[0].contentDigest = other
        },
        // Index (V30-V36).
        sample("V30-index-claims-1e9-chunks.ipk", "V30", .limitExceeded, "an index whose chunkCount is 10^9 (index CRC recomputed)", hostile: true) { m in
            m.patchIndexBody = { $0.setLE(UInt32(1_000_000_000), at: 0) }
        },
        sample("V30-index-crc.ipk", "V30", .indexChecksumMismatch, "an index entry byte flipped, index CRC left as it was") { m in
            m.patchFile = { bytes in bytes[footerIndexOffset(bytes) + Layout.envelopeSize + Layout.indexFixedSize + 10] ^= 1 }
        },
        sample("V31-index-entry-kind.ipk", "V31", .unknownChunkKind, "an index entry of kind 9") { m in
            m.patchIndexBody = { $0[Layout.indexFixedSize] = 9 }
        },
        sample(
            "V31-index-huge-logical-length.ipk", "V31", .limitExceeded, "a chunk claiming 128 MiB in both its record and the index", hostile: true,
            streaming: Expectation(rule: "V22", code: "limitExceeded")
        ) { m in
            m.records[0].header.logicalLength = 128 << 20
        },
        sample("V32-chunks-overlap-logically.ipk", "V32", .chunkLayoutInvalid, "the fill chunk starts 4 KiB inside the zero chunk before it") { m in
            let i = record(m, stream: 0, offset: 131072)
            m.records[i].header.logicalOffset -= 4096
        },
        sample("V33-overlapping-records.ipk", "V33", .chunkLayoutInvalid, "an index entry locating its record 20 bytes into the previous one", hostile: true) { m in
            let i = record(m, stream: 0, offset: 131072)
            m.patchIndex = { index in
                let j = index.entries.firstIndex { $0.stream == 0 && $0.logicalOffset == 131072 }!
                index.entries[j].recordOffset = index.entries[0].recordOffset + 20
            }
            _ = i
        },
        sample("V33-record-past-end-of-file.ipk", "V33", .chunkLayoutInvalid, "an index entry locating its record at 1 TiB, past the end of the file", hostile: true) { m in
            m.patchIndex = { index in
                let j = index.entries.lastIndex { $0.kind != .zero }!
                index.entries[j].recordOffset = 1 << 40
            }
        },
        sample("V34-unlisted-chunk.ipk", "V34", .indexMismatch, "a valid chunk record the index does not list (it lists a zero chunk there)") { m in
            let h = ChunkHeader(
                kind: .fill, codec: .stored, stream: 0, logicalOffset: 65536, logicalLength: 65536, payloadLength: 8,
                payloadCRC: CRC32C.checksum([UInt8](repeating: 0, count: 8)), contentDigest: ZeroDigests.digest(length: 65536))
            var r = ImageModel.Record(header: h, payload: [UInt8](repeating: 0, count: 8))
            r.listed = false
            m.records.insert(r, at: record(m, stream: 0, offset: 131072))
        },
        sample("V34-record-disagrees.ipk", "V34", .indexMismatch, "an index entry whose digest differs from its record's (root recomputed)") { m in
            let i = record(m, stream: 0, offset: 196608)
            m.records[i].patchEntry = { $0.contentDigest = other }
        },
        sample("V35-metadata-digest.ipk", "V35", .indexMismatch, "the index records another metadata digest (root recomputed)") { m in
            m.patchIndex = { $0.metadataDigest = other }
        },
        sample("V36-reference-without-feature.ipk", "V36", .unknownCriticalFeature, "a reference chunk in an image without the 'references' feature") { m in
            let i = record(m, stream: 0, offset: 131072)
            var h = m.records[i].header
            h.kind = .reference
            m.records[i] = ImageModel.chunk(h, payload: [UInt8](repeating: 0, count: 8))
        },
        // Footer (V40-V45).
        sample("V40-truncated.ipk", "V40", .truncated, "the file cut in half") { m in m.patchFile = { $0.removeLast($0.count / 2) } },
        sample("V41-footer-crc.ipk", "V41", .footerChecksumMismatch, "a root digest bit flipped, footer CRC left as it was") { m in
            m.patchFile = { $0[$0.count - Layout.footerSize + 45] ^= 1 }
        },
        sample(
            "V42-file-length.ipk", "V42", .trailingData, "the footer's fileLength is 1000 bytes short",
            streaming: Expectation(rule: "V42", code: "malformedField")
        ) { m in
            m.patchFooter = { $0.fileLength -= 1000 }
        },
        sample("V43-root-digest.ipk", "V43", .rootDigestMismatch, "the footer carries another root digest (footer CRC recomputed)") { m in
            m.patchFooter = { $0.rootDigest = other }
        },
        sample("V44-signature-algorithm.ipk", "V44", .malformedField, "a SIGN record with algorithm 7") { m in
            var body = [UInt8](repeating: 0, count: 100)
            body.setLE(UInt16(7), at: 0)
            m.signatures = encodeStructuralRecord(.signature, body: body)
        },
        sample("V47-same-key-twice.ipk", "V47", .malformedField, "two SIGN records by the same key") { m in
            let record = SignatureRecords.encode(keyID: testKey.publicKey.keyID, signature: testKey.signature(forRoot: other))
            m.signatures = record + record
        },
        sample("V45-parent-digest.ipk", "V45", .malformedField, "the index names a parent image without the 'parent' feature") { m in
            m.patchIndex = { $0.parentDigest = other }
        },
        // Where readers used to disagree (the data area and the footer; spec §4.3, §12).
        sample("V7-known-record-not-critical.ipk", "V7", .malformedField, "a META record with the critical bit clear between chunk records") { m in
            var raw = [UInt8](repeating: 0, count: 24)
            raw.setLE(RecordType.metadata.rawValue, at: 0)
            raw.setLE(UInt64(8), at: 8)
            m.records.insert(ImageModel.Record(header: m.records[0].header, payload: [], raw: raw), at: 1)
        },
        sample("V6-garbage-between-records.ipk", "V6", .reservedFieldNotZero, "32 bytes of 0xAA between two chunk records") { m in
            m.records.insert(ImageModel.Record(header: m.records[0].header, payload: [], raw: [UInt8](repeating: 0xAA, count: 32)), at: 1)
        },
        sample(
            "V34-duplicate-range.ipk", "V34", .indexMismatch, "an unlisted copy of the first chunk record right after it",
            streaming: Expectation(rule: "V32", code: "chunkLayoutInvalid")
        ) { m in
            var copy = m.records[0]
            copy.listed = false
            m.records.insert(copy, at: 1)
        },
        sample("V34-chunk-inside-optional-record.ipk", "V34", .indexMismatch, "an optional record whose body is the next listed chunk record") { m in
            let i = record(m, stream: 0, offset: 196608)
            var raw = [UInt8](repeating: 0, count: 16)
            raw.setLE(RecordType("OPTL").rawValue, at: 0)
            raw.setLE(UInt64(Layout.chunkPrefixSize) + UInt64(m.records[i].payload.count), at: 8)
            m.records.insert(ImageModel.Record(header: m.records[i].header, payload: [], raw: raw), at: i)
        },
        sample("V8-second-index.ipk", "V8", .unexpectedRecord, "a copy of the INDX record before the one the footer locates") { m in
            m.patchFile = { file in
                let footerAt = file.count - Layout.footerSize
                func read(_ at: Int) -> Int { Int(file[at..<at + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) }
                let (indexAt, indexLength) = (read(footerAt), read(footerAt + 8))
                file.insert(contentsOf: Array(file[indexAt..<indexAt + indexLength]), at: indexAt)
                let moved = footerAt + indexLength
                file.setLE(UInt64(indexAt + indexLength), at: moved)
                file.setLE(UInt64(file.count), at: moved + 32)
                ImageModel.setCRC(&file, over: moved..<moved + 84, at: moved + 84)
            }
        },
        sample("V42-signature-offset-without-length.ipk", "V42", .malformedField, "the footer gives a signature offset (where the footer begins) and no signature bytes") { m in
            m.patchFooter = { $0.signaturesOffset = $0.indexOffset + $0.indexLength }
        },
        // Reference targets (spec §7.2 (a)-(d); V60 needs a file over maxReferenceDistance, so
        // it is tested with tightened limits instead: ReferenceTests).
        sample("V34-reference-forward.ipk", "V34", .referenceInvalid, "a reference to the record after it", hostile: true) { m in
            addReference(&m) { UInt64($0[2]) }
        },
        sample("V34-reference-to-itself.ipk", "V34", .referenceInvalid, "a reference to its own record", hostile: true) { m in
            addReference(&m) { UInt64($0[1]) }
        },
        sample("V34-reference-to-reference.ipk", "V34", .referenceInvalid, "a reference to a valid reference (a chain)", hostile: true) { m in
            addReference(&m) { UInt64($0[0]) }
            // The fill chunk after it becomes a second reference, to the first reference.
            var h = m.records[1].header
            h.logicalOffset = 131072
            var r = ImageModel.Record(header: h, payload: [UInt8](repeating: 0, count: 8))
            r.target = { UInt64($0[1]) }
            m.records[2] = r
        },
        sample("V34-reference-to-zero-entry.ipk", "V34", .referenceInvalid, "a reference to offset 0, the recordOffset of every zero entry", hostile: true) { m in
            addReference(&m) { _ in 0 }
        },
        sample("V34-reference-inside-record.ipk", "V34", .referenceInvalid, "a reference to one byte past the start of the first record", hostile: true) { m in
            addReference(&m) { UInt64($0[0] + 1) }
        },
        sample("V34-reference-different-length.ipk", "V34", .referenceInvalid, "a 3000-byte reference to the 65536-byte first chunk", hostile: true) { m in
            addReference(&m) { UInt64($0[0]) }
            let i = record(m, stream: 0, offset: 196608)
            var h = m.records[1].header
            h.logicalOffset = 196608
            h.logicalLength = m.records[i].header.logicalLength
            var r = ImageModel.Record(header: h, payload: [UInt8](repeating: 0, count: 8))
            r.target = { UInt64($0[0]) }
            m.records[i] = r
        },
        sample("V34-reference-different-digest.ipk", "V34", .referenceInvalid, "a reference to the first chunk, of its length but another content digest", hostile: true) { m in
            addReference(&m) { UInt64($0[0]) }
            m.records[1].header.contentDigest = other
        },
    ] }

    /// Builds every sample from the valid image; returns (manifest entry, bytes).
    static func generate(in dir: String) throws -> [(ManifestEntry, [UInt8])] {
        let base = try baseImage(in: dir)
        let basePath = dir + "/base-zstd.ipk"
        var out: [(ManifestEntry, [UInt8])] = []
        for s in all {
            var model = try ImageModel(bytes: base, path: basePath)
            try s.make(&model)
            out.append((s.entry, model.assemble()))
        }
        return out + (try deltaSamples(in: dir))
    }

    /// The delta samples (V49, V50): real deltas, each read with the parents its manifest entry
    /// names. The V50 ones are deltas written on a longer parent and then re-pointed at
    /// samples/valid/small.ipk (PRNT and index rewritten, root digest unchanged since it does not
    /// cover the parent): what only a forged or mismatched pairing produces.
    static func deltaSamples(in dir: String) throws -> [(ManifestEntry, [UInt8])] {
        let options = WriterOptions(chunkSize: 64 << 10, threads: 2)
        let small = dir + "/delta-small.ipk"
        removeItem(small)
        _ = try writeImage(baseStreams, to: small, options: options)
        let smallReader = try ImageReader(path: small)

        /// A delta of `streams` on a parent holding `parentStreams`, its bytes.
        func delta(_ streams: [(String, [UInt8])], on parentStreams: [(String, [UInt8])], name: String) throws -> [UInt8] {
            let parentPath = dir + "/\(name)-parent.ipk"
            let path = dir + "/\(name).ipk"
            removeItem(parentPath)
            removeItem(path)
            _ = try writeImage(parentStreams, to: parentPath, options: options)
            var deltaOptions = options
            deltaOptions.parent = try ImageReader(path: parentPath)
            _ = try writeImage(streams, to: path, options: deltaOptions)
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        /// `bytes` (a delta) naming `parent` as its parent instead: the PRNT record and the
        /// index's parentDigest rewritten in place, with their CRCs.
        func reparent(_ bytes: [UInt8], to parent: Digest, name: String) throws -> [UInt8] {
            let path = dir + "/\(name)-reparent.ipk"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let reader = try ImageReader(path: path)
            var file = bytes
            let prnt = Int(reader.dataStart) - (Layout.envelopeSize + ParentRecord.bodyLength)
            file.replaceSubrange(prnt..<Int(reader.dataStart), with: encodeStructuralRecord(.parent, body: ParentRecord.encodeBody(parentDigest: parent)))
            let at = Int(reader.footer.indexOffset)
            let end = at + Int(reader.footer.indexLength)
            var index = try ImageIndex.load(Array(file[at..<end]), at: UInt64(at), limits: ImageLimits())
            index.parentDigest = parent
            let record = encodeStructuralRecord(.index, body: index.encodeBody())
            precondition(record.count == end - at)
            file.replaceSubrange(at..<end, with: record)
            return file
        }

        var other = baseStreams
        other[1].1 = logText(2000, seed: 501)
        // small.ipk's disk, 199,608 bytes, cut or grown at its last (random) chunk.
        let disk = baseStreams[0].1
        var longer = baseStreams
        longer[0].1 = disk + logText(65536, seed: 3)
        var shorter = baseStreams
        shorter[0].1 = Array(disk[0..<198608])
        var shorterChanged = shorter
        shorterChanged[0].1.replaceSubrange(197000..<197040, with: logText(40, seed: 4))

        func entry(_ file: String, _ rule: String, _ code: ImagePackError.Code, _ description: String, parents: [String]) -> ManifestEntry {
            let expected = Expectation(rule: rule, code: code.name)
            return ManifestEntry(file: file, rule: rule, code: code.name, description: description, randomAccess: expected, streaming: expected, hostile: false, parents: parents)
        }
        return [
            (entry("V49-wrong-parent.ipk", "V49", .parentRequired, "a delta read with samples/valid/small.ipk, which is not the parent it names (its nvram differs)", parents: ["../valid/small.ipk"]),
             try delta(deltaStreams, on: other, name: "wrong-parent")),
            (entry("V49-parent-loop.ipk", "V49", .parentMismatch, "a delta of an unchanged state (its parent's root digest is its own) read with only itself as parent: the chain loops", parents: ["V49-parent-loop.ipk"]),
             try delta(baseStreams, on: baseStreams, name: "loop")),
            (entry("V50-parent-lacks-range.ipk", "V50", .parentMismatch, "a parent chunk at 196608..<262144 of \"disk\", past the end of the parent's 199,608-byte disk", parents: ["../valid/small.ipk"]),
             try reparent(try delta(longer, on: longer, name: "lacks-range"), to: smallReader.rootDigest, name: "lacks-range")),
            (entry("V50-patch-parent-chunk.ipk", "V50", .parentMismatch, "a zstd-patch chunk at 196608..<198608 whose parent has a chunk of 3000 bytes there, not 2000", parents: ["../valid/small.ipk"]),
             try reparent(try delta(shorterChanged, on: shorter, name: "patch-chunk"), to: smallReader.rootDigest, name: "patch-chunk")),
        ]
    }

    static func manifestJSON(_ entries: [ManifestEntry]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(entries) + Data("\n".utf8)
    }
}
