/// The fixed part of a CHNK record (spec §7.1): everything a sequential reader needs to place,
/// decode and verify the payload that follows, without the index.
struct ChunkHeader: Equatable {
    var kind: ChunkKind
    var codec: Codec
    var stream: UInt32
    var logicalOffset: UInt64
    var logicalLength: UInt32
    var payloadLength: UInt32
    var payloadCRC: UInt32
    var contentDigest: Digest

    /// Envelope plus chunk header: `Layout.chunkPrefixSize` bytes, to be followed by the payload.
    func encodePrefix() -> [UInt8] {
        var w = ByteWriter(capacity: Layout.chunkPrefixSize)
        RecordEnvelope(type: .chunk, critical: true, bodyLength: UInt64(Layout.chunkHeaderSize) + UInt64(payloadLength)).encode(into: &w)
        w.u8(kind.rawValue)
        w.u8(codec.rawValue)
        w.u16(0)
        w.u32(stream)
        w.u64(logicalOffset)
        w.u32(logicalLength)
        w.u32(payloadLength)
        w.u32(payloadCRC)
        w.u32(0)
        w.digest(contentDigest)
        w.crc()
        return w.bytes
    }

    /// Parses the record prefix at `offset` (rules V20-V24). The payload is checked separately.
    static func decodePrefix(_ bytes: [UInt8], at offset: UInt64, limits: ImageLimits) throws(ImagePackError) -> ChunkHeader {
        guard bytes.count >= Layout.chunkPrefixSize else {
            throw ImagePackError(.truncated, "the file ends inside a chunk header", rule: .v20, offset: offset)
        }
        let crcAt = Layout.chunkPrefixSize - 4
        let stored = UInt32(bytes[crcAt]) | UInt32(bytes[crcAt + 1]) << 8 | UInt32(bytes[crcAt + 2]) << 16 | UInt32(bytes[crcAt + 3]) << 24
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<crcAt])) }
        guard stored == computed else {
            throw ImagePackError(.chunkHeaderChecksumMismatch, "chunk header checksum does not match: the chunk header is damaged", rule: .v20, offset: offset + UInt64(crcAt), field: "chunkHeaderCRC")
        }
        var c = ByteCursor(Array(bytes[0..<Layout.chunkPrefixSize]), base: offset, context: "chunk header")
        let envelope = try RecordEnvelope.decode(bytes, at: offset)
        // Only a reader led here by an index entry can meet another type (the walks look first).
        guard envelope.type == .chunk else {
            throw ImagePackError(.indexMismatch, "the index locates a chunk record at \(offset), but the record there is \(envelope.type)", rule: .v34, offset: offset, field: "type")
        }
        _ = try c.take(Layout.envelopeSize, "envelope")
        let kindAt = c.offset
        let kindRaw = try c.u8("kind")
        guard let kind = ChunkKind(rawValue: kindRaw), kind != .zero else {
            throw ImagePackError(.unknownChunkKind, "chunk kind \(kindRaw) is not valid in a CHNK record", rule: .v21, offset: kindAt, field: "kind")
        }
        let codecRaw = try c.u8("codec")
        guard let codec = Codec(rawValue: codecRaw) else {
            throw ImagePackError(.unknownCodec, "codec \(codecRaw) is unknown (0 stored, 1 zstd, 2 zlib, 3 zstd-patch)", rule: .v21, offset: kindAt + 1, field: "codec")
        }
        try c.reserved(2, "chunkFlags")
        let header = ChunkHeader(
            kind: kind, codec: codec, stream: try c.u32("stream"), logicalOffset: try c.u64("logicalOffset"),
            logicalLength: try c.u32("logicalLength"), payloadLength: try c.u32("payloadLength"),
            payloadCRC: try c.u32("payloadCRC"), contentDigest: .zero)
        try c.reserved(4, "reserved")
        var result = header
        result.contentDigest = try c.digest("contentDigest")
        try result.checkShape(at: offset, limits: limits)
        guard envelope.bodyLength == UInt64(Layout.chunkHeaderSize) + UInt64(result.payloadLength) else {
            throw ImagePackError(.malformedField, "record length \(envelope.bodyLength) disagrees with the payload length \(result.payloadLength)", rule: .v24, offset: offset + 8, field: "bodyLength")
        }
        return result
    }

    /// Length and codec rules that hold for a chunk on its own (V22).
    func checkShape(at offset: UInt64, limits: ImageLimits) throws(ImagePackError) {
        guard logicalLength > 0, Int(logicalLength) <= limits.maxChunkSize else {
            throw ImagePackError(.limitExceeded, "chunk length \(logicalLength) is outside 1...\(limits.maxChunkSize)", rule: .v22, offset: offset, field: "logicalLength")
        }
        switch kind {
        case .data:
            if codec == .stored {
                guard payloadLength == logicalLength else {
                    throw ImagePackError(.chunkSizeMismatch, "a stored chunk's payload (\(payloadLength)) must equal its length (\(logicalLength))", rule: .v22, offset: offset, field: "payloadLength")
                }
            } else {
                guard payloadLength > 0, payloadLength < logicalLength else {
                    throw ImagePackError(.chunkSizeMismatch, "a compressed chunk's payload (\(payloadLength)) must be shorter than its length (\(logicalLength))", rule: .v22, offset: offset, field: "payloadLength")
                }
            }
        case .fill:
            guard codec == .stored, payloadLength == 8, logicalLength % 8 == 0 else {
                throw ImagePackError(.malformedField, "a fill chunk has an 8-byte stored pattern and a length that is a multiple of 8", rule: .v22, offset: offset, field: "payloadLength")
            }
        case .reference:
            guard codec == .stored, payloadLength == 8 else {
                throw ImagePackError(.malformedField, "a reference chunk's payload is the 8-byte offset of the record it repeats", rule: .v22, offset: offset, field: "payloadLength")
            }
        case .zero, .parent:
            guard codec == .stored, payloadLength == 0 else {
                throw ImagePackError(.malformedField, "a \(kind) chunk has no payload", rule: .v22, offset: offset, field: "payloadLength")
            }
        }
    }
}
