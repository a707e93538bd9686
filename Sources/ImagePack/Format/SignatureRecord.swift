/// SIGN records (spec §9.2): reserved in v1 writers, but readers check their structure (rule V44)
/// so that a damaged or forged signature region is never silently accepted.
enum SignatureRecords {
    static let bodyLength = 104
    static let ed25519: UInt16 = 1

    /// Checks that `region` (found at `offset`) is a sequence of well-formed SIGN records.
    static func checkRegion(_ region: [UInt8], at offset: UInt64) throws(ImagePackError) {
        var position = 0
        while position < region.count {
            let at = offset + UInt64(position)
            let envelope = try RecordEnvelope.decode(Array(region[position...].prefix(Layout.envelopeSize)), at: at)
            guard envelope.type == .signature, envelope.bodyLength == UInt64(bodyLength),
                region.count - position >= Layout.envelopeSize + bodyLength
            else {
                throw ImagePackError(.malformedField, "the signature region holds a \(envelope.type) record of \(envelope.bodyLength) bytes; only 104-byte SIGN records belong there", rule: .v44, offset: at, field: "type")
            }
            let record = Array(region[position..<position + Layout.envelopeSize + bodyLength])
            let body = try checkStructuralRecord(record, at: at, rule: .v44, code: .recordChecksumMismatch)
            var c = ByteCursor(body, base: at + UInt64(Layout.envelopeSize), context: "signature")
            let algorithm = try c.u16("algorithm")
            guard algorithm == ed25519 else {
                throw ImagePackError(.malformedField, "signature algorithm \(algorithm) is unknown (1 = Ed25519)", rule: .v44, offset: at + 16, field: "algorithm")
            }
            try c.reserved(2, "reserved")
            position += record.count
        }
    }
}
