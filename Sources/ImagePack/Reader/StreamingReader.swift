/// What a streaming read hands to its consumer, in file order.
public enum StreamingEvent {
    /// The image's metadata and stream table, before any content.
    case begin(metadata: ImageMetadata, streams: [StreamInfo])
    /// Verified content of stream `stream` at `offset`. The buffer is valid only during the call.
    case data(stream: Int, offset: UInt64, bytes: UnsafeRawBufferPointer)
    /// `length` zero bytes of stream `stream` at `offset` (zero chunks; a file consumer leaves a hole).
    case zero(stream: Int, offset: UInt64, length: UInt64)
}

/// What a completed streaming read established.
public struct StreamingSummary: Sendable {
    public var metadata: ImageMetadata
    public var streams: [StreamInfo]
    public var rootDigest: Digest
    public var chunkCount: Int
    public var fileLength: UInt64
}

/// Reads an image front to back from any source, pipes included, verifying every chunk as it
/// goes and the index and root digest at the end (spec §12.1).
///
/// Errors name a chunk by its index entry number, as ``ImageReader`` does. A sequential reader
/// learns that number only from the index, at the end (zero chunks have entries but no record,
/// and a run of zeros may be any number of entries), so when a chunk fails to decode the reader
/// stops handing out events, reads on to the index without decoding anything, and numbers the
/// failure by the entry that locates its record. If the index cannot be reached or read, the
/// error keeps no chunk number; its offset still names the record.
///
/// - Important: events arrive before the end of the image is seen. Only when ``read(_:)``
///   returns is the whole image verified; if it throws, discard what the events produced
///   (``extract(into:overwrite:)`` does that for files).
public final class StreamingReader {
    let input: SequentialInput
    public let options: ReadOptions
    var limits: ImageLimits { options.limits }

    package init(file: ReadableFile, options: ReadOptions = .init()) {
        input = SequentialInput(file: file)
        self.options = options
    }

    /// Opens `path` ("-" for standard input) for a streaming read.
    public convenience init(path: String, options: ReadOptions = .init()) throws(ImagePackError) {
        self.init(file: try ReadableFile(path: path), options: options)
    }

    /// A chunk read from the input, waiting to be decoded by a worker.
    final class Slot: @unchecked Sendable {
        var header: ChunkHeader?
        var recordOffset: UInt64 = 0
        let payload = ChunkBuffer()
        var payloadLength = 0
        let output = ChunkBuffer()
        let decoder = PayloadDecoder()
        var error: ImagePackError?
    }

    /// Runs the read, calling `handler` for each event in order.
    /// - Throws: the error `handler` throws, unchanged (the read stops there); otherwise an
    ///   ``ImagePackError`` naming the first rule the image breaks.
    @discardableResult
    public func read<E: Error>(_ handler: (StreamingEvent) throws(E) -> Void) throws -> StreamingSummary {
        // The pipeline speaks ImagePackError: a handler's own error is kept aside and the run is
        // stopped with a stand-in, then the handler's error is thrown in its place.
        var handlerError: E?
        do throws(ImagePackError) {
            return try run { (event) throws(ImagePackError) in
                do throws(E) { try handler(event) } catch {
                    handlerError = error
                    throw ImagePackError(.cancelled, "the consumer of the streaming read stopped it")
                }
            }
        } catch {
            if let handlerError { throw handlerError }
            throw error.at(path: input.file.path)
        }
    }

    private func readRecordBody(_ envelope: RecordEnvelope, at offset: UInt64, maxBody: Int, rule: Rule, code: ImagePackError.Code) throws(ImagePackError) -> [UInt8] {
        guard envelope.bodyLength >= 4, envelope.bodyLength <= UInt64(maxBody) else {
            throw ImagePackError(.limitExceeded, "\(envelope.type) record claims \(envelope.bodyLength) bytes, over the limit of \(maxBody)", rule: .v10, offset: offset + 8, field: "bodyLength")
        }
        return try checkStructuralRecord(try readRecord(envelope), at: offset, rule: rule, code: code)
    }

    /// The whole record whose envelope was just read: envelope and body.
    private func readRecord(_ envelope: RecordEnvelope) throws(ImagePackError) -> [UInt8] {
        var w = ByteWriter(capacity: Layout.envelopeSize + Int(envelope.bodyLength))
        envelope.encode(into: &w)
        w.append(try input.read(count: Int(envelope.bodyLength), what: "the \(envelope.type) record"))
        return w.bytes
    }

    /// Reads the INDX record whose envelope was just read at `offset` (V30-V31).
    private func readIndex(_ envelope: RecordEnvelope, at offset: UInt64) throws(ImagePackError) -> ImageIndex {
        let (length, overflow) = UInt64(Layout.envelopeSize).addingReportingOverflow(envelope.bodyLength)
        try ImageIndex.checkRecordLength(overflow ? .max : length, at: offset, limits: limits)
        return try ImageIndex.load(try readRecord(envelope), at: offset, limits: limits)
    }

    private func nextEnvelope() throws(ImagePackError) -> (RecordEnvelope, UInt64) {
        let at = input.position
        let bytes = try input.read(count: Layout.envelopeSize, what: "a record header")
        return (try RecordEnvelope.decode(bytes, at: at), at)
    }

    /// The index entry number of the chunk record at `recordOffset`, found by reading on, without
    /// decoding, to the index; nil when the index cannot be reached or read, or does not list it.
    /// - Parameter pending: an envelope already read from the input, if any.
    private func entryNumber(ofRecordAt recordOffset: UInt64, pending: (RecordEnvelope, UInt64)?) -> Int? {
        do throws(ImagePackError) {
            var (envelope, at): (RecordEnvelope, UInt64)
            if let pending { (envelope, at) = pending } else { (envelope, at) = try nextEnvelope() }
            while envelope.type != .index {
                try input.skip(envelope.bodyLength, what: "a \(envelope.type) record")
                (envelope, at) = try nextEnvelope()
            }
            let index = try readIndex(envelope, at: at)
            return index.entries.firstIndex { $0.kind != .zero && $0.recordOffset == recordOffset }
        } catch {
            return nil
        }
    }

    private func run(_ handler: (StreamingEvent) throws(ImagePackError) -> Void) throws(ImagePackError) -> StreamingSummary {
        let header = try FileHeader.decode(try input.read(count: Layout.headerSize, what: "the header"))
        try header.checkSupported()
        // Metadata, then the stream table (rule V8).
        var (envelope, at) = try nextEnvelope()
        guard envelope.type == .metadata else {
            throw ImagePackError(.unexpectedRecord, "expected the META record after the header, found \(envelope.type)", rule: .v8, offset: at, field: "type")
        }
        let metaBody = try readRecordBody(envelope, at: at, maxBody: limits.maxMetadataSize + 12, rule: .v11, code: .metadataChecksumMismatch)
        let (metadata, json) = try MetadataRecord.decodeBody(metaBody, at: at + UInt64(Layout.envelopeSize), limits: limits)
        (envelope, at) = try nextEnvelope()
        guard envelope.type == .streams else {
            throw ImagePackError(.unexpectedRecord, "expected the STRM record after META, found \(envelope.type)", rule: .v8, offset: at, field: "type")
        }
        let streamBody = try readRecordBody(envelope, at: at, maxBody: limits.maxStreamTableBody, rule: .v13, code: .recordChecksumMismatch)
        let streams = try StreamTable.decodeBody(streamBody, at: at + UInt64(Layout.envelopeSize), limits: limits)
        // A delta names its parent right after the stream table (spec §9.3); the parent images
        // come from the caller, matched by root digest, before any content is read.
        var parentDigest: Digest?
        var parents = ParentChain.none
        if header.critical.contains(.parent) {
            (envelope, at) = try nextEnvelope()
            guard envelope.type == .parent else {
                throw ImagePackError(.unexpectedRecord, "the header sets the 'parent' feature but the record after STRM is \(envelope.type), not PRNT", rule: .v45, offset: at, field: "type")
            }
            let body = try readRecordBody(envelope, at: at, maxBody: ParentRecord.bodyLength, rule: .v45, code: .recordChecksumMismatch)
            parentDigest = try ParentRecord.decodeBody(body, at: at + UInt64(Layout.envelopeSize))
            parents = try ParentChain.resolve(parentDigest, from: options.parents, limits: limits)
            if let unresolved = parents.unresolved { throw unresolved }
        }
        let features = header.critical
        let chain = parents
        let dataStart = input.position
        try handler(.begin(metadata: metadata, streams: streams))
        let total = streams.reduce(UInt64(0)) { $0 + $1.logicalSize }
        var done: UInt64 = 0
        /// Hands content to the handler and reports progress (logical bytes of all streams).
        func emit(_ event: StreamingEvent) throws(ImagePackError) {
            try handler(event)
            switch event {
            case .begin: return
            case .data(_, _, let bytes): done += UInt64(bytes.count)
            case .zero(_, _, let length): done += length
            }
            options.progress?(done, total)
        }

        // Chunks, decoded in parallel batches and handed over in order. Gaps between them are zero.
        var seen: [ChunkEntry] = []
        var cursorStream = 0
        var cursorOffset: UInt64 = 0
        /// Emits zeros up to (stream, offset), completing earlier streams.
        func advance(to stream: Int, _ offset: UInt64, recordAt: UInt64) throws(ImagePackError) {
            while cursorStream < stream {
                let size = streams[cursorStream].logicalSize
                if cursorOffset < size { try emit(.zero(stream: cursorStream, offset: cursorOffset, length: size - cursorOffset)) }
                cursorStream += 1
                cursorOffset = 0
            }
            guard stream == cursorStream, offset >= cursorOffset else {
                throw ImagePackError(.chunkLayoutInvalid, "chunk for stream \(stream) at \(offset) comes after stream \(cursorStream) position \(cursorOffset): chunks must be in stream and offset order without overlap", rule: .v32, offset: recordAt)
            }
            if offset > cursorOffset { try emit(.zero(stream: stream, offset: cursorOffset, length: offset - cursorOffset)) }
        }

        // Chunks: read in order on this thread, decoded and verified on the workers, handed over in
        // order. A run of the pipeline ends at the first record that is not a chunk.
        let threads = options.threads
        let slots = (0..<OrderedParallel.slotCount(threads: threads)).map { _ in Slot() }
        while true {
            var stoppedAt: (RecordEnvelope, UInt64)?
            var failed: (error: ImagePackError, recordOffset: UInt64)?
            do throws(ImagePackError) {
                try OrderedParallel.run(
                    slots: slots, lanes: threads, cancellation: options.cancellation,
                    produce: { (slot, _) throws(ImagePackError) -> Bool in
                        let (envelope, at) = try nextEnvelope()
                        guard envelope.type == .chunk else {
                            stoppedAt = (envelope, at)
                            return false
                        }
                        let rest = try input.read(count: Layout.chunkHeaderSize, what: "a chunk header")
                        var prefix = ByteWriter(capacity: Layout.chunkPrefixSize)
                        envelope.encode(into: &prefix)
                        prefix.append(rest)
                        let chunk = try ChunkHeader.decodePrefix(prefix.bytes, at: at, limits: limits)
                        // References were refused with the header; parent chunks need the 'parent' feature.
                        try chunk.checkPlacement(in: streams, features: features, at: at)
                        slot.header = chunk
                        slot.recordOffset = at
                        slot.payloadLength = Int(chunk.payloadLength)
                        try input.read(into: slot.payload.prefix(slot.payloadLength), what: "a chunk payload")
                        return true
                    },
                    work: { slot, _ in
                        guard let header = slot.header else { return }
                        slot.error = nil
                        let payloadOffset = slot.recordOffset + UInt64(Layout.chunkPrefixSize)
                        do throws(ImagePackError) {
                            try ChunkVerifier.decode(
                                header, payload: UnsafeRawBufferPointer(slot.payload.prefix(slot.payloadLength)),
                                into: slot.output.prefix(Int(header.logicalLength)), decoder: slot.decoder, verifyDigest: true,
                                payloadOffset: payloadOffset, parents: chain, streamName: streams[Int(header.stream)].name)
                        } catch {
                            slot.error = error
                        }
                    },
                    consume: { (slot, _) throws(ImagePackError) in
                        let header = slot.header!
                        if let error = slot.error {
                            let failure = error.enriched(stream: streams[Int(header.stream)].name)
                            failed = (failure, slot.recordOffset)
                            throw failure
                        }
                        try advance(to: Int(header.stream), header.logicalOffset, recordAt: slot.recordOffset)
                        try emit(.data(stream: Int(header.stream), offset: header.logicalOffset, bytes: UnsafeRawBufferPointer(slot.output.prefix(Int(header.logicalLength)))))
                        cursorOffset = header.logicalOffset + UInt64(header.logicalLength)
                        seen.append(ChunkEntry(header: header, recordOffset: slot.recordOffset))
                    })
            } catch {
                guard let failed else { throw error }
                // Number the failure as the index does (see the type's documentation).
                throw failed.error.enriched(chunk: entryNumber(ofRecordAt: failed.recordOffset, pending: stoppedAt))
            }
            (envelope, at) = stoppedAt!
            // The same decision as verify's and the validator's: INDX ends the data area, an
            // optional record of unknown type is skipped, anything else is refused.
            if try envelope.placeInDataArea(at: at) == .index { break }
            try input.skip(envelope.bodyLength, what: "an optional \(envelope.type) record")
        }

        // The index must describe exactly what was seen (rule V34), then the footer closes the image.
        let indexOffset = at
        let index = try readIndex(envelope, at: at)
        try index.checkLayout(streams: streams, features: features, dataStart: dataStart, dataEnd: indexOffset, indexOffset: indexOffset)
        if let problem = index.crossCheck(
            metadataJSON: json, streamTableBody: streamBody, parentFeature: features.contains(.parent), parentRecordDigest: parentDigest,
            indexOffset: indexOffset
        ).first {
            throw problem
        }
        var next = 0
        for (i, e) in index.entries.enumerated() where e.kind != .zero {
            guard next < seen.count, seen[next] == e else {
                throw ImagePackError(.indexMismatch, "index entry \(i) does not describe the chunk record found in the data area", rule: .v34, offset: ImageIndex.entryOffset(i, indexOffset: indexOffset), chunk: i)
            }
            next += 1
        }
        guard next == seen.count else {
            throw ImagePackError(.indexMismatch, "the data area holds \(seen.count) chunk records but the index lists \(next)", rule: .v34, offset: indexOffset)
        }
        // Trailing zeros of every stream.
        try advance(to: streams.count - 1, streams[streams.count - 1].logicalSize, recordAt: indexOffset)

        // What follows the index: optional signature records, then the 96-byte footer. It is small,
        // so read it all (bounded) and take the footer from the end.
        let afterIndex = input.position
        var tail: [UInt8] = []
        let maxTail = Layout.footerSize + FileFooter.maxSignatureBytes
        let tailBuffer = ChunkBuffer(capacity: 1 << 16)
        // Past the limit only the last footer-sized bytes are kept: enough to tell a second INDX
        // (the footer locates an index after this one: V8, as the other readers say) from data
        // appended to the image (V42), in bounded memory.
        var overflow: UInt64 = 0
        while true {
            let scratch = tailBuffer.prefix(1 << 16)
            let n = try input.readSome(into: scratch)
            if n == 0 { break }
            tail.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            if tail.count > maxTail {
                overflow += UInt64(tail.count - Layout.footerSize)
                tail.removeFirst(tail.count - Layout.footerSize)
            }
        }
        if overflow > 0 {
            let footerAt = afterIndex + overflow
            if let footer = try? FileFooter.decode(tail, at: footerAt), footer.indexOffset > indexOffset, footer.indexOffset < footerAt {
                throw DataArea.secondIndex(at: indexOffset)
            }
            throw ImagePackError(.trailingData, "more than \(maxTail) bytes follow the index: the input has data appended", rule: .v42, offset: afterIndex + UInt64(maxTail))
        }
        guard tail.count >= Layout.footerSize else {
            throw ImagePackError(.truncated, "the input ends \(tail.count) bytes after the index, inside the footer: the image was cut off", rule: .v40, offset: afterIndex + UInt64(tail.count))
        }
        let footerAt = afterIndex + UInt64(tail.count - Layout.footerSize)
        let footer = try FileFooter.decode(Array(tail[(tail.count - Layout.footerSize)...]), at: footerAt)
        // The same footer checks as the random-access reader's, then that the footer describes
        // what this input holds: the index where it was read, the signatures between it and the footer.
        // Here the footer was found at the real end of the input, so a different recorded length
        // is a wrong field, not data appended or cut off as a file's length would suggest.
        guard footer.fileLength == footerAt + UInt64(Layout.footerSize) else {
            throw ImagePackError(.malformedField, "the footer says the image is \(footer.fileLength) bytes but the input ends at \(footerAt + UInt64(Layout.footerSize))", rule: .v42, offset: footerAt + 32, field: "fileLength")
        }
        let placement = footer.check(at: footerAt, fileLength: footerAt + UInt64(Layout.footerSize))
        if let problem = placement.problems.first { throw problem }
        let signatureBytes = UInt64(tail.count - Layout.footerSize)
        if footer.indexOffset > indexOffset, footer.indexOffset < footerAt { throw DataArea.secondIndex(at: indexOffset) }
        guard let located = placement.index, located.offset == indexOffset, located.length == afterIndex - indexOffset else {
            throw ImagePackError(.malformedField, "the footer locates the index at \(footer.indexOffset) (\(footer.indexLength) bytes) but it is at \(indexOffset) (\(afterIndex - indexOffset) bytes)", rule: .v42, offset: footerAt, field: "indexOffset")
        }
        if signatureBytes > 0 {
            guard let (signaturesAt, _) = placement.signatures else {
                throw ImagePackError(.malformedField, "\(signatureBytes) bytes lie between the index and the footer, but the footer gives no signature region", rule: .v42, offset: footerAt + 16, field: "signaturesOffset")
            }
            try SignatureRecords.checkRegion(Array(tail[0..<Int(signatureBytes)]), at: signaturesAt)
        }
        let root = try index.checkRoot(against: footer, footerOffset: footerAt)
        return StreamingSummary(metadata: metadata, streams: streams, rootDigest: root, chunkCount: index.entries.count, fileLength: footer.fileLength)
    }
}
