/// The index checks every reader shares: loading the INDX record (V30-V31), where each entry sits
/// in the file, and the root digest against the footer (V43).
extension ImageIndex {
    /// File offset of index entry `i` of the INDX record at `indexOffset` (spec §8.2).
    static func entryOffset(_ i: Int, indexOffset: UInt64) -> UInt64 {
        indexOffset + UInt64(Layout.envelopeSize + Layout.indexFixedSize + i * Layout.indexEntrySize)
    }

    /// Checks, before anything is read or allocated, that an INDX record of `recordLength` bytes
    /// at `offset` lies within what 0 ... `limits.maxChunks` entries need (V30).
    static func checkRecordLength(_ recordLength: UInt64, at offset: UInt64, limits: ImageLimits) throws(ImagePackError) {
        guard recordLength <= UInt64(Layout.envelopeSize + limits.maxIndexBody),
            recordLength >= UInt64(Layout.envelopeSize + Layout.indexFixedSize + 4)
        else {
            throw ImagePackError(.limitExceeded, "the index is \(recordLength) bytes, outside what 0...\(limits.maxChunks) chunks need", rule: .v30, offset: offset, field: "indexLength")
        }
    }

    /// Checks and decodes the whole INDX record `record` found at `offset`: its envelope names the
    /// index and its length (V30), its CRC (V30), then every entry (V30-V31).
    /// - Important: call ``checkRecordLength(_:at:limits:)`` before reading the record.
    static func load(_ record: [UInt8], at offset: UInt64, limits: ImageLimits) throws(ImagePackError) -> ImageIndex {
        let envelope = try RecordEnvelope.decode(record, at: offset)
        guard envelope.type == .index, envelope.bodyLength == UInt64(record.count - Layout.envelopeSize) else {
            throw ImagePackError(.unexpectedRecord, "expected the INDX record at \(offset), found \(envelope.type) of \(envelope.bodyLength) bytes", rule: .v30, offset: offset, field: "type")
        }
        // The CRC is checked in place rather than with checkStructuralRecord, which returns a copy
        // of the body: the entries stay in `record`, so a 268 MB index costs 268 MB, not twice that.
        guard record.count >= Layout.envelopeSize + 4 else {
            throw ImagePackError(.truncated, "record too short to hold its checksum", rule: .v30, offset: offset)
        }
        let end = record.count - 4
        let stored = UInt32(record[end]) | UInt32(record[end + 1]) << 8 | UInt32(record[end + 2]) << 16 | UInt32(record[end + 3]) << 24
        guard stored == record.withUnsafeBytes({ CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }) else {
            throw ImagePackError(.indexChecksumMismatch, "INDX record checksum does not match: the record is damaged", rule: .v30, offset: offset + UInt64(end), field: "recordCRC")
        }
        return try decode(record, bodyStart: Layout.envelopeSize, bodyLength: end - Layout.envelopeSize, at: offset + UInt64(Layout.envelopeSize), limits: limits)
    }

    /// Recomputes the root digest and checks it against the footer at `footerOffset` (V43).
    /// - Returns: the root digest, which identifies the image.
    func checkRoot(against footer: FileFooter, footerOffset: UInt64) throws(ImagePackError) -> Digest {
        let root = rootDigest()
        guard root == footer.rootDigest else {
            throw ImagePackError(.rootDigestMismatch, "the root digest recomputed from the index (\(root)) is not the one in the footer (\(footer.rootDigest))", rule: .v43, offset: footerOffset + 40, field: "rootDigest")
        }
        return root
    }
}

extension ChunkKind {
    /// The header feature a chunk of this kind needs (V36), nil for kinds every image may hold.
    var requiredFeature: FeatureFlags? {
        switch self {
        case .parent: .parent
        case .reference: .references
        case .data, .fill, .zero: nil
        }
    }

    /// Checks that the image's critical `features` allow a chunk of this kind (V36).
    /// - Parameters:
    ///   - offset: where the kind is stored (chunk header or index entry).
    ///   - chunk: the chunk's index entry number, when known.
    func checkFeature(_ features: FeatureFlags, at offset: UInt64, chunk: Int? = nil) throws(ImagePackError) {
        guard let feature = requiredFeature, !features.contains(feature) else { return }
        throw ImagePackError(.unknownCriticalFeature, "a \(self) chunk needs the header's \(self == .parent ? "parent" : "references") feature flag, which this image does not set", rule: .v36, offset: offset, chunk: chunk, field: "kind")
    }
}

extension Codec {
    /// Checks that the image's critical `features` allow a chunk of this codec (V36): `zstd-patch`
    /// decodes against the parent, so only a delta may hold it.
    func checkFeature(_ features: FeatureFlags, at offset: UInt64, chunk: Int? = nil) throws(ImagePackError) {
        guard self == .zstdPatch, !features.contains(.parent) else { return }
        throw ImagePackError(.unknownCriticalFeature, "a zstd-patch chunk decodes against the parent image, but this image does not set the header's parent feature flag", rule: .v36, offset: offset, chunk: chunk, field: "codec")
    }
}

extension ChunkHeader {
    /// Checks that the CHNK record at `offset` names a stream of `streams` and ends inside it (V23),
    /// and that the image's `features` allow its kind (V36): what a chunk record must satisfy
    /// before its payload is worth decoding.
    /// - Parameter streams: the stream table; nil when it is unreadable (only V36 is checked).
    func checkPlacement(in streams: [StreamInfo]?, features: FeatureFlags, at offset: UInt64) throws(ImagePackError) {
        if let streams {
            guard Int(stream) < streams.count else {
                throw ImagePackError(.chunkLayoutInvalid, "chunk names stream \(stream) but the image has \(streams.count)", rule: .v23, offset: offset + 20, field: "stream")
            }
            let info = streams[Int(stream)]
            let (end, overflow) = logicalOffset.addingReportingOverflow(UInt64(logicalLength))
            guard !overflow, end <= info.logicalSize else {
                throw ImagePackError(.chunkLayoutInvalid, "chunk ends past the end of stream \"\(info.name)\" (\(info.logicalSize) bytes)", rule: .v23, offset: offset + 24, stream: info.name, field: "logicalOffset")
            }
        }
        try kind.checkFeature(features, at: offset + 16)
        try codec.checkFeature(features, at: offset + 17)
    }
}
