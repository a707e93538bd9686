import Foundation
@testable import ImagePack

/// The shapes of spec §10's limits that are too large to commit (a 3 GiB disk claiming 4 GiB
/// chunks, 128 GiB of fill, a 4-million-entry index, millions of records on a pipe), built at any
/// scale from the small valid image. samples/hostile/measure builds them at full scale (through
/// `HOSTILE_SHAPES_DIR`) and times every command on them; the test suite builds them small.
enum HostileShapes {
    struct Scale {
        /// Chunks of the header-chunkSize shapes (64 MiB each): 48 is a 3 GiB disk.
        var chunkSizeChunks = 48
        /// 64 MiB zstd chunks decoded by qcow2 export when the header understates the chunk size.
        var understatedChunks = 2
        /// 64 MiB fill chunks, one pattern.
        var fillChunks = 2048
        /// 1-byte stored chunk records with no index after them.
        var records = (1 << 22) + 1
        /// Empty optional records between two chunk records.
        var optionalRecords = 1_000_000
        /// Zero-chunk entries of the maximal index.
        var indexEntries = 1 << 22
        /// 64 MiB zstd chunks for the decode memory budget.
        var zstdChunks = 32

        static let full = Scale()
        static let small = Scale(chunkSizeChunks: 3, understatedChunks: 1, fillChunks: 8, records: 50, optionalRecords: 100, indexEntries: 1000, zstdChunks: 2)
    }

    static let big: UInt32 = 64 << 20

    /// Sets stream 0's size and replaces its chunks with `records` (in order) and zero entries.
    static func setDisk(_ m: inout ImageModel, size: UInt64, records: [ImageModel.Record], zeros: [ChunkEntry] = []) throws {
        var streams = try StreamTable.decodeBody(m.streamBody, at: 0, limits: .init())
        streams[0].logicalSize = size
        m.streamBody = StreamTable.encodeBody(streams)
        m.records = records + m.records.filter { $0.header.stream != 0 }
        m.zeroEntries = zeros + m.zeroEntries.filter { $0.stream != 0 }
    }

    static func zeroEntries(from first: Int, to end: Int, length: UInt32) -> [ChunkEntry] {
        let digest = ZeroDigests.digest(length: length)
        return (first..<end).map { ChunkEntry(zeroIn: 0, offset: UInt64($0) * UInt64(length), length: length, digest: digest) }
    }

    /// 64 MiB of log-like text, compressed with zstd, and its digest (compressed once, shared by every chunk).
    static func zstdChunk() throws -> (payload: [UInt8], digest: Digest) {
        let content = InvalidSamples.logText(Int(big), seed: 11)
        return (try InvalidSamples.compress(.zstd, content), Digest.sha256(content))
    }

    static func data(_ chunk: (payload: [UInt8], digest: Digest), at k: Int) -> ImageModel.Record {
        ImageModel.chunk(
            ChunkHeader(kind: .data, codec: .zstd, stream: 0, logicalOffset: UInt64(k) * UInt64(big), logicalLength: big, payloadLength: 0, payloadCRC: 0, contentDigest: chunk.digest),
            payload: chunk.payload)
    }

    /// Every shape: file name, what to run on it, and its bytes.
    static func make(_ scale: Scale, in dir: String) throws -> [(file: String, bytes: [UInt8])] {
        let base = try InvalidSamples.baseImage(in: dir)
        let basePath = dir + "/base-zstd.ipk"
        func model() throws -> ImageModel { try ImageModel(bytes: base, path: basePath) }
        var out: [(String, [UInt8])] = []

        // A disk of one fill chunk then zeros, the header claiming 0xFFFF0000-byte chunks.
        var m = try model()
        try HostileSamples.fillDisk(&m, count: 1, length: big)
        try setDisk(&m, size: UInt64(scale.chunkSizeChunks) * UInt64(big), records: m.records.filter { $0.header.stream == 0 },
            zeros: zeroEntries(from: 1, to: scale.chunkSizeChunks, length: big))
        m.patchHeader = { $0.setLE(UInt32(0xFFFF_0000), at: 32) }
        out.append(("chunk-size-4GiB-disk.ipk", m.assemble()))

        // 64 MiB zstd chunks, the header claiming 64 KiB.
        let chunk = try zstdChunk()
        m = try model()
        try setDisk(&m, size: UInt64(scale.understatedChunks) * UInt64(big), records: (0..<scale.understatedChunks).map { data(chunk, at: $0) })
        m.patchHeader = { $0.setLE(UInt32(64 << 10), at: 32) }
        out.append(("chunk-size-understated-disk.ipk", m.assemble()))

        // Fill chunks of 64 MiB, one pattern.
        m = try model()
        try HostileSamples.fillDisk(&m, count: scale.fillChunks, length: big)
        out.append(("fill-chunks.ipk", m.assemble()))

        // 1-byte stored chunk records and no index: the image ends where its index would start.
        m = try model()
        let byte: [UInt8] = [0x5A]
        let header = ChunkHeader(kind: .data, codec: .stored, stream: 0, logicalOffset: 0, logicalLength: 1, payloadLength: 1, payloadCRC: CRC32C.checksum(byte), contentDigest: Digest.sha256(byte))
        try setDisk(&m, size: UInt64(scale.records), records: (0..<scale.records).map { k in
            var h = header
            h.logicalOffset = UInt64(k)
            return ImageModel.Record(header: h, payload: byte)
        })
        m.patchFile = { $0.removeLast($0.count - InvalidSamples.footerIndexOffset($0)) }
        out.append(("records-without-index.ipk", m.assemble()))

        // Empty optional records between the first two chunk records.
        m = try model()
        var raw = [UInt8](repeating: 0, count: Layout.envelopeSize)
        raw.setLE(RecordType("NOTE").rawValue, at: 0)
        m.records.insert(contentsOf: repeatElement(ImageModel.Record(header: m.records[0].header, payload: [], raw: raw), count: scale.optionalRecords), at: 1)
        out.append(("optional-records.ipk", m.assemble()))

        // The largest index the limits allow: zero chunks of 4 KiB.
        m = try model()
        try setDisk(&m, size: UInt64(scale.indexEntries) * 4096, records: [], zeros: zeroEntries(from: 0, to: scale.indexEntries, length: 4096))
        m.records = []
        m.zeroEntries = zeroEntries(from: 0, to: scale.indexEntries, length: 4096)
        var streams = try StreamTable.decodeBody(m.streamBody, at: 0, limits: .init())
        streams.removeLast(streams.count - 1)
        m.streamBody = StreamTable.encodeBody(streams)
        out.append(("index-maximal.ipk", m.assemble()))

        // 64 MiB zstd chunks, for the decode memory budget.
        m = try model()
        try setDisk(&m, size: UInt64(scale.zstdChunks) * UInt64(big), records: (0..<scale.zstdChunks).map { data(chunk, at: $0) })
        out.append(("zstd-64MiB-chunks.ipk", m.assemble()))
        return out
    }
}
