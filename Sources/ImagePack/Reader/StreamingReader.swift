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
/// - Important: events arrive before the end of the image is seen. Only when ``read(_:)``
///   returns is the whole image verified; if it throws, discard what the events produced.
public final class StreamingReader {
    let input: SequentialInput
    let limits: ImageLimits
    let threads: Int
    public var cancellation: Cancellation?

    package init(file: ReadableFile, limits: ImageLimits = .init(), threads: Int = WriterOptions.defaultThreads) {
        input = SequentialInput(file: file)
        self.limits = limits
        self.threads = max(1, threads)
    }

    /// Opens `path` ("-" for standard input) for a streaming read.
    public convenience init(path: String, limits: ImageLimits = .init(), threads: Int = WriterOptions.defaultThreads) throws(ImagePackError) {
        self.init(file: try ReadableFile(path: path), limits: limits, threads: threads)
    }

    /// A chunk read from the input, waiting to be decoded by a worker.
    final class Slot: @unchecked Sendable {
        var header: ChunkHeader?
        var recordOffset: UInt64 = 0
        /// Payload and decode buffers, grown to the largest chunk seen so far (each bounded by
        /// `maxChunkSize`, rule V22), so memory follows the chunks the image holds, not the limit.
        private(set) var payloadBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        var payloadLength = 0
        private(set) var output = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        let decoder = PayloadDecoder()
        var error: ImagePackError?
        func reserve(logical: Int, payload: Int) {
            if output.count < logical {
                output.deallocate()
                output = .allocate(byteCount: logical, alignment: 64)
            }
            if payloadBuffer.count < payload {
                payloadBuffer.deallocate()
                payloadBuffer = .allocate(byteCount: payload, alignment: 64)
            }
        }
        deinit {
            output.deallocate()
            payloadBuffer.deallocate()
        }
        var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: payloadBuffer[0..<payloadLength]) }
    }

    /// Runs the read, calling `handler` for each event in order.
    @discardableResult
    public func read(_ handler: (StreamingEvent) throws(ImagePackError) -> Void) throws(ImagePackError) -> StreamingSummary {
        do throws(ImagePackError) {
            return try run(handler)
        } catch {
            throw error.at(path: input.file.path)
        }
    }

    private func readRecordBody(_ envelope: RecordEnvelope, at offset: UInt64, maxBody: Int, rule: String, code: ImagePackError.Code) throws(ImagePackError) -> [UInt8] {
        guard envelope.bodyLength >= 4, envelope.bodyLength <= UInt64(maxBody) else {
            throw ImagePackError(.limitExceeded, "\(envelope.type) record claims \(envelope.bodyLength) bytes, over the limit of \(maxBody)", rule: "V10", offset: offset + 8, field: "bodyLength")
        }
        var w = ByteWriter(capacity: Layout.envelopeSize + Int(envelope.bodyLength))
        envelope.encode(into: &w)
        w.append(try input.read(count: Int(envelope.bodyLength), what: "the \(envelope.type) record"))
        return try checkStructuralRecord(w.bytes, at: offset, rule: rule, code: code)
    }

    private func nextEnvelope() throws(ImagePackError) -> (RecordEnvelope, UInt64) {
        let at = input.position
        let bytes = try input.read(count: Layout.envelopeSize, what: "a record header")
        return (try RecordEnvelope.decode(bytes, at: at), at)
    }

    private func run(_ handler: (StreamingEvent) throws(ImagePackError) -> Void) throws(ImagePackError) -> StreamingSummary {
        let header = try FileHeader.decode(try input.read(count: Layout.headerSize, what: "the header"))
        try header.checkSupported()
        // Metadata, then the stream table (rule V8).
        var (envelope, at) = try nextEnvelope()
        guard envelope.type == .metadata else {
            throw ImagePackError(.unexpectedRecord, "expected the META record after the header, found \(envelope.type)", rule: "V8", offset: at, field: "type")
        }
        let metaBody = try readRecordBody(envelope, at: at, maxBody: limits.maxMetadataSize + 12, rule: "V11", code: .metadataChecksumMismatch)
        let (metadata, json) = try MetadataRecord.decodeBody(metaBody, at: at + UInt64(Layout.envelopeSize), limits: limits)
        (envelope, at) = try nextEnvelope()
        guard envelope.type == .streams else {
            throw ImagePackError(.unexpectedRecord, "expected the STRM record after META, found \(envelope.type)", rule: "V8", offset: at, field: "type")
        }
        let streamBody = try readRecordBody(envelope, at: at, maxBody: limits.maxStreamTableBody, rule: "V13", code: .recordChecksumMismatch)
        let streams = try StreamTable.decodeBody(streamBody, at: at + UInt64(Layout.envelopeSize), limits: limits)
        let dataStart = input.position
        try handler(.begin(metadata: metadata, streams: streams))

        // Chunks, decoded in parallel batches and handed over in order. Gaps between them are zero.
        var seen: [ChunkEntry] = []
        var cursorStream = 0
        var cursorOffset: UInt64 = 0
        /// Emits zeros up to (stream, offset), completing earlier streams.
        func advance(to stream: Int, _ offset: UInt64, recordAt: UInt64) throws(ImagePackError) {
            while cursorStream < stream {
                let size = streams[cursorStream].logicalSize
                if cursorOffset < size { try handler(.zero(stream: cursorStream, offset: cursorOffset, length: size - cursorOffset)) }
                cursorStream += 1
                cursorOffset = 0
            }
            guard stream == cursorStream, offset >= cursorOffset else {
                throw ImagePackError(.chunkLayoutInvalid, "chunk for stream \(stream) at \(offset) comes after stream \(cursorStream) position \(cursorOffset): chunks must be in stream and offset order without overlap", rule: "V32", offset: recordAt)
            }
            if offset > cursorOffset { try handler(.zero(stream: stream, offset: cursorOffset, length: offset - cursorOffset)) }
        }

        // Chunks: read in order on this thread, decoded and verified on the workers, handed over in
        // order. A run of the pipeline ends at the first record that is not a chunk.
        let slots = (0..<OrderedParallel.slotCount(threads: threads)).map { _ in Slot() }
        let verifyDigest = true
        while true {
            var stoppedAt: (RecordEnvelope, UInt64)?
            try OrderedParallel.run(
                slots: slots, lanes: threads, cancellation: cancellation,
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
                    // The header's features were refused above, so such a chunk lacks its feature flag.
                    guard chunk.kind != .reference, chunk.kind != .parent else {
                        throw ImagePackError(.unknownCriticalFeature, "a \(chunk.kind) chunk needs the header's \(chunk.kind == .parent ? "parent" : "references") feature flag, which this image does not set", rule: "V36", offset: at + 16, field: "kind")
                    }
                    guard Int(chunk.stream) < streams.count else {
                        throw ImagePackError(.chunkLayoutInvalid, "chunk names stream \(chunk.stream) but the image has \(streams.count)", rule: "V23", offset: at + 20, field: "stream")
                    }
                    let (end, overflow) = chunk.logicalOffset.addingReportingOverflow(UInt64(chunk.logicalLength))
                    guard !overflow, end <= streams[Int(chunk.stream)].logicalSize else {
                        throw ImagePackError(.chunkLayoutInvalid, "chunk ends past the end of stream \"\(streams[Int(chunk.stream)].name)\"", rule: "V23", offset: at + 24, field: "logicalOffset")
                    }
                    slot.reserve(logical: Int(chunk.logicalLength), payload: Int(chunk.payloadLength))
                    slot.header = chunk
                    slot.recordOffset = at
                    slot.payloadLength = Int(chunk.payloadLength)
                    try input.read(into: UnsafeMutableRawBufferPointer(rebasing: slot.payloadBuffer[0..<slot.payloadLength]), what: "a chunk payload")
                    return true
                },
                work: { slot, _ in
                    guard let header = slot.header else { return }
                    slot.error = nil
                    let output = UnsafeMutableRawBufferPointer(rebasing: slot.output[0..<Int(header.logicalLength)])
                    let payloadOffset = slot.recordOffset + UInt64(Layout.chunkPrefixSize)
                    do throws(ImagePackError) {
                        try ChunkVerifier.decode(header, payload: slot.payload, into: output, decoder: slot.decoder, verifyDigest: verifyDigest, payloadOffset: payloadOffset)
                    } catch {
                        slot.error = error
                    }
                },
                consume: { (slot, _) throws(ImagePackError) in
                    let header = slot.header!
                    if var error = slot.error {
                        error.chunk = seen.count
                        error.stream = streams[Int(header.stream)].name
                        throw error
                    }
                    try advance(to: Int(header.stream), header.logicalOffset, recordAt: slot.recordOffset)
                    try handler(.data(stream: Int(header.stream), offset: header.logicalOffset, bytes: UnsafeRawBufferPointer(rebasing: slot.output[0..<Int(header.logicalLength)])))
                    cursorOffset = header.logicalOffset + UInt64(header.logicalLength)
                    seen.append(ChunkEntry(header: header, recordOffset: slot.recordOffset))
                })
            (envelope, at) = stoppedAt!
            if envelope.type == .index { break }
            guard !envelope.critical else {
                throw ImagePackError(.unknownRecordType, "record type \(envelope.type) is critical and unknown to this reader, or out of place; use a newer imgpack", rule: "V7", offset: at, field: "type")
            }
            try input.skip(envelope.bodyLength, what: "an optional \(envelope.type) record")
        }

        // The index must describe exactly what was seen (rule V34), then the footer closes the image.
        let indexOffset = at
        let indexBody = try readRecordBody(envelope, at: at, maxBody: limits.maxIndexBody, rule: "V30", code: .indexChecksumMismatch)
        let index = try ImageIndex.decodeBody(indexBody, at: at + UInt64(Layout.envelopeSize), limits: limits)
        try index.checkLayout(streams: streams, dataStart: dataStart, dataEnd: indexOffset, indexOffset: indexOffset)
        if let problem = index.crossCheck(
            metadataJSON: json, streamTableBody: streamBody, parentFeature: false, parentRecordDigest: nil, indexOffset: indexOffset
        ).first {
            throw problem
        }
        var next = 0
        for (i, e) in index.entries.enumerated() where e.kind != .zero {
            let entryAt = indexOffset + UInt64(Layout.envelopeSize + Layout.indexFixedSize + i * Layout.indexEntrySize)
            guard next < seen.count, seen[next] == e else {
                throw ImagePackError(.indexMismatch, "index entry \(i) does not describe the chunk record found in the data area", rule: "V34", offset: entryAt, chunk: i)
            }
            next += 1
        }
        guard next == seen.count else {
            throw ImagePackError(.indexMismatch, "the data area holds \(seen.count) chunk records but the index lists \(next)", rule: "V34", offset: indexOffset)
        }
        // Trailing zeros of every stream.
        try advance(to: streams.count - 1, streams[streams.count - 1].logicalSize, recordAt: indexOffset)

        // What follows the index: optional signature records, then the 96-byte footer. It is small,
        // so read it all (bounded) and take the footer from the end.
        let afterIndex = input.position
        var tail: [UInt8] = []
        let maxTail = Layout.footerSize + Self.maxSignatureBytes
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        while true {
            let n = try input.readSome(into: scratch)
            if n == 0 { break }
            tail.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            guard tail.count <= maxTail else {
                throw ImagePackError(.trailingData, "more than \(maxTail) bytes follow the index: the input has data appended", rule: "V42", offset: afterIndex + UInt64(maxTail))
            }
        }
        guard tail.count >= Layout.footerSize else {
            throw ImagePackError(.truncated, "the input ends \(tail.count) bytes after the index, inside the footer: the image was cut off", rule: "V40", offset: afterIndex + UInt64(tail.count))
        }
        let footerAt = afterIndex + UInt64(tail.count - Layout.footerSize)
        let footer = try FileFooter.decode(Array(tail[(tail.count - Layout.footerSize)...]), at: footerAt)
        guard footer.indexOffset == indexOffset, footer.indexLength == afterIndex - indexOffset else {
            throw ImagePackError(.malformedField, "the footer locates the index at \(footer.indexOffset) (\(footer.indexLength) bytes) but it is at \(indexOffset) (\(afterIndex - indexOffset) bytes)", rule: "V42", offset: footerAt, field: "indexOffset")
        }
        let signatureBytes = UInt64(tail.count - Layout.footerSize)
        guard footer.fileLength == footerAt + UInt64(Layout.footerSize),
            signatureBytes == 0 ? footer.signaturesOffset == 0 : (footer.signaturesOffset == afterIndex && footer.signaturesLength == signatureBytes)
        else {
            throw ImagePackError(.malformedField, "the footer's lengths do not match the input (it ends at \(footerAt + UInt64(Layout.footerSize)), \(signatureBytes) bytes between index and footer)", rule: "V42", offset: footerAt + 32, field: "fileLength")
        }
        if signatureBytes > 0 { try SignatureRecords.checkRegion(Array(tail[0..<Int(signatureBytes)]), at: afterIndex) }
        let root = index.rootDigest()
        guard root == footer.rootDigest else {
            throw ImagePackError(.rootDigestMismatch, "the root digest recomputed from the index (\(root)) is not the one in the footer (\(footer.rootDigest))", rule: "V43", offset: footerAt + 40, field: "rootDigest")
        }
        return StreamingSummary(metadata: metadata, streams: streams, rootDigest: root, chunkCount: index.entries.count, fileLength: footer.fileLength)
    }

    /// Most bytes of signature records a reader accepts between index and footer (spec §10).
    static let maxSignatureBytes = 1 << 20
}
