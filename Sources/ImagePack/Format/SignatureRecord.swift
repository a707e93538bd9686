/// SIGN records (spec §9.2): Ed25519 signatures of the root digest, between the index and the
/// footer. Every reader checks their structure (V44) and that no key signed twice (V47), so a
/// damaged or forged signature region is never silently accepted; whether a signature verifies
/// needs the signer's public key, which the record names only by its key id (V48, §9.2).
enum SignatureRecords {
    static let bodyLength = 104
    /// Envelope and body: every SIGN record of version 1 is this long.
    static let recordLength = Layout.envelopeSize + bodyLength
    static let ed25519: UInt16 = 1
    /// Tag that starts the signed message (spec §9.2), so a signature over an image's root can
    /// never be taken for a signature over anything else the same key signs.
    static let messageDomain: [UInt8] = Array("IMGPACK-SIGN-v1\0".utf8)

    /// The 48 bytes an Ed25519 signature of an image signs: the domain tag, then the root digest.
    static func message(for root: Digest) -> [UInt8] { messageDomain + root.bytes }

    /// Builds one SIGN record.
    static func encode(keyID: Digest, signature: [UInt8]) -> [UInt8] {
        precondition(signature.count == 64, "an Ed25519 signature is 64 bytes")
        var w = ByteWriter(capacity: bodyLength - 4)
        w.u16(ed25519)
        w.zeros(2)
        w.digest(keyID)
        w.append(signature)
        return encodeStructuralRecord(.signature, body: w.bytes)
    }

    /// Checks that `region` (found at `offset`) is a sequence of well-formed SIGN records (V44)
    /// by distinct keys (V47).
    static func checkRegion(_ region: [UInt8], at offset: UInt64) throws(ImagePackError) {
        _ = try decodeRegion(region, at: offset)
    }

    /// Parses the signature region `region` found at `offset` (rules V44, V47).
    static func decodeRegion(_ region: [UInt8], at offset: UInt64) throws(ImagePackError) -> [ImageSignature] {
        var position = 0
        var signatures: [ImageSignature] = []
        var seen: [Digest: UInt64] = [:]
        while position < region.count {
            let at = offset + UInt64(position)
            let envelope = try RecordEnvelope.decode(Array(region[position...].prefix(Layout.envelopeSize)), at: at)
            guard envelope.type == .signature, envelope.bodyLength == UInt64(bodyLength),
                region.count - position >= recordLength
            else {
                throw ImagePackError(.malformedField, "the signature region holds a \(envelope.type) record of \(envelope.bodyLength) bytes; only 104-byte SIGN records belong there", rule: .v44, offset: at, field: "type")
            }
            let record = Array(region[position..<position + recordLength])
            let body = try checkStructuralRecord(record, at: at, rule: .v44, code: .recordChecksumMismatch)
            var c = ByteCursor(body, base: at + UInt64(Layout.envelopeSize), context: "signature")
            let algorithm = try c.u16("algorithm")
            guard algorithm == ed25519 else {
                throw ImagePackError(.malformedField, "signature algorithm \(algorithm) is unknown (1 = Ed25519)", rule: .v44, offset: at + 16, field: "algorithm")
            }
            try c.reserved(2, "reserved")
            let keyID = try c.digest("keyID")
            let signature = Array(try c.take(64, "signature"))
            if let first = seen[keyID] {
                // Two signatures by one key say nothing more than one; a second one is either a
                // tool's mistake or a region spliced together, and readers must not disagree on
                // which of the two counts.
                throw ImagePackError(.malformedField, "the SIGN records at \(first) and \(at) are both by key \(keyID); a key signs an image once", rule: .v47, offset: at + 20, field: "keyID")
            }
            seen[keyID] = at
            signatures.append(ImageSignature(keyID: keyID, signature: signature, recordOffset: at))
            position += record.count
        }
        return signatures
    }
}
