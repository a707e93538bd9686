import Foundation
import ImagePack

// The JSON documents of `--json` (schema 1), printed with sorted keys.
//
// Stability: within schema 1, fields may be added but none is renamed, removed or given another
// meaning; anything else raises "schema". Sizes are bytes; digests are "sha256:<hex>". The
// field-by-field description lives in docs/imgpack.md ("JSON output"); keep the two in step.

/// Chunk counts by kind and, for data chunks, by codec. Every key is always present.
struct ChunkCounts: Encodable, Equatable {
    var total = 0
    var byKind: [String: Int] = Dictionary(uniqueKeysWithValues: ChunkKind.allCases.map { ($0.description, 0) })
    var byCodec: [String: Int] = Dictionary(uniqueKeysWithValues: Codec.allCases.map { ($0.description, 0) })

    init() {}

    init<S: Sequence>(_ entries: S) where S.Element == ChunkEntry {
        for e in entries { add(kind: e.kind, codec: e.codec) }
    }

    mutating func add(kind: ChunkKind, codec: Codec, count: Int = 1) {
        total += count
        byKind[kind.description, default: 0] += count
        if kind == .data { byCodec[codec.description, default: 0] += count }
    }

    /// `data 200, zero 150, fill 34` (kinds that occur), for text output.
    var kindsText: String {
        let parts = ChunkKind.allCases.compactMap { k in byKind[k.description].flatMap { $0 > 0 ? "\(k) \($0)" : nil } }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    var codecsText: String {
        let parts = Codec.allCases.compactMap { c in byCodec[c.description].flatMap { $0 > 0 ? "\(c) \($0)" : nil } }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}

/// `logical / stored`, 0 when nothing is stored.
func compressionRatio(_ logical: UInt64, _ stored: UInt64) -> Double {
    stored == 0 ? 0 : (Double(logical) / Double(stored) * 1000).rounded() / 1000
}

/// One stream, as `pack --json` and `info --json` describe it.
struct StreamReport: Encodable {
    var index: Int
    var name: String
    var kind: String
    var blockSize: UInt32
    var logicalSize: UInt64
    /// Bytes of this stream's chunk records in the file (headers and payloads).
    var storedBytes: UInt64
    var ratio: Double
    var chunks: ChunkCounts
}

/// `pack --json`.
struct PackReport: Encodable {
    var schema = 1
    var output: String
    var rootDigest: String
    var fileLength: UInt64
    var logicalBytes: UInt64
    var payloadBytes: UInt64
    var ratio: Double
    var chunkSize: Int
    var codec: String
    var chunks: ChunkCounts
    var streams: [Stream]
    var seconds: Double
    var bytesPerSecond: Double

    struct Stream: Encodable {
        var index: Int
        var name: String
        var kind: String
        var blockSize: UInt32
        var logicalSize: UInt64
    }
}

/// `info --json`.
struct InfoReport: Encodable {
    var schema = 1
    /// The file, or the registry reference for an image in a registry.
    var path: String
    /// For an image in a registry: the digest of the manifest read.
    var manifestDigest: String?
    /// `major.minor` from the header (spec §3.1).
    var formatVersion: String
    var fileLength: UInt64
    var chunkSize: UInt32
    var rootDigest: String
    var metadata: ImageMetadata
    var logicalBytes: UInt64
    /// Bytes of all chunk records (headers and payloads).
    var storedBytes: UInt64
    /// Bytes of chunk payloads alone.
    var payloadBytes: UInt64
    /// Bytes of everything else: header, metadata, stream table, index, footer, record headers.
    var overheadBytes: UInt64
    /// `logicalBytes / fileLength`.
    var ratio: Double
    var chunks: ChunkCounts
    var streams: [StreamReport]
    /// For a delta: the root digest of the image it stands on (absent for a full image).
    var parentDigest: String?
    /// For a delta opened with its parents: the chain, direct parent first.
    var parentChain: [ParentLink]?
    /// Every SIGN record, with its status when keys were given.
    var signatures: [SignatureReport] = []

    struct ParentLink: Encodable {
        var path: String
        var rootDigest: String
    }
}

/// `ls --json`.
struct ChunkListReport: Encodable {
    var schema = 1
    var path: String
    var chunks: [Row]

    struct Row: Encodable {
        var index: Int
        var stream: String
        var kind: String
        /// The codec of a data chunk; null for other kinds (zero and fill chunks store no
        /// payload to decode), as the text table's "-".
        var codec: String?
        var logicalOffset: UInt64
        var logicalLength: UInt32
        var payloadLength: UInt32
        /// Bytes of the record in the file; 0 for a zero chunk (no record).
        var storedSize: UInt64
        /// Offset of the CHNK record; 0 for a zero chunk.
        var recordOffset: UInt64
        /// Offset of the payload; 0 for a zero chunk.
        var payloadOffset: UInt64
        var digest: String

        enum CodingKeys: String, CodingKey {
            case index, stream, kind, codec, logicalOffset, logicalLength, payloadLength, storedSize, recordOffset, payloadOffset, digest
        }

        /// As synthesized, except that a missing codec is written as null rather than left out.
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(stream, forKey: .stream)
            try c.encode(kind, forKey: .kind)
            try c.encode(codec, forKey: .codec)
            try c.encode(logicalOffset, forKey: .logicalOffset)
            try c.encode(logicalLength, forKey: .logicalLength)
            try c.encode(payloadLength, forKey: .payloadLength)
            try c.encode(storedSize, forKey: .storedSize)
            try c.encode(recordOffset, forKey: .recordOffset)
            try c.encode(payloadOffset, forKey: .payloadOffset)
            try c.encode(digest, forKey: .digest)
        }
    }
}

/// `verify --json`.
struct VerifyJSONReport: Encodable {
    var schema = 1
    var path: String
    var valid: Bool
    /// true for `--quick`: structure, metadata and index only.
    var quick: Bool
    var rootDigest: String?
    /// Every chunk of the image (the index's entries), as `validate` counts "chunks checked":
    /// stored chunks are decoded and hashed, zero chunks checked by their digest in the index.
    var chunks: Int = 0
    /// Stored chunks decoded and hashed (zero chunks store nothing to decode).
    var chunksChecked: Int
    /// Logical bytes of the stored chunks decoded.
    var bytesChecked: UInt64
    var failures: [Failure]
    /// Every SIGN record, with its status when keys were given.
    var signatures: [SignatureReport] = []
    /// With --trusted-key or --trust-dir: whether a trusted key's signature verified; nil without.
    var trusted: Bool?

    struct Failure: Encodable {
        var code: String
        var category: String
        var rule: String?
        var offset: UInt64?
        var chunk: Int?
        var stream: String?
        var field: String?
        var message: String
        /// The whole error on one line, as text output prints it.
        var description: String

        init(_ e: ImagePackError) {
            code = e.code.name
            category = e.code.category.rawValue
            rule = e.rule?.name
            offset = e.offset
            chunk = e.chunk
            stream = e.stream
            field = e.field
            message = e.message
            description = e.displayed.description
        }
    }
}

/// Prints `value` as pretty, key-sorted JSON on standard output.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// Stream reports from an image's streams and index.
func streamReports(streams: [StreamInfo], entries: some Sequence<ChunkEntry>) -> [StreamReport] {
    var reports = streams.enumerated().map { i, s in
        StreamReport(index: i, name: s.name, kind: s.kind.description, blockSize: s.blockSize, logicalSize: s.logicalSize, storedBytes: 0, ratio: 0, chunks: ChunkCounts())
    }
    for e in entries where Int(e.stream) < reports.count {
        reports[Int(e.stream)].storedBytes += e.storedSize
        reports[Int(e.stream)].chunks.add(kind: e.kind, codec: e.codec)
    }
    for i in reports.indices { reports[i].ratio = compressionRatio(reports[i].logicalSize, reports[i].storedBytes) }
    return reports
}

/// Left-aligned columns for text tables.
func table(_ rows: [[String]], rightAligned: Set<Int> = []) -> String {
    guard let columns = rows.map(\.count).max() else { return "" }
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    return rows.map { row in
        row.enumerated().map { i, cell in
            let pad = String(repeating: " ", count: widths[i] - cell.count)
            return rightAligned.contains(i) ? pad + cell : (i == row.count - 1 ? cell : cell + pad)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
