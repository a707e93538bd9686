/// What a record found in the data area is (spec §4.3): the data area runs from the end of STRM
/// (or PRNT) to the INDX record and holds chunk records and, anywhere among them, optional
/// records of types this version does not define.
enum DataAreaRecord: Equatable {
    /// A CHNK record.
    case chunk
    /// An INDX record: the end of the data area for a reader that has not located the index.
    case index
    /// An optional record of an unknown type: readers skip it; it is not covered by the root digest.
    case skipped
}

extension RecordEnvelope {
    /// Says what this envelope, found at `offset` inside the data area, is; one decision for the
    /// streaming reader, `verify` and the validator, so that each refuses the same record with the
    /// same rule.
    /// - Throws: V8 for a META, STRM, PRNT or SIGN record (they have places of their own), V7 for
    ///   a record of unknown type with the critical bit set.
    func placeInDataArea(at offset: UInt64) throws(ImagePackError) -> DataAreaRecord {
        switch type {
        case .chunk:
            return .chunk
        case .index:
            return .index
        case .metadata, .streams, .parent, .signature:
            throw ImagePackError(
                .unexpectedRecord,
                "a \(type) record at \(offset) is out of place: between the stream table and the index only chunk records and optional records of unknown type may stand",
                rule: .v8, offset: offset, field: "type")
        default:
            guard !critical else {
                throw ImagePackError(
                    .unknownRecordType, "record type \(type) at \(offset) is critical and unknown to this reader; use a newer imgpack",
                    rule: .v7, offset: offset, field: "type")
            }
            return .skipped
        }
    }
}

enum DataArea {
    /// An INDX record inside the data area, before the one the footer locates (V8).
    static func secondIndex(at offset: UInt64) -> ImagePackError {
        ImagePackError(
            .unexpectedRecord, "a second INDX record at \(offset), inside the data area: the footer locates the index after it",
            rule: .v8, offset: offset, field: "type")
    }

    /// Checks that the bytes from `start` to `end` of a seekable image, between two records the
    /// index lists (or the data area's bounds), are only optional records of unknown type, each
    /// whole: what `verify` does for the parts of the data area that no index entry covers, so
    /// that it refuses what the validator and the streaming reader refuse.
    /// - Parameters:
    ///   - endsAtListedRecord: the index entry whose record starts at `end`, if any: a record that
    ///     runs past it hides that record (V34); past the end of the data area it breaks V10.
    ///   - readEnvelope: reads the 16 bytes at an offset.
    /// - Returns: the first problem, or nil.
    static func checkGap(
        from start: UInt64, to end: UInt64, endsAtListedRecord: Int?,
        readEnvelope: (UInt64) throws(ImagePackError) -> [UInt8]
    ) -> ImagePackError? {
        var position = start
        while position < end {
            guard end - position >= UInt64(Layout.envelopeSize) else {
                return ImagePackError(
                    .chunkLayoutInvalid,
                    "the \(end - position) bytes from \(position) to \(end) are not a record: the data area must be exactly the listed chunk records and optional records",
                    rule: .v34, offset: position)
            }
            do throws(ImagePackError) {
                let envelope = try RecordEnvelope.decode(try readEnvelope(position), at: position)
                switch try envelope.placeInDataArea(at: position) {
                case .chunk:
                    return ImagePackError(
                        .indexMismatch, "the data area holds a chunk record at \(position) that the index does not list",
                        rule: .v34, offset: position)
                case .index:
                    return secondIndex(at: position)
                case .skipped:
                    let room = end - position - UInt64(Layout.envelopeSize)
                    guard envelope.bodyLength <= room else {
                        if let entry = endsAtListedRecord {
                            return ImagePackError(
                                .indexMismatch,
                                "index entry \(entry) locates a chunk record at \(end), but no record starts there: the \(envelope.type) record at \(position) covers it",
                                rule: .v34, offset: end, chunk: entry, field: "recordOffset")
                        }
                        return ImagePackError(
                            .limitExceeded, "\(envelope.type) record at \(position) claims \(envelope.bodyLength) bytes, past the end of the data area (\(end))",
                            rule: .v10, offset: position + 8, field: "bodyLength")
                    }
                    position += UInt64(Layout.envelopeSize) + envelope.bodyLength
                }
            } catch {
                return error
            }
        }
        return nil
    }
}
