/// The PRNT record (spec §9.3): the root digest of the image a delta stands on. Its body is the
/// digest and 4 reserved bytes, 36 bytes, and with the structural CRC 40 (the envelope's bodyLength).
enum ParentRecord {
    /// Body length including the trailing CRC, the only length a PRNT record may have (V45).
    static let bodyLength = 40

    /// The body without its CRC (``encodeStructuralRecord(_:body:)`` appends it).
    static func encodeBody(parentDigest: Digest) -> [UInt8] {
        var w = ByteWriter(capacity: bodyLength - 4)
        w.digest(parentDigest)
        w.zeros(4)
        return w.bytes
    }

    /// Parses a body (without its CRC) found at file offset `offset` (V45).
    static func decodeBody(_ body: [UInt8], at offset: UInt64) throws(ImagePackError) -> Digest {
        var c = ByteCursor(body, base: offset, context: "parent record")
        let digest = try c.digest("parentDigest")
        try c.reserved(4, "reserved")
        guard c.remaining == 0 else {
            throw ImagePackError(.malformedField, "the PRNT record has \(c.remaining) bytes after its fields; its body is 36 bytes and a CRC", rule: .v45, offset: c.offset)
        }
        guard digest != .zero else {
            throw ImagePackError(.malformedField, "the PRNT record names no parent (its digest is all zero)", rule: .v45, offset: offset, field: "parentDigest")
        }
        return digest
    }
}
