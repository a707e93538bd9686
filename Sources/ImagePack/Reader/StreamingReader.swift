/// What a streaming read hands to its consumer, in file order.
public enum StreamingEvent {
    /// The image's metadata and stream table, before any content.
    case begin(metadata: ImageMetadata, streams: [StreamInfo])
    /// Verified content of stream `stream` at `offset`. The buffer is valid only during the call.
    case data(stream: Int, offset: UInt64, bytes: UnsafeRawBufferPointer)
    /// `length` zero bytes of stream `stream` at `offset` (zero chunks; a file consumer leaves a hole).
    case zero(stream: Int, offset: UInt64, length: UInt64)
    /// A reference chunk's content, named by its earlier place instead of carried: sent only when
    /// the read was asked not to keep content (``ReferenceContent/notNeeded``,
    /// ``ReferenceContent/rereadFromOutput``); with ``ReferenceContent/keepWindow`` a reference
    /// arrives as ``data(stream:offset:bytes:)``.
    case reference(ReferencedContent)
}

/// What a completed streaming read established.
public struct StreamingSummary: Sendable {
    public var metadata: ImageMetadata
    public var streams: [StreamInfo]
    public var rootDigest: Digest
    public var chunkCount: Int
    public var fileLength: UInt64
    /// The SIGN records, structurally checked (V44, V47); ``TrustPolicy`` judges them.
    public var signatures: [ImageSignature] = []
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
    /// The most stored bytes the reference window held during the last read: zero unless the image
    /// has references and the read kept content (``ReferenceContent/keepWindow``). Lets tests
    /// check that verify and extract read without the window.
    package private(set) var peakReferenceBytes = 0

    package init(file: ReadableFile, options: ReadOptions = .init()) {
        input = SequentialInput(file: file)
        self.options = options
    }

    /// Opens `path` ("-" for standard input) for a streaming read.
    public convenience init(path: String, options: ReadOptions = .init()) throws(ImagePackError) {
        self.init(file: try ReadableFile(path: path), options: options)
    }

    /// Chunks read from the input, waiting to be decoded by a worker: one chunk, or a batch of
    /// small ones up to ``batchBytes``, back to back in the buffers. Batching is what keeps a pipe
    /// of tiny records cheap: a hand-over to a worker costs microseconds, and 4 M records of one
    /// byte took 40 s one per job.
    final class Slot: @unchecked Sendable {
        struct Item {
            var header: ChunkHeader
            var recordOffset: UInt64
            var payloadStart: Int
            var outputStart: Int
            /// For a reference chunk: its target, whose payload (not the reference's) is in the buffer.
            var target: (header: ChunkHeader, offset: UInt64)?
            /// For a reference chunk whose payload or target breaks a rule: why (reported by the
            /// worker, so that it is numbered by its index entry like any other chunk failure).
            var problem: ImagePackError?
            /// For a reference handed over by its target's place (``ReferenceContent/notNeeded``,
            /// ``ReferenceContent/rereadFromOutput``): nothing in the buffers, nothing to decode.
            var byPlace = false
        }
        var items: [Item] = []
        let payload = ChunkBuffer(capacity: StreamingReader.batchBytes)
        var payloadLength = 0
        let output = ChunkBuffer(capacity: StreamingReader.batchBytes)
        var outputLength = 0
        let decoder = PayloadDecoder()
        /// The first item that failed, and why.
        var error: (item: Int, error: ImagePackError)?
        /// What stopped the producer after the batch's last item (the input cut off, a limit):
        /// thrown once the items before it are handed over, as it would be one chunk per job.
        var trailingError: ImagePackError?

        func reset() {
            items.removeAll(keepingCapacity: true)
            payloadLength = 0
            outputLength = 0
            error = nil
            trailingError = nil
        }

        /// Whether a chunk of `payload` stored and `logical` decoded bytes joins this batch: the
        /// first always does (the buffers grow to it while empty), later ones while both fit.
        func admits(payload: Int, logical: Int) -> Bool {
            items.isEmpty || (items.count < StreamingReader.batchCount
                && payloadLength + payload <= StreamingReader.batchBytes && outputLength + logical <= StreamingReader.batchBytes)
        }
    }

    /// Most stored (and decoded) bytes of small chunks gathered into one job.
    static let batchBytes = 1 << 20
    /// Most chunks in one job.
    static let batchCount = 4096

    /// Runs the read, calling `handler` for each event in order.
    /// - Parameter references: what the consumer needs of a reference chunk's content; the
    ///   default hands it over as data, at the cost of keeping up to `maxReferenceDistance` of
    ///   stored bytes in memory when the image has references (see ``ReferenceContent``).
    /// - Throws: the error `handler` throws, unchanged (the read stops there); otherwise an
    ///   ``ImagePackError`` naming the first rule the image breaks.
    @discardableResult
    public func read<E: Error>(references: ReferenceContent = .keepWindow, _ handler: (StreamingEvent) throws(E) -> Void) throws -> StreamingSummary {
        try read(decidingReferences: { _ in references }, handler)
    }

    /// ``read(references:_:)`` for a consumer that knows what it needs only once it sees the
    /// stream table (extract re-reads from its outputs only when it writes every stream a
    /// reference may name): `references` is called right after the `.begin` event.
    func read<E: Error>(decidingReferences references: ([StreamInfo]) -> ReferenceContent, _ handler: (StreamingEvent) throws(E) -> Void) throws -> StreamingSummary {
        // The pipeline speaks ImagePackError: a handler's own error is kept aside and the run is
        // stopped with a stand-in, then the handler's error is thrown in its place.
        var handlerError: E?
        do throws(ImagePackError) {
            return try run(references: references) { (event) throws(ImagePackError) in
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

    private func run(references: ([StreamInfo]) -> ReferenceContent, _ handler: (StreamingEvent) throws(ImagePackError) -> Void) throws(ImagePackError) -> StreamingSummary {
        peakReferenceBytes = 0
        let header = try FileHeader.decode(try input.read(count: Layout.headerSize, what: "the header"))
        // Metadata, then the stream table (rule V8), checked as the random-access reader checks them.
        var (envelope, at) = try nextEnvelope()
        try envelope.expect(.metadata, at: at, maxBody: limits.maxMetadataSize + 12, limit: .max)
        let metaBody = try readRecordBody(envelope, at: at, maxBody: limits.maxMetadataSize + 12, rule: .v11, code: .metadataChecksumMismatch)
        let hasCatalogue = header.critical.contains(.catalogue)
        // In a 1.2 image the catalogue comes after the index: `.begin` carries the instance facts,
        // the summary the whole metadata.
        let (metadata, json) = try MetadataRecord.decodeBody(metaBody, at: at + UInt64(Layout.envelopeSize), limits: limits, catalogue: hasCatalogue)
        (envelope, at) = try nextEnvelope()
        try envelope.expect(.streams, at: at, maxBody: limits.maxStreamTableBody, limit: .max)
        let streamBody = try readRecordBody(envelope, at: at, maxBody: limits.maxStreamTableBody, rule: .v13, code: .recordChecksumMismatch)
        let streams = try StreamTable.decodeBody(streamBody, at: at + UInt64(Layout.envelopeSize), limits: limits)
        try limits.checkLogicalTotal(streams, at: at)
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
            case .reference(let content): done += content.length
            }
            options.progress?(done, total)
        }

        // Chunks, decoded in parallel batches and handed over in order. Gaps between them are zero.
        // Of each chunk record only a fingerprint of its entry form is kept, to compare with the
        // index at the end; at most maxChunks of them (a pipe of 1-byte chunks and no index held
        // 1.1 GB after 87 s when every record was kept whole and without a cap).
        var seen: [ChunkEntry.Fingerprint] = []
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
        // order. One run of the pipeline covers the whole data area: the producer skips optional
        // records itself (spec §4.3 allows any number of them; ending the run at each one started
        // and joined the worker threads per record, minutes for a million empty records) and the
        // run ends at the index or at a record this reader cannot skip.
        let threads = options.threads
        // A slot may hold a payload and a decoded chunk as large as the limits allow.
        let slots = (0..<OrderedParallel.slotCount(threads: threads, slotBytes: 2 * limits.maxChunkSize, budget: limits.maxDecodeMemory)).map { _ in Slot() }
        var stoppedAt: (RecordEnvelope, UInt64)?
        var failed: (error: ImagePackError, recordOffset: UInt64)?
        var produced = 0
        /// Logical bytes of the chunks read so far: the budget of V46 holds for every prefix of
        /// the input, since the index that would give the whole comes last.
        var work: UInt64 = 0
        /// A chunk record's header (and a reference's target), read from the input.
        typealias NextChunk = (header: ChunkHeader, at: UInt64, target: ReferenceWindow.Kept?, problem: ImagePackError?)
        /// A chunk record whose envelope and header were read but that did not fit the last batch.
        var held: NextChunk?
        /// The records a reference may still name (spec §7.2: within maxReferenceDistance before it).
        var window = features.contains(.references) ? ReferenceWindow(distance: limits.maxReferenceDistance, keepsContent: references(streams).keepsContent) : nil
        defer { peakReferenceBytes = window?.peakBytes ?? 0 }
        /// Whether a reference is handed over by its target's place rather than its content.
        let byPlace = window.map { !$0.keepsContent } ?? false
        /// Set when reading failed after a batch's first item: the batch goes on, then its error.
        var inputFailed = false
        /// The next chunk record's envelope and header, skipping optional records; nil at the
        /// index or at a record this reader cannot skip (kept in `stoppedAt`).
        func nextChunk() throws(ImagePackError) -> NextChunk? {
            if let chunk = held {
                held = nil
                return chunk
            }
            guard stoppedAt == nil else { return nil }
            var (envelope, at) = try nextEnvelope()
            while envelope.type != .chunk {
                // INDX, or a record this reader refuses (placeInDataArea says which after the
                // run, once the chunks before it are handed over), ends the data area.
                guard (try? envelope.placeInDataArea(at: at)) == .skipped else {
                    stoppedAt = (envelope, at)
                    return nil
                }
                try input.skip(envelope.bodyLength, what: "an optional \(envelope.type) record")
                try options.cancellation?.check()
                (envelope, at) = try nextEnvelope()
            }
            // The index may list at most maxChunks chunks, so more records cannot all be listed.
            guard produced < limits.maxChunks else {
                throw ImagePackError(.limitExceeded, "the data area holds more than \(limits.maxChunks) chunk records, more than an index may list", rule: .v30, offset: at)
            }
            produced += 1
            let rest = try input.read(count: Layout.chunkHeaderSize, what: "a chunk header")
            var prefix = ByteWriter(capacity: Layout.chunkPrefixSize)
            envelope.encode(into: &prefix)
            prefix.append(rest)
            let chunk = try ChunkHeader.decodePrefix(prefix.bytes, at: at, limits: limits)
            // Parent and reference chunks need their features (V36).
            try chunk.checkPlacement(in: streams, features: features, at: at)
            guard chunk.kind == .reference, window != nil else { return (chunk, at, nil, nil) }
            // A reference: its 8-byte payload names the target, which must still be in the window.
            window?.forget(before: at)
            let payloadOffset = at + UInt64(Layout.chunkPrefixSize)
            let stored = try input.read(count: 8, what: "a chunk payload")
            window?.keep(chunk, at: at, payload: UnsafeRawBufferPointer(start: nil, count: 0))
            do throws(ImagePackError) {
                let target = try withBytes(stored) { (raw) throws(ImagePackError) in try chunk.referenceTargetOffset(payload: raw, payloadOffset: payloadOffset) }
                let kept = window?.record(at: target)
                try chunk.checkReference(
                    at: at, target: target,
                    found: kept.map { ChunkHeader.ReferenceTarget(kind: $0.header.kind, logicalLength: $0.header.logicalLength, contentDigest: $0.header.contentDigest) },
                    limits: limits)
                return (chunk, at, kept, nil)
            } catch {
                return (chunk, at, nil, error)
            }
        }
        do throws(ImagePackError) {
            try OrderedParallel.run(
                slots: slots, lanes: threads, cancellation: options.cancellation,
                produce: { (slot, _) throws(ImagePackError) -> Bool in
                    slot.reset()
                    guard !inputFailed else { return false }
                    do throws(ImagePackError) {
                        while let next = try nextChunk() {
                            let (chunk, at, target, problem) = next
                            // A reference is decoded from its target's payload, kept in the window,
                            // or handed over by its target's place, without content.
                            let copy = byPlace && target != nil
                            let payloadLength = problem != nil ? 0 : target.map { $0.payload.count } ?? Int(chunk.payloadLength)
                            let logicalLength = copy ? 0 : Int(chunk.logicalLength)
                            guard slot.admits(payload: payloadLength, logical: logicalLength) else {
                                held = next
                                break
                            }
                            let payload = UnsafeMutableRawBufferPointer(rebasing: slot.payload.prefix(slot.payloadLength + payloadLength)[slot.payloadLength...])
                            if copy {
                                // Nothing to copy: the event names the target.
                            } else if let target {
                                target.payload.withUnsafeBytes { payload.copyMemory(from: $0) }
                            } else if problem == nil {
                                try input.read(into: payload, what: "a chunk payload")
                                if chunk.kind != .reference {
                                    window?.forget(before: at)
                                    window?.keep(chunk, at: at, payload: UnsafeRawBufferPointer(payload))
                                }
                            }
                            work += UInt64(chunk.logicalLength)
                            guard work <= limits.workAllowed(storedBytes: input.position) else {
                                throw ImagePackError(.limitExceeded, "the first \(input.position) bytes hold \(work) logical bytes of chunks, more than the limit of \(limits.maxLogicalBytesPerStoredByte) per stored byte", rule: .v46, offset: at)
                            }
                            slot.items.append(Slot.Item(
                                header: chunk, recordOffset: at, payloadStart: slot.payloadLength, outputStart: slot.outputLength,
                                target: target.map { ($0.header, $0.offset) }, problem: problem, byPlace: copy))
                            slot.payloadLength += payloadLength
                            slot.outputLength += logicalLength
                        }
                    } catch {
                        guard !slot.items.isEmpty else { throw error }
                        slot.trailingError = error
                        inputFailed = true
                    }
                    if !slot.items.isEmpty { _ = slot.output.prefix(slot.outputLength) }
                    return !slot.items.isEmpty
                },
                work: { slot, _ in
                    for (k, item) in slot.items.enumerated() {
                        let header = item.header
                        if let problem = item.problem {
                            slot.error = (k, problem)
                            return
                        }
                        // Its target's content was verified when the target was read, and the
                        // reference's digest equals the target's (checked when it was read).
                        if item.byPlace { continue }
                        // A reference decodes its target's payload, and is checked against its own digest.
                        let (decoded, at) = item.target ?? (header, item.recordOffset)
                        let output = UnsafeMutableRawBufferPointer(rebasing: slot.output.prefix(item.outputStart + Int(header.logicalLength))[item.outputStart...])
                        do throws(ImagePackError) {
                            try ChunkVerifier.decode(
                                decoded, payload: UnsafeRawBufferPointer(rebasing: slot.payload.prefix(item.payloadStart + Int(decoded.payloadLength))[item.payloadStart...]),
                                into: output, decoder: slot.decoder, verifyDigest: item.target == nil, payloadOffset: at + UInt64(Layout.chunkPrefixSize),
                                parents: chain, streamName: streams[Int(decoded.stream)].name)
                            if item.target != nil, Digest.sha256(UnsafeRawBufferPointer(output)) != header.contentDigest {
                                throw ImagePackError(.chunkHashMismatch, "the content of the reference chunk's target (at \(at)) does not match the reference's SHA-256: the content is not what was written", rule: .v28, offset: item.recordOffset + UInt64(Layout.chunkPrefixSize), field: "contentDigest")
                            }
                        } catch {
                            slot.error = (k, error)
                            return
                        }
                    }
                },
                consume: { (slot, _) throws(ImagePackError) in
                    for (k, item) in slot.items.enumerated() {
                        let header = item.header
                        if let (bad, error) = slot.error, bad == k {
                            let failure = error.enriched(stream: streams[Int(header.stream)].name)
                            failed = (failure, item.recordOffset)
                            throw failure
                        }
                        try advance(to: Int(header.stream), header.logicalOffset, recordAt: item.recordOffset)
                        if item.byPlace, let (target, _) = item.target {
                            try emit(.reference(ReferencedContent(
                                stream: Int(header.stream), offset: header.logicalOffset, length: UInt64(header.logicalLength),
                                sourceStream: Int(target.stream), sourceOffset: target.logicalOffset, contentDigest: header.contentDigest,
                                recordOffset: item.recordOffset)))
                            cursorOffset = header.logicalOffset + UInt64(header.logicalLength)
                            seen.append(ChunkEntry(header: header, recordOffset: item.recordOffset).fingerprint)
                            continue
                        }
                        let bytes = UnsafeRawBufferPointer(rebasing: slot.output.prefix(item.outputStart + Int(header.logicalLength))[item.outputStart...])
                        try emit(.data(stream: Int(header.stream), offset: header.logicalOffset, bytes: bytes))
                        cursorOffset = header.logicalOffset + UInt64(header.logicalLength)
                        seen.append(ChunkEntry(header: header, recordOffset: item.recordOffset).fingerprint)
                    }
                    if let error = slot.trailingError { throw error }
                })
        } catch {
            guard let failed else { throw error }
            // Number the failure as the index does (see the type's documentation), reading on
            // from the end of the record whose header was read for the next batch, if any.
            if let held, held.header.kind != .reference || window == nil { _ = try? input.skip(UInt64(held.header.payloadLength), what: "a chunk payload") }
            throw failed.error.enriched(chunk: entryNumber(ofRecordAt: failed.recordOffset, pending: stoppedAt))
        }
        (envelope, at) = stoppedAt!
        // The same decision as verify's and the validator's: INDX ends the data area, anything
        // but a chunk or an optional record of unknown type (skipped above) is refused.
        guard try envelope.placeInDataArea(at: at) == .index else {
            throw ImagePackError(.unexpectedRecord, "a \(envelope.type) record at \(at) ended the data area", rule: .v8, offset: at, field: "type")
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
            guard next < seen.count, seen[next] == e.fingerprint else {
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
        let maxTail = Layout.footerSize + (hasCatalogue ? Int(FileFooter.maxTailArea) : FileFooter.maxSignatureBytes)
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
        let placement = footer.check(at: footerAt, fileLength: footerAt + UInt64(Layout.footerSize), catalogue: hasCatalogue)
        if let problem = placement.problems.first { throw problem }
        let signatureBytes = hasCatalogue ? 0 : UInt64(tail.count - Layout.footerSize)
        if footer.indexOffset > indexOffset, footer.indexOffset < footerAt { throw DataArea.secondIndex(at: indexOffset) }
        guard let located = placement.index, located.offset == indexOffset, located.length == afterIndex - indexOffset else {
            throw ImagePackError(.malformedField, "the footer locates the index at \(footer.indexOffset) (\(footer.indexLength) bytes) but it is at \(indexOffset) (\(afterIndex - indexOffset) bytes)", rule: .v42, offset: footerAt, field: "indexOffset")
        }
        var signatures: [ImageSignature] = []
        if signatureBytes > 0 {
            guard let (signaturesAt, _) = placement.signatures else {
                throw ImagePackError(.malformedField, "\(signatureBytes) bytes lie between the index and the footer, but the footer gives no signature region", rule: .v42, offset: footerAt + 16, field: "signaturesOffset")
            }
            signatures = try SignatureRecords.decodeRegion(Array(tail[0..<Int(signatureBytes)]), at: signaturesAt)
        }
        var fullMetadata = metadata
        /// Bytes of the tail area at file offset `at` (located by a footer checked against it, V51).
        func tailBytes(_ at: UInt64, _ count: UInt64) -> [UInt8] { Array(tail[Int(at - afterIndex)..<Int(at - afterIndex + count)]) }
        if let (at, count) = placement.catalogue {
            fullMetadata = try CatalogueRecord.decode(tailBytes(at, count), at: at, into: metadata)
        }
        if hasCatalogue, let (at, count) = placement.signatures {
            signatures = try SignatureRecords.decodeRegion(tailBytes(at, count), at: at)
        }
        let root = try index.checkRoot(against: footer, footerOffset: footerAt)
        return StreamingSummary(metadata: fullMetadata, streams: streams, rootDigest: root, chunkCount: index.entries.count, fileLength: footer.fileLength, signatures: signatures)
    }
}
