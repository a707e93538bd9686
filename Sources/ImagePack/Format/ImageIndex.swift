/// One row of the index (spec §8.2): where a chunk's content lives and what it hashes to.
public struct ChunkEntry: Sendable, Hashable {
    public var kind: ChunkKind
    public var codec: Codec
    public var stream: UInt32
    public var logicalOffset: UInt64
    public var logicalLength: UInt32
    package var payloadLength: UInt32
    /// File offset of the chunk's CHNK record; 0 for zero chunks, the only kind without a record.
    package var recordOffset: UInt64
    /// SHA-256 of the chunk's logical content (for zero chunks, of that many zero bytes).
    package var contentDigest: Digest

    package var logicalEnd: UInt64 { logicalOffset + UInt64(logicalLength) }
    /// Bytes the chunk occupies in the file (record prefix plus payload), 0 if it has no record.
    package var storedSize: UInt64 {
        kind == .zero ? 0 : UInt64(Layout.chunkPrefixSize) + UInt64(payloadLength)
    }

    init(header: ChunkHeader, recordOffset: UInt64) {
        kind = header.kind
        codec = header.codec
        stream = header.stream
        logicalOffset = header.logicalOffset
        logicalLength = header.logicalLength
        payloadLength = header.payloadLength
        self.recordOffset = recordOffset
        contentDigest = header.contentDigest
    }

    init(zeroIn stream: UInt32, offset: UInt64, length: UInt32, digest: Digest) {
        kind = .zero
        codec = .stored
        self.stream = stream
        logicalOffset = offset
        logicalLength = length
        payloadLength = 0
        recordOffset = 0
        contentDigest = digest
    }

    /// Appends the entry's 64-byte index form (spec §8.2).
    func encode(into w: inout ByteWriter) {
        w.u8(kind.rawValue)
        w.u8(codec.rawValue)
        w.u16(0)
        w.u32(stream)
        w.u64(logicalOffset)
        w.u32(logicalLength)
        w.u32(payloadLength)
        w.u64(recordOffset)
        w.digest(contentDigest)
    }

    /// 128 bits of the SHA-256 of the entry's index form: what the streaming reader keeps of each
    /// chunk record to compare with the index at the end (16 bytes instead of the entry's 80, and
    /// a forged match would need a SHA-256 collision on 128 bits).
    var fingerprint: Fingerprint {
        var w = ByteWriter(capacity: Layout.indexEntrySize)
        encode(into: &w)
        let d = Digest.sha256(w.bytes)
        return Fingerprint(high: d.words.0, low: d.words.1)
    }

    struct Fingerprint: Hashable, Sendable {
        var high: UInt64
        var low: UInt64
    }

    /// Whether the CHNK record's header says the same as this entry (rule V34).
    func matches(_ h: ChunkHeader) -> Bool {
        h.kind == kind && h.codec == codec && h.stream == stream && h.logicalOffset == logicalOffset
            && h.logicalLength == logicalLength && h.payloadLength == payloadLength && h.contentDigest == contentDigest
    }
}

/// The INDX record (spec §8): the manifest of every chunk, and the digests the root is made from.
struct ImageIndex: Equatable {
    var metadataDigest: Digest
    var streamTableDigest: Digest
    /// Root digest of the parent image; `.zero` when the image stands alone.
    var parentDigest: Digest = .zero
    /// Held in their 64-byte index form (see ``ChunkEntries``).
    var entries: ChunkEntries

    init(metadataDigest: Digest, streamTableDigest: Digest, parentDigest: Digest = .zero, entries: ChunkEntries) {
        self.metadataDigest = metadataDigest
        self.streamTableDigest = streamTableDigest
        self.parentDigest = parentDigest
        self.entries = entries
    }

    init(metadataDigest: Digest, streamTableDigest: Digest, parentDigest: Digest = .zero, entries: [ChunkEntry]) {
        self.init(metadataDigest: metadataDigest, streamTableDigest: streamTableDigest, parentDigest: parentDigest, entries: ChunkEntries(entries))
    }

    func encodeBody() -> [UInt8] {
        var w = ByteWriter(capacity: Layout.indexFixedSize + entries.count * Layout.indexEntrySize)
        w.u32(UInt32(entries.count))
        w.u32(0)
        w.digest(metadataDigest)
        w.digest(streamTableDigest)
        w.digest(parentDigest)
        w.zeros(8)
        entries.withIndexForm { w.append($0) }
        return w.bytes
    }

    /// Parses an INDX body (without CRC) found at file offset `offset` (rules V30-V31).
    static func decodeBody(_ body: [UInt8], at offset: UInt64, limits: ImageLimits) throws(ImagePackError) -> ImageIndex {
        try decode(body, bodyStart: 0, bodyLength: body.count, at: offset, limits: limits)
    }

    /// Parses the INDX body that lies in `bytes` at `bodyStart` (`bodyLength` bytes, without CRC)
    /// and at file offset `offset` (rules V30-V31). The entries stay in `bytes`, which the index
    /// keeps instead of copying them out (see ``ChunkEntries``).
    static func decode(_ bytes: [UInt8], bodyStart: Int, bodyLength: Int, at offset: UInt64, limits: ImageLimits) throws(ImagePackError) -> ImageIndex {
        var c = ByteCursor(bytes, base: offset - UInt64(bodyStart), context: "index")
        _ = try c.take(bodyStart, "envelope")
        let count = Int(try c.u32("chunkCount"))
        guard count <= limits.maxChunks else {
            throw ImagePackError(.limitExceeded, "the index lists \(count) chunks, more than the limit \(limits.maxChunks)", rule: .v30, offset: offset, field: "chunkCount")
        }
        guard bodyLength == Layout.indexFixedSize + count * Layout.indexEntrySize, bytes.count - bodyStart >= bodyLength else {
            throw ImagePackError(.malformedField, "the index lists \(count) chunks but its body is \(bodyLength) bytes", rule: .v30, offset: offset, field: "chunkCount")
        }
        try c.reserved(4, "reserved")
        let metadataDigest = try c.digest("metadataDigest")
        let streamTableDigest = try c.digest("streamTableDigest")
        let parentDigest = try c.digest("parentDigest")
        try c.reserved(8, "reserved")
        for i in 0..<count {
            c.context = "index entry \(i)"
            let at = c.offset
            let kindRaw = try c.u8("kind")
            guard let kind = ChunkKind(rawValue: kindRaw) else {
                throw ImagePackError(.unknownChunkKind, "chunk kind \(kindRaw) is unknown", rule: .v31, offset: at, chunk: i, field: "kind")
            }
            let codecRaw = try c.u8("codec")
            guard let codec = Codec(rawValue: codecRaw) else {
                throw ImagePackError(.unknownCodec, "codec \(codecRaw) is unknown", rule: .v31, offset: at + 1, chunk: i, field: "codec")
            }
            try c.reserved(2, "flags")
            let header = ChunkHeader(
                kind: kind, codec: codec, stream: try c.u32("stream"), logicalOffset: try c.u64("logicalOffset"),
                logicalLength: try c.u32("logicalLength"), payloadLength: try c.u32("payloadLength"), payloadCRC: 0,
                contentDigest: .zero)
            _ = try c.take(8 + Digest.byteCount, "recordOffset")
            do throws(ImagePackError) { try header.checkShape(at: at, limits: limits) } catch {
                throw error.citing(.v31).enriched(chunk: i)
            }
        }
        return ImageIndex(
            metadataDigest: metadataDigest, streamTableDigest: streamTableDigest, parentDigest: parentDigest,
            entries: ChunkEntries(storage: bytes, start: bodyStart + Layout.indexFixedSize, count: count))
    }

    /// Checks that the chunks tile every stream exactly and that their records lie, in order and
    /// without overlap, inside the data area `dataStart ..< dataEnd` (rules V32-V33).
    /// `features` are the header's critical features: `parent` chunks (which have records, with an
    /// empty payload) are allowed only with feature `parent` (V36); `reference` chunks are refused,
    /// as the readers do not resolve them.
    func checkLayout(streams: [StreamInfo], features: FeatureFlags, dataStart: UInt64, dataEnd: UInt64, indexOffset: UInt64) throws(ImagePackError) {
        var streamIndex = 0
        var expectedOffset: UInt64 = 0
        var lastRecordEnd = dataStart
        func entryOffset(_ i: Int) -> UInt64 { Self.entryOffset(i, indexOffset: indexOffset) }
        for (i, e) in entries.enumerated() {
            // Skip streams that are complete (empty streams have no chunks).
            while streamIndex < streams.count && expectedOffset == streams[streamIndex].logicalSize && Int(e.stream) != streamIndex {
                streamIndex += 1
                expectedOffset = 0
            }
            guard streamIndex < streams.count, Int(e.stream) == streamIndex else {
                throw ImagePackError(.chunkLayoutInvalid, "chunk belongs to stream \(e.stream) but stream \(streamIndex) is not yet complete or the stream does not exist; chunks must be sorted by stream and cover each one exactly once", rule: .v32, offset: entryOffset(i), chunk: i, stream: "\(e.stream)", field: "stream")
            }
            guard e.logicalOffset == expectedOffset else {
                let what = e.logicalOffset < expectedOffset ? "overlaps the previous chunk" : "leaves a gap after the previous chunk"
                throw ImagePackError(.chunkLayoutInvalid, "chunk at logical offset \(e.logicalOffset) \(what) (expected \(expectedOffset))", rule: .v32, offset: entryOffset(i), chunk: i, stream: streams[streamIndex].name, field: "logicalOffset")
            }
            let (end, overflow) = e.logicalOffset.addingReportingOverflow(UInt64(e.logicalLength))
            guard !overflow, end <= streams[streamIndex].logicalSize else {
                throw ImagePackError(.chunkLayoutInvalid, "chunk ends past the end of its stream (\(streams[streamIndex].logicalSize) bytes)", rule: .v32, offset: entryOffset(i), chunk: i, stream: streams[streamIndex].name, field: "logicalLength")
            }
            expectedOffset = end
            switch e.kind {
            case .data, .fill, .parent, .reference:
                try e.kind.checkFeature(features, at: entryOffset(i), chunk: i)
                try e.codec.checkFeature(features, at: entryOffset(i) + 1, chunk: i)
                guard e.recordOffset >= lastRecordEnd else {
                    throw ImagePackError(.chunkLayoutInvalid, "chunk record at \(e.recordOffset) lies before the data area or overlaps the previous chunk's record (which ends at \(lastRecordEnd))", rule: .v33, offset: entryOffset(i), chunk: i, field: "recordOffset")
                }
                let (recordEnd, overflow2) = e.recordOffset.addingReportingOverflow(e.storedSize)
                guard !overflow2, recordEnd <= dataEnd else {
                    throw ImagePackError(.chunkLayoutInvalid, "chunk record at \(e.recordOffset) extends past the data area (ends at \(dataEnd))", rule: .v33, offset: entryOffset(i), chunk: i, field: "recordOffset")
                }
                lastRecordEnd = recordEnd
            case .zero:
                guard e.recordOffset == 0 else {
                    throw ImagePackError(.chunkLayoutInvalid, "a zero chunk has no record, so its record offset must be 0", rule: .v33, offset: entryOffset(i), chunk: i, field: "recordOffset")
                }
            }
        }
        // Any streams left must be complete (or empty).
        while streamIndex < streams.count {
            guard expectedOffset == streams[streamIndex].logicalSize else {
                throw ImagePackError(.chunkLayoutInvalid, "stream \"\(streams[streamIndex].name)\" is covered only up to \(expectedOffset) of \(streams[streamIndex].logicalSize) bytes", rule: .v32, offset: indexOffset, stream: streams[streamIndex].name)
            }
            streamIndex += 1
            expectedOffset = 0
        }
    }

    /// Checks what the index records about other parts of the image: the META and STRM digests
    /// (V35), every zero chunk's digest (V28) and the parent reference (V45). Returns every problem,
    /// so the validator can report them all and the readers can throw the first.
    /// - Parameters:
    ///   - metadataJSON, streamTableBody: the records as read; nil when unreadable (not checked).
    ///   - parentRecordDigest: the PRNT record's digest, when there is one.
    func crossCheck(
        metadataJSON: [UInt8]?, streamTableBody: [UInt8]?, parentFeature: Bool, parentRecordDigest: Digest?, indexOffset: UInt64
    ) -> [ImagePackError] {
        var problems: [ImagePackError] = []
        if let metadataJSON, Digest.sha256(metadataJSON) != metadataDigest {
            problems.append(ImagePackError(.indexMismatch, "the metadata does not match the digest the index records for it", rule: .v35, offset: indexOffset + 24, field: "metadataDigest"))
        }
        if let streamTableBody, Digest.sha256(streamTableBody) != streamTableDigest {
            problems.append(ImagePackError(.indexMismatch, "the stream table does not match the digest the index records for it", rule: .v35, offset: indexOffset + 56, field: "streamTableDigest"))
        }
        let zeroDigests = ZeroDigests.digests(forLengths: entries.lazy.filter { $0.kind == .zero }.map(\.logicalLength))
        for (i, e) in entries.enumerated() where e.kind == .zero && e.contentDigest != zeroDigests[e.logicalLength] {
            let at = Self.entryOffset(i, indexOffset: indexOffset) + 32
            problems.append(ImagePackError(.chunkHashMismatch, "a zero chunk's digest is not the SHA-256 of \(e.logicalLength) zero bytes", rule: .v28, offset: at, chunk: i, field: "contentDigest"))
        }
        if parentFeature {
            if parentDigest == .zero {
                problems.append(ImagePackError(.malformedField, "the header sets the 'parent' feature but the index names no parent image", rule: .v45, offset: indexOffset + 88, field: "parentDigest"))
            } else if let parentRecordDigest, parentRecordDigest != parentDigest {
                problems.append(ImagePackError(.malformedField, "the PRNT record and the index name different parent images", rule: .v45, offset: indexOffset + 88, field: "parentDigest"))
            }
        } else if parentDigest != .zero {
            problems.append(ImagePackError(.malformedField, "the index names a parent image but the header does not set the 'parent' feature", rule: .v45, offset: indexOffset + 88, field: "parentDigest"))
        }
        return problems
    }

    /// The image's identity (spec §8.3): covers metadata, streams and every chunk's content, but
    /// not codecs, file positions or the parent, so recompressing an image keeps its root digest
    /// and a delta has the root digest of the full image of the same state (format 1.1): the
    /// digest says what a launched instance sees, not how it is stored. The parent slot of the
    /// input is kept, always zero, so that images without a parent keep their 1.0 digests.
    func rootDigest() -> Digest {
        var b = DigestBuilder()
        b.update(Layout.rootDomain)
        b.update(metadataDigest)
        b.update(streamTableDigest)
        b.update(Digest.zero)
        b.update(UInt64(entries.count))
        for e in entries {
            b.update(e.stream)
            b.update(e.logicalOffset)
            b.update(e.logicalLength)
            b.update(e.contentDigest)
        }
        return b.finalize()
    }
}
