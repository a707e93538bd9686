import Foundation
@testable import ImagePack

/// One row of samples/hostile/MANIFEST.json.
struct HostileManifestEntry: Codable {
    var file: String
    var description: String
    /// "valid, bounded" for an image every reader must accept in bounded time and memory;
    /// otherwise the rule every reader must report.
    var expectation: String
}

/// Images at the limits of the format (spec §10), valid or not, that cost a reader far more than
/// their size suggested: each is small on disk and must stay cheap to read. Deterministic, like
/// ``InvalidSamples``; the large shapes they stand for are built at run time by
/// samples/hostile/measure (never committed).
enum HostileSamples {
    static let directory = InvalidSamples.repository + "/samples/hostile"
    static let valid = "valid, bounded"

    struct Sample {
        var entry: HostileManifestEntry
        var make: (inout ImageModel) throws -> Void
    }

    static func sample(_ file: String, _ expectation: String, _ description: String, make: @escaping (inout ImageModel) throws -> Void) -> Sample {
        Sample(entry: HostileManifestEntry(file: file, description: description, expectation: expectation), make: make)
    }

    /// The fill pattern of the fill samples, as stored.
    static let pattern: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01, 0x02, 0x03]

    /// Replaces stream 0 ("disk") with `count` fill chunks of `length` bytes, all of `pattern`.
    static func fillDisk(_ m: inout ImageModel, count: Int, length: UInt32) throws {
        var streams = try StreamTable.decodeBody(m.streamBody, at: 0, limits: .init())
        streams[0].logicalSize = UInt64(count) * UInt64(length)
        m.streamBody = StreamTable.encodeBody(streams)
        let value = pattern.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let digest = FillDigests.digest(pattern: value, length: length)
        let fills = (0..<count).map { k in
            ImageModel.chunk(
                ChunkHeader(kind: .fill, codec: .stored, stream: 0, logicalOffset: UInt64(k) * UInt64(length), logicalLength: length,
                    payloadLength: 8, payloadCRC: 0, contentDigest: digest),
                payload: pattern)
        }
        m.records = fills + m.records.filter { $0.header.stream != 0 }
        m.zeroEntries = m.zeroEntries.filter { $0.stream != 0 }
    }

    static var all: [Sample] { [
        sample("chunk-size-zero.ipk", valid, "the header's chunkSize is 0 (header CRC recomputed): qcow2 export divided by zero") { m in
            m.patchHeader = { $0.setLE(UInt32(0), at: 32) }
        },
        sample("chunk-size-4GiB.ipk", valid, "the header's chunkSize is 0xFFFF0000 over 64 KiB chunks: qcow2 export sized its buffers from it") { m in
            m.patchHeader = { $0.setLE(UInt32(0xFFFF_0000), at: 32) }
        },
        sample("chunk-size-understated.ipk", valid, "the header's chunkSize is 4096 over 64 KiB chunks: qcow2 export with 4 KiB clusters decoded each chunk 16 times") { m in
            m.patchHeader = { $0.setLE(UInt32(4096), at: 32) }
        },
        sample("fill-64x64MiB.ipk", valid, "a 4 GiB disk of 64 fill chunks of 64 MiB, one pattern, in 10 KB: verify hashed 4 GiB") { m in
            try fillDisk(&m, count: 64, length: 64 << 20)
        },
        sample("optional-records-500.ipk", valid, "500 empty optional records between two chunk records: the streaming reader restarted its threads at each") { m in
            var raw = [UInt8](repeating: 0, count: Layout.envelopeSize)
            raw.setLE(RecordType("NOTE").rawValue, at: 0)
            let optional = ImageModel.Record(header: m.records[0].header, payload: [], raw: raw)
            m.records.insert(contentsOf: repeatElement(optional, count: 500), at: 1)
        },
    ] }

    /// Builds every sample from the small valid image; returns (manifest entry, bytes).
    static func generate(in dir: String) throws -> [(HostileManifestEntry, [UInt8])] {
        let base = try InvalidSamples.baseImage(in: dir)
        let basePath = dir + "/base-zstd.ipk"
        return try all.map { s in
            var model = try ImageModel(bytes: base, path: basePath)
            try s.make(&model)
            return (s.entry, model.assemble())
        }
    }
}
