/// The rules of a `reference` chunk (spec §7.2): its payload names an earlier record by file
/// offset, and the content is that record's. Every reader checks the same rules in the same order
/// (V26 for the payload, then V34 and V60 for the target), so they agree on which rule an image breaks.
extension ChunkHeader {
    /// What a reader knows about the record at a reference's target offset.
    struct ReferenceTarget {
        var kind: ChunkKind
        var logicalLength: UInt32
        var contentDigest: Digest
    }

    /// The target offset a reference chunk's 8-byte payload holds, once the payload's CRC is
    /// checked (V26). `payloadOffset` is the payload's file offset, for errors.
    func referenceTargetOffset(payload: UnsafeRawBufferPointer, payloadOffset: UInt64) throws(ImagePackError) -> UInt64 {
        precondition(kind == .reference && payload.count == 8, "a reference payload is 8 bytes (V22 is checked first)")
        guard CRC32C.checksum(payload) == payloadCRC else {
            throw ImagePackError(.chunkChecksumMismatch, "stored bytes of the reference chunk do not match their CRC-32C: the target offset is damaged", rule: .v26, offset: payloadOffset, field: "payload")
        }
        return UInt64(littleEndian: payload.loadUnaligned(as: UInt64.self))
    }

    /// Checks that the reference chunk whose record is at `offset` may take its content from the
    /// record at `target` (spec §7.2 (a)-(d), V34; distance, V60).
    /// - Parameter found: the CHNK record at `target`, nil when no chunk record the reader knows
    ///   (the index lists, or a streaming reader has seen within the window) starts there.
    /// - Throws: `.referenceInvalid` naming the rule, at the payload's offset (where the target is stored).
    func checkReference(at offset: UInt64, target: UInt64, found: ReferenceTarget?, limits: ImageLimits) throws(ImagePackError) {
        let at = offset + UInt64(Layout.chunkPrefixSize)
        guard target < offset else {
            let what = target == offset ? "at itself" : "forward, to \(target)"
            throw ImagePackError(.referenceInvalid, "the reference chunk at \(offset) points \(what): a target must come earlier in the file, so that a streaming reader has already read it", rule: .v34, offset: at, field: "target")
        }
        guard offset - target <= limits.maxReferenceDistance else {
            throw ImagePackError(.referenceInvalid, "the reference chunk at \(offset) points \(offset - target) bytes back, to \(target), farther than the limit of \(limits.maxReferenceDistance) (ImageLimits.maxReferenceDistance) within which a streaming reader keeps what it read", rule: .v60, offset: at, field: "target")
        }
        guard let found else {
            throw ImagePackError(.referenceInvalid, "the reference chunk at \(offset) points at \(target), where no chunk record of the index starts", rule: .v34, offset: at, field: "target")
        }
        guard found.kind == .data || found.kind == .fill else {
            throw ImagePackError(.referenceInvalid, "the reference chunk at \(offset) points at a \(found.kind) chunk at \(target); a target is a data or fill chunk, so references never chain", rule: .v34, offset: at, field: "target")
        }
        guard found.logicalLength == logicalLength, found.contentDigest == contentDigest else {
            let what = found.logicalLength != logicalLength ? "\(found.logicalLength) bytes long, not \(logicalLength)" : "of a different content digest"
            throw ImagePackError(.referenceInvalid, "the reference chunk at \(offset) points at the chunk at \(target), which is \(what): a target holds the same content", rule: .v34, offset: at, field: "target")
        }
    }
}
