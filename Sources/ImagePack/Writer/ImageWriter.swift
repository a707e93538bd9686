import Dispatch

/// Writes a ``SystemState`` as one ImagePack image, in one pass, to any ``ByteSink``.
///
/// The writer never seeks: header, metadata and stream table first, then each stream's chunk
/// records in order, then the index and the footer (spec §2). Memory stays at about
/// `2 × threads × chunkSize` whatever the size of the disks. The same state and options always
/// give the same bytes, for any thread count.
public enum ImageWriter {
    /// Writes `state` to `sink`.
    /// - Returns: what was written, including the root digest.
    /// - Throws: ``ImagePackError``: `.invalidArgument` for bad options or metadata,
    ///   `.ioFailed` if the source or the sink fails, `.cancelled` when `options.cancellation` fires.
    @discardableResult
    public static func write(
        _ state: SystemState, to sink: any ByteSink, options: WriterOptions = .init(), progress: ProgressHandler? = nil
    ) throws(ImagePackError) -> WriteSummary {
        var session = try WriteSession(state: state, sink: sink, options: options)
        return try session.run(progress: progress)
    }

    /// Writes `state` to the file at `path`, which appears only once complete.
    ///
    /// A source that changed while it was read (``StreamSource/changeSinceOpened()``) fails the
    /// write with `.sourceChanged` and nothing is published. With
    /// ``WriterOptions/allowChangingSource`` the image is written again from the start with the
    /// changed streams named in the ``WriterOptions/sourceChangedTag`` metadata tag (the metadata
    /// comes first in the file, so it cannot be amended afterwards): at most once more per stream.
    /// - Parameters:
    ///   - overwrite: replace an existing file; without it an existing file is an error
    ///     (`.destinationExists`) and is left untouched.
    ///   - sync: flush the file and its directory entry before returning (``OutputFile/commit(sync:)``).
    @discardableResult
    public static func write(
        _ state: SystemState, toFile path: String, overwrite: Bool = false, sync: Bool = false,
        options: WriterOptions = .init(), progress: ProgressHandler? = nil
    ) throws(ImagePackError) -> WriteSummary {
        var state = state
        for attempt in 0...state.streams.count {
            let output = try OutputFile(path: path, overwrite: overwrite)
            do {
                let summary = try write(state, to: output, options: options, progress: progress)
                try output.commit(sync: sync)
                return summary
            } catch {
                output.abandon()
                if error.code == .sourceChanged, options.allowChangingSource, attempt < state.streams.count {
                    state.metadata.tags[WriterOptions.sourceChangedTag] = WriteSession.changedStreams(of: state).joined(separator: ",")
                    continue
                }
                throw error.at(path: path)
            }
        }
        preconditionFailure("unreachable: the last attempt returns or throws")
    }
}

/// The state of one write: where the sink is, and the index rows so far.
struct WriteSession {
    let state: SystemState
    let sink: any ByteSink
    let options: WriterOptions
    let streams: [StreamInfo]
    var position: UInt64 = 0
    var entries: [ChunkEntry] = []
    var payloadBytes: UInt64 = 0
    /// Reference chunks written so far.
    var references = 0

    init(state: SystemState, sink: any ByteSink, options: WriterOptions) throws(ImagePackError) {
        let limits = ImageLimits()
        try options.validate(limits: limits)
        try state.metadata.validate()
        guard !state.streams.isEmpty, state.streams.count <= limits.maxStreams else {
            throw ImagePackError(.invalidArgument, "an image holds 1 to \(limits.maxStreams) streams, got \(state.streams.count)")
        }
        var names = Set<String>()
        for s in state.streams {
            try StreamName.validate(s.name, limits: limits)
            guard names.insert(s.name).inserted else {
                throw ImagePackError(.invalidArgument, "stream name \"\(s.name)\" is used twice", stream: s.name)
            }
            guard s.source.logicalSize <= limits.maxStreamSize else {
                throw ImagePackError(.invalidArgument, "stream \"\(s.name)\" is larger than the limit of \(limits.maxStreamSize) bytes", stream: s.name)
            }
            guard s.blockSize >= 1, s.blockSize <= 65536, s.blockSize & (s.blockSize - 1) == 0 else {
                throw ImagePackError(.invalidArgument, "block size \(s.blockSize) of stream \"\(s.name)\" is not a power of two up to 65536", stream: s.name)
            }
        }
        let totalChunks = state.streams.reduce(UInt64(0)) { $0 + ($1.source.logicalSize + UInt64(options.chunkSize) - 1) / UInt64(options.chunkSize) }
        guard totalChunks <= UInt64(limits.maxChunks) else {
            throw ImagePackError(.invalidArgument, "the image would have \(totalChunks) chunks, over the limit of \(limits.maxChunks); use a larger chunk size (WriterOptions.chunkSize; imgpack: --chunk-size)")
        }
        self.state = state
        self.sink = sink
        self.options = options
        streams = state.streams.map { StreamInfo(name: $0.name, kind: $0.kind, blockSize: $0.blockSize, logicalSize: $0.source.logicalSize) }
    }

    mutating func emit(_ bytes: [UInt8]) throws(ImagePackError) {
        try sink.write(bytes)
        position += UInt64(bytes.count)
    }

    mutating func emit(_ bytes: UnsafeRawBufferPointer) throws(ImagePackError) {
        try sink.write(bytes)
        position += UInt64(bytes.count)
    }

    mutating func run(progress: ProgressHandler?) throws(ImagePackError) -> WriteSummary {
        // Header, metadata, stream table (spec §2: everything a streaming reader needs comes first).
        let parent = options.parent
        var features: FeatureFlags = parent == nil ? [] : .parent
        if options.catalogue { features.insert(.catalogue) }
        // Whether a chunk will be a reference is known only at the end: a sink that can rewrite
        // the header gets the `references` bit then, and only if one was written; a pipe gets it
        // up front whenever references may come (spec §3.2).
        var header = FileHeader(critical: features, chunkSize: UInt32(options.chunkSize))
        let rewritable = sink as? any RewritableSink
        if options.deduplicate, rewritable == nil { header.critical.insert(.references) }
        try emit(header.encode())
        // Format 1.2: META schema 2 (instance facts); 1.0: schema 1 (everything), spec §5.1.
        let json = options.catalogue ? CanonicalJSON.encode(state.metadata.instanceJSONValue) : try MetadataRecord.canonicalJSON(state.metadata)
        guard json.count <= ImageLimits().maxMetadataSize else {
            throw ImagePackError(.invalidArgument, "metadata is \(json.count) bytes of JSON, over the limit of \(ImageLimits().maxMetadataSize)")
        }
        let catalogueRecord = options.catalogue ? CatalogueRecord.encode(state.metadata) : []
        guard catalogueRecord.count <= Layout.envelopeSize + CatalogueRecord.maxBody else {
            throw ImagePackError(.invalidArgument, "the catalogue is \(catalogueRecord.count) bytes, over the limit of \(CatalogueRecord.maxDocumentSize) bytes of JSON")
        }
        try emit(encodeStructuralRecord(.metadata, body: MetadataRecord.encodeBody(json: json, schemaVersion: options.catalogue ? 2 : 1)))
        let streamBody = StreamTable.encodeBody(streams)
        try emit(encodeStructuralRecord(.streams, body: streamBody))
        if let parent { try emit(encodeStructuralRecord(.parent, body: ParentRecord.encodeBody(parentDigest: parent.rootDigest))) }

        // Chunks: workers read, hash and compress in parallel; records are emitted in order.
        let total = streams.reduce(UInt64(0)) { $0 + $1.logicalSize }
        var jobs: [(stream: Int, offset: UInt64, length: Int, parentDigest: Digest?, parentStream: Int?)] = []
        for (streamIndex, spec) in state.streams.enumerated() {
            // The parent's stream of the same name, if any: its chunk at the same range is compared by digest.
            let parentStream = parent.flatMap { p in p.streams.firstIndex { $0.name == spec.name } }
            var offset: UInt64 = 0
            while offset < spec.source.logicalSize {
                let length = Int(min(UInt64(options.chunkSize), spec.source.logicalSize - offset))
                var parentDigest: Digest?
                if let parent, let parentStream, offset < parent.streams[parentStream].logicalSize {
                    let e = parent.entries[parent.chunkIndex(stream: parentStream, offset: offset)]
                    if e.logicalOffset == offset, e.logicalLength == UInt32(length) { parentDigest = e.contentDigest }
                }
                jobs.append((streamIndex, offset, length, parentDigest, parentStream))
                offset += UInt64(length)
            }
        }
        let dedup = options.deduplicate ? DedupTable() : nil
        let slots = try (0..<OrderedParallel.slotCount(threads: options.threads)).map { _ throws(ImagePackError) in try EncodeSlot(options: options, dedup: dedup) }
        let sources = state.streams.map(\.source)
        let detectFill = options.detectFill
        let frozenJobs = jobs
        var done: UInt64 = 0
        try OrderedParallel.run(
            count: jobs.count, slots: slots, lanes: options.threads, cancellation: options.cancellation,
            work: { slot, j in
                let job = frozenJobs[j]
                slot.stream = UInt32(job.stream)
                slot.offset = job.offset
                slot.length = job.length
                slot.job = j
                slot.parentDigest = job.parentDigest
                slot.parentStream = job.parentStream
                slot.knownZero = sources[job.stream].isKnownZero(offset: job.offset, length: job.length)
                slot.run(source: sources[job.stream], detectFill: detectFill)
            },
            consume: { (slot, _) throws(ImagePackError) in
                try emitChunk(slot)
                done += UInt64(slot.length)
                progress?(done, total)
            })

        try checkSourcesUnchanged()
        if references > 0, !header.critical.contains(.references), let rewritable {
            header.critical.insert(.references)
            try withBytes(header.encode()) { (raw) throws(ImagePackError) in try rewritable.write(raw, at: 0) }
        }

        // Index and footer.
        let index = ImageIndex(
            metadataDigest: Digest.sha256(json), streamTableDigest: Digest.sha256(streamBody), parentDigest: parent?.rootDigest ?? .zero,
            entries: entries)
        let indexOffset = position
        let indexRecord = encodeStructuralRecord(.index, body: index.encodeBody())
        try emit(indexRecord)
        let root = index.rootDigest()
        var footer = FileFooter(indexOffset: indexOffset, indexLength: UInt64(indexRecord.count), fileLength: 0, rootDigest: root)
        let signatures = options.signatureRecords
        if options.catalogue {
            // The tail area (spec §9.4): the catalogue and signatures in its first slot, zeros after.
            let tailStart = position
            let run = catalogueRecord + signatures
            let tailLength = TailArea.length(start: tailStart, runLength: run.count)
            footer.catalogueOffset = tailStart
            footer.catalogueLength = UInt32(catalogueRecord.count)
            if !signatures.isEmpty {
                footer.signaturesOffset = tailStart + UInt64(catalogueRecord.count)
                footer.signaturesLength = UInt64(signatures.count)
            }
            try emit(run)
            try emit([UInt8](repeating: 0, count: Int(tailLength) - run.count))
        } else if !signatures.isEmpty {
            footer.signaturesOffset = position
            footer.signaturesLength = UInt64(signatures.count)
            try emit(signatures)
        }
        footer.fileLength = position + UInt64(Layout.footerSize)
        try emit(footer.encode())

        var byKind: [ChunkKind: Int] = [:]
        var byCodec: [Codec: Int] = [:]
        for e in entries {
            byKind[e.kind, default: 0] += 1
            if e.kind == .data { byCodec[e.codec, default: 0] += 1 }
        }
        return WriteSummary(
            rootDigest: root, fileLength: position, logicalBytes: total, payloadBytes: payloadBytes,
            chunkCount: entries.count, chunksByKind: byKind, chunksByCodec: byCodec, streams: streams)
    }

    /// The names of the streams of `state` whose sources changed since they were opened, in order.
    static func changedStreams(of state: SystemState) -> [String] {
        state.streams.filter { $0.source.changeSinceOpened() != nil }.map(\.name)
    }

    /// Fails with `.sourceChanged` if a source changed while it was read and the metadata does not
    /// already say so (``WriterOptions/sourceChangedTag``, set when the caller allowed it).
    func checkSourcesUnchanged() throws(ImagePackError) {
        let recorded = Set((state.metadata.tags[WriterOptions.sourceChangedTag] ?? "").split(separator: ",").map(String.init))
        let changed = state.streams.compactMap { s in s.source.changeSinceOpened().map { (name: s.name, how: $0) } }
        let unrecorded = changed.filter { !recorded.contains($0.name) }
        guard let first = unrecorded.first else { return }
        let what = unrecorded.map { "\($0.name) (\($0.how))" }.joined(separator: "; ")
        let remedy = options.allowChangingSource
            ? "the image went to a stream that cannot be rewritten to record this; write it to a file (ImageWriter.write(_:toFile:); imgpack: -o FILE) so that it is written again with the \(WriterOptions.sourceChangedTag) tag, and discard what was sent"
            : "pack a state that does not move: a snapshot (qemu-img snapshot / a qcow2 overlay, an LVM snapshot, a file system snapshot) or the file system frozen with fsfreeze, or stop the instance; "
                + "or accept an image that may be inconsistent (WriterOptions.allowChangingSource; imgpack: --allow-changing-source), which records it in the \(WriterOptions.sourceChangedTag) tag"
        throw ImagePackError(
            .sourceChanged,
            "\(unrecorded.count == 1 ? "a source" : "sources") changed while being read, so the image would hold a state that never existed: \(what). The image was left unfinished (no index, no footer) and a file destination is not published. To fix: \(remedy)",
            stream: first.name)
    }

    /// Appends one encoded chunk: its record (unless it is a zero chunk) and its index row.
    mutating func emitChunk(_ slot: EncodeSlot) throws(ImagePackError) {
        if let error = slot.error {
            throw error.enriched(stream: state.streams[Int(slot.stream)].name)
        }
        var header = ChunkHeader(
            kind: slot.kind, codec: slot.codec, stream: slot.stream, logicalOffset: slot.offset,
            logicalLength: UInt32(slot.length), payloadLength: 0, payloadCRC: slot.payloadCRC, contentDigest: slot.digest)
        switch slot.kind {
        case .zero:
            entries.append(ChunkEntry(zeroIn: slot.stream, offset: slot.offset, length: UInt32(slot.length), digest: slot.digest))
        case .fill:
            header.payloadLength = 8
            let recordOffset = position
            try emit(header.encodePrefix())
            try emit(withUnsafeBytes(of: slot.fillPattern.littleEndian) { Array($0) })
            payloadBytes += 8
            entries.append(ChunkEntry(header: header, recordOffset: recordOffset))
        case .data:
            if let dedup = slot.dedup {
                let key = slot.dedupKey
                // The latest copy, if a streaming reader still holds it when it meets this record (V60).
                if let target = dedup.target(of: key), position - target <= options.referenceDistance {
                    header.kind = .reference
                    header.codec = .stored
                    header.payloadLength = 8
                    let payload = withUnsafeBytes(of: target.littleEndian) { Array($0) }
                    header.payloadCRC = CRC32C.checksum(payload)
                    let recordOffset = position
                    try emit(header.encodePrefix())
                    try emit(payload)
                    payloadBytes += 8
                    references += 1
                    entries.append(ChunkEntry(header: header, recordOffset: recordOffset))
                    return
                }
                if slot.deferred {
                    do throws(ImagePackError) { try slot.compressDeferred() } catch {
                        throw error.enriched(stream: state.streams[Int(slot.stream)].name)
                    }
                    header.codec = slot.codec
                    header.payloadCRC = slot.payloadCRC
                }
                dedup.written(key, at: position)
            }
            header.payloadLength = UInt32(slot.payload.count)
            let recordOffset = position
            try emit(header.encodePrefix())
            try emit(slot.payload)
            payloadBytes += UInt64(slot.payload.count)
            entries.append(ChunkEntry(header: header, recordOffset: recordOffset))
        case .parent:
            let recordOffset = position
            try emit(header.encodePrefix())
            entries.append(ChunkEntry(header: header, recordOffset: recordOffset))
        case .reference:
            preconditionFailure("a worker never makes a reference: the writer decides them in order, above")
        }
    }
}
