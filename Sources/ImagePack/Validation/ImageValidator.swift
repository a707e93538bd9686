import Dispatch

/// Checks an image against every numbered rule of spec/FORMAT.md and reports every problem it
/// finds, not just the first.
///
/// The readers stop at the first problem; the validator keeps going wherever the image still
/// makes sense: a damaged metadata checksum is reported and the index and chunks are checked all
/// the same; a bad chunk does not stop the others; when the footer or the index is unusable it
/// walks the records from offset 64 (spec §12.3) and still checks every chunk record it finds.
/// It also checks what the random-access reader cannot cheaply: that the data area is exactly
/// the chunk records the index lists (plus optional records of unknown type), with no unlisted
/// record or stray bytes.
///
/// Memory stays bounded whatever the image claims: every length is checked against the limits
/// and against the file's size before anything is allocated, and chunks are decoded a few at a
/// time into buffers of their declared (bounded) length.
public enum ImageValidator {
    /// Validates the image at `path`.
    /// - Returns: the report; problems with the image are in it, never thrown.
    /// - Throws: only when the file cannot be read at all (`.ioFailed`, `.invalidArgument` for a
    ///   pipe or directory) or when `options.cancellation` fires (`.cancelled`).
    public static func validate(path: String, options: ValidationOptions = .init()) throws(ImagePackError) -> ValidationReport {
        let file: ReadableFile
        do { file = try ReadableFile(path: path) } catch { throw error.at(path: path) }
        return try validate(file: file, options: options)
    }

    /// Validates the image in `file`, which must be seekable.
    package static func validate(file: ReadableFile, options: ValidationOptions = .init()) throws(ImagePackError) -> ValidationReport {
        guard file.isSeekable, let length = file.size else {
            throw ImagePackError(.invalidArgument, "validation needs a regular file; for a pipe use the streaming reader", path: file.path)
        }
        let run = ValidationRun(file: file, length: length, options: options)
        try run.run()
        return ValidationReport(
            path: file.path, fileLength: length, problems: run.problems, checkedChunks: run.checkedChunks,
            truncatedProblemList: run.truncated, usedIndex: run.index != nil, rootDigest: run.verifiedRoot)
    }
}

/// The state of one validation: what the structure pass established, and the problems so far.
final class ValidationRun {
    let file: ReadableFile
    let length: UInt64
    let options: ValidationOptions
    var limits: ImageLimits { options.limits }

    private(set) var problems: [ImagePackError] = []
    private(set) var truncated = false
    private(set) var checkedChunks = 0

    /// Critical feature bits as stored (even when the header is damaged).
    var features: FeatureFlags = []
    var streams: [StreamInfo]?
    var metadataJSON: [UInt8]?
    var streamBody: [UInt8]?
    /// Where the chunk records begin (after STRM, or PRNT); nil when META or STRM cannot be located.
    var dataStart: UInt64?
    var parentRecordDigest: Digest?
    var footer: FileFooter?
    /// Footer offset when the file is long enough to hold one.
    var footerOffset: UInt64?
    var index: ImageIndex?
    var indexOffset: UInt64 = 0
    /// Where the footer says the index is, once that location passed V42 (whether or not the index was usable).
    var footerIndexOffset: UInt64?
    var verifiedRoot: Digest?

    init(file: ReadableFile, length: UInt64, options: ValidationOptions) {
        self.file = file
        self.length = length
        self.options = options
    }

    // MARK: Problems

    func add(_ error: ImagePackError) {
        guard problems.count < options.maxProblems else {
            truncated = true
            return
        }
        var e = error
        if e.path == file.path { e.path = nil }  // the report names the file once
        problems.append(e)
    }

    /// Runs `body`, reporting its error instead of throwing it.
    func attempt<T>(_ body: () throws(ImagePackError) -> T) -> T? {
        do { return try body() } catch {
            add(error)
            return nil
        }
    }

    func read(at offset: UInt64, count: Int) -> [UInt8]? {
        attempt { () throws(ImagePackError) in try file.read(at: offset, count: count) }
    }

    func run() throws(ImagePackError) {
        guard checkHeader() else { return }
        checkFooterAndIndex()
        checkMetadataAndStreams()
        if index == nil, let start = dataStart, let (at, recordLength) = locateIndex(from: start), at != footerIndexOffset {
            // The footer did not lead to an index: use the one found by walking the records.
            if let found = loadIndex(at: at, recordLength: recordLength) {
                index = found
                indexOffset = at
            }
        }
        if let index { checkIndex(index) }
        try checkDataArea()
    }

    // MARK: Header (V1-V6)

    /// Returns false when the file is not an image this library can interpret at all.
    func checkHeader() -> Bool {
        guard length >= UInt64(Layout.headerSize) else {
            add(ImagePackError(.truncated, "the file is \(length) bytes, shorter than the 64-byte header; it is not an ImagePack image or was cut off", rule: "V1", offset: 0))
            return false
        }
        guard var bytes = read(at: 0, count: Layout.headerSize) else { return false }
        features = FeatureFlags(rawValue: bytes[16..<24].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        var header: FileHeader?
        do {
            header = try FileHeader.decode(bytes)
        } catch {
            add(error)
            switch error.code {
            case .badMagic, .unsupportedVersion:
                return false
            case .headerChecksumMismatch:
                // Read on as if the checksum were right, so the fields' own problems are reported too.
                let crc = CRC32C.checksum(Array(bytes[0..<60]))
                for k in 0..<4 { bytes[60 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
                do { header = try FileHeader.decode(bytes) } catch {
                    add(error)
                    if error.code == .unsupportedVersion { return false }
                }
            default:
                break
            }
        }
        if let header { _ = attempt { () throws(ImagePackError) in try header.checkSupported() } }
        return true
    }

    // MARK: Footer, index, signatures (V30, V40-V44)

    func checkFooterAndIndex() {
        guard length >= UInt64(Layout.headerSize + Layout.footerSize) else {
            add(ImagePackError(.truncated, "the file is \(length) bytes, too short to hold header and footer: the image was cut off", rule: "V40", offset: length))
            return
        }
        let footerAt = length - UInt64(Layout.footerSize)
        footerOffset = footerAt
        guard let bytes = read(at: footerAt, count: Layout.footerSize),
            let footer = attempt({ () throws(ImagePackError) in try FileFooter.decode(bytes, at: footerAt) })
        else { return }
        self.footer = footer
        if footer.fileLength != length {
            let appended = footer.fileLength < length
            add(ImagePackError(appended ? .trailingData : .truncated, "the footer says the image is \(footer.fileLength) bytes but the file is \(length): it \(appended ? "has \(length - footer.fileLength) bytes appended after its end" : "was cut off")", rule: "V42", offset: footerAt + 32, field: "fileLength"))
        }
        if footer.signaturesOffset == 0, footer.signaturesLength != 0 {
            add(ImagePackError(.malformedField, "the footer gives \(footer.signaturesLength) bytes of signatures but no signature offset", rule: "V42", offset: footerAt + 24, field: "signaturesLength"))
        }
        let indexEnd = footer.signaturesOffset == 0 ? footerAt : footer.signaturesOffset
        let (computedEnd, overflow) = footer.indexOffset.addingReportingOverflow(footer.indexLength)
        guard !overflow, footer.indexOffset >= UInt64(Layout.headerSize), computedEnd == indexEnd,
            footer.signaturesOffset == 0 || footer.signaturesOffset.addingReportingOverflow(footer.signaturesLength) == (footerAt, false)
        else {
            add(ImagePackError(.malformedField, "the footer's index location (\(footer.indexOffset), \(footer.indexLength) bytes) and signature region (\(footer.signaturesOffset), \(footer.signaturesLength) bytes) do not end where the footer begins (\(footerAt))", rule: "V42", offset: footerAt, field: "indexOffset"))
            return
        }
        footerIndexOffset = footer.indexOffset
        if let index = loadIndex(at: footer.indexOffset, recordLength: footer.indexLength) {
            self.index = index
            indexOffset = footer.indexOffset
        }
        if footer.signaturesLength > 0 {
            if footer.signaturesLength > UInt64(StreamingReader.maxSignatureBytes) {
                add(ImagePackError(.limitExceeded, "the signature region is \(footer.signaturesLength) bytes, over the limit of \(StreamingReader.maxSignatureBytes)", rule: "V44", offset: footerAt + 24, field: "signaturesLength"))
            } else if let region = read(at: footer.signaturesOffset, count: Int(footer.signaturesLength)) {
                _ = attempt { () throws(ImagePackError) in try SignatureRecords.checkRegion(region, at: footer.signaturesOffset) }
            }
        }
    }

    /// Reads and decodes the INDX record at `offset` (rule V30-V31); nil, with the problem
    /// reported, when it cannot be used.
    func loadIndex(at offset: UInt64, recordLength: UInt64) -> ImageIndex? {
        guard recordLength <= UInt64(Layout.envelopeSize + limits.maxIndexBody), recordLength >= UInt64(Layout.envelopeSize + Layout.indexFixedSize + 4) else {
            add(ImagePackError(.limitExceeded, "the index is \(recordLength) bytes, outside what 0...\(limits.maxChunks) chunks need", rule: "V30", offset: offset, field: "indexLength"))
            return nil
        }
        guard let record = read(at: offset, count: Int(recordLength)) else { return nil }
        return attempt { () throws(ImagePackError) -> ImageIndex in
            let envelope = try RecordEnvelope.decode(record, at: offset)
            guard envelope.type == .index, envelope.bodyLength == recordLength - UInt64(Layout.envelopeSize) else {
                throw ImagePackError(.unexpectedRecord, "expected the INDX record at \(offset), found \(envelope.type) of \(envelope.bodyLength) bytes", rule: "V30", offset: offset, field: "type")
            }
            let body = try checkStructuralRecord(record, at: offset, rule: "V30", code: .indexChecksumMismatch)
            return try ImageIndex.decodeBody(body, at: offset + UInt64(Layout.envelopeSize), limits: limits)
        }
    }

    /// Walks record envelopes from `start` looking for an INDX record, when the footer did not
    /// lead to one (spec §12.3). Reads 16 bytes per record; stops at the first unreadable envelope.
    func locateIndex(from start: UInt64) -> (UInt64, UInt64)? {
        var position = start
        while length - min(length, position) >= UInt64(Layout.envelopeSize) {
            guard let bytes = try? file.read(at: position, count: Layout.envelopeSize),
                let envelope = try? RecordEnvelope.decode(bytes, at: position)
            else { return nil }
            let (end, overflow) = (position + UInt64(Layout.envelopeSize)).addingReportingOverflow(envelope.bodyLength)
            guard !overflow, end <= length else { return nil }
            if envelope.type == .index { return (position, end - position) }
            position = end
        }
        return nil
    }

    // MARK: Metadata, stream table, parent (V7-V15, V45)

    func checkMetadataAndStreams() {
        let limit = index != nil ? indexOffset : length
        var cursor: UInt64? = UInt64(Layout.headerSize)
        if let body = structural(at: &cursor, type: .metadata, maxBody: limits.maxMetadataSize + 12, limit: limit, rule: "V11", code: .metadataChecksumMismatch) {
            if body.count >= 8 { metadataJSON = Array(body[8...]) }
            _ = attempt { () throws(ImagePackError) in try MetadataRecord.decodeBody(body, at: UInt64(Layout.headerSize + Layout.envelopeSize), limits: limits) }
        }
        let streamAt = cursor
        if let body = structural(at: &cursor, type: .streams, maxBody: limits.maxStreamTableBody, limit: limit, rule: "V13", code: .recordChecksumMismatch), let streamAt {
            streamBody = body
            streams = attempt { () throws(ImagePackError) in try StreamTable.decodeBody(body, at: streamAt + UInt64(Layout.envelopeSize), limits: limits) }
        }
        if features.contains(.parent), let at = cursor {
            if let body = structural(at: &cursor, type: .parent, maxBody: 36, limit: limit, rule: "V45", code: .recordChecksumMismatch) {
                _ = attempt { () throws(ImagePackError) in
                    var c = ByteCursor(body, base: at + UInt64(Layout.envelopeSize), context: "parent record")
                    parentRecordDigest = try c.digest("parentDigest")
                    try c.reserved(4, "reserved")
                    guard c.remaining == 0 else {
                        throw ImagePackError(.malformedField, "the PRNT record has \(c.remaining) bytes after its fields", rule: "V45", offset: c.offset)
                    }
                }
            } else if cursor == nil {
                add(ImagePackError(.unexpectedRecord, "the header sets the 'parent' feature but no PRNT record follows the stream table", rule: "V45", offset: at, field: "type"))
            }
        }
        dataStart = cursor
    }

    /// Reads the structural record of `type` at `cursor` (rules V7, V8, V10), reports a checksum
    /// mismatch and still returns the body, so that its content is checked too. Moves `cursor`
    /// past the record, or sets it to nil when the record's length is unusable.
    func structural(
        at cursor: inout UInt64?, type: RecordType, maxBody: Int, limit: UInt64, rule: String, code: ImagePackError.Code
    ) -> [UInt8]? {
        guard let at = cursor else { return nil }
        cursor = nil
        guard limit >= at, limit - at >= UInt64(Layout.envelopeSize) else {
            add(ImagePackError(.truncated, "the image ends (or its index begins) at \(limit), before the \(type) record expected at \(at)", rule: "V8", offset: at, field: "type"))
            return nil
        }
        guard let bytes = read(at: at, count: Layout.envelopeSize),
            let envelope = attempt({ () throws(ImagePackError) in
                let envelope = try RecordEnvelope.decode(bytes, at: at)
                try envelope.expect(type, at: at, maxBody: maxBody, limit: limit)
                return envelope
            })
        else { return nil }
        guard let record = read(at: at, count: Layout.envelopeSize + Int(envelope.bodyLength)) else { return nil }
        cursor = at + UInt64(record.count)
        do {
            return try checkStructuralRecord(record, at: at, rule: rule, code: code)
        } catch {
            add(error)
            return Array(record[Layout.envelopeSize..<record.count - 4])
        }
    }

    // MARK: Index against everything else (V28, V32-V36, V43, V45)

    func checkIndex(_ index: ImageIndex) {
        let indexAt = indexOffset
        func entryOffset(_ i: Int) -> UInt64 { indexAt + UInt64(Layout.envelopeSize + Layout.indexFixedSize + i * Layout.indexEntrySize) }
        if let streams, let dataStart {
            do throws(ImagePackError) {
                try index.checkLayout(streams: streams, dataStart: dataStart, dataEnd: indexAt, indexOffset: indexAt)
            } catch {
                if error.rule != "V36" { add(error) }  // reported below for every such entry
            }
        }
        for (i, e) in index.entries.enumerated() where e.kind == .parent || e.kind == .reference {
            let feature: FeatureFlags = e.kind == .parent ? .parent : .references
            if !features.contains(feature) {
                add(ImagePackError(.unknownCriticalFeature, "a \(e.kind) chunk needs the header's \(e.kind == .parent ? "parent" : "references") feature flag, which this image does not set", rule: "V36", offset: entryOffset(i), chunk: i, field: "kind"))
            }
        }
        checkedChunks += index.entries.lazy.filter { $0.kind == .zero }.count
        for var problem in index.crossCheck(
            metadataJSON: metadataJSON, streamTableBody: streamBody, parentFeature: features.contains(.parent),
            parentRecordDigest: parentRecordDigest, indexOffset: indexAt
        ) {
            if let chunk = problem.chunk { problem.stream = streamName(index.entries[chunk].stream) }
            add(problem)
        }
        let root = index.rootDigest()
        if let footer, let footerOffset {
            if root == footer.rootDigest {
                verifiedRoot = root
            } else {
                add(ImagePackError(.rootDigestMismatch, "the root digest recomputed from the index (\(root)) is not the one in the footer (\(footer.rootDigest))", rule: "V43", offset: footerOffset + 40, field: "rootDigest"))
            }
        }
    }

    func streamName(_ stream: UInt32) -> String {
        if let streams, Int(stream) < streams.count { return streams[Int(stream)].name }
        return "\(stream)"
    }

    // MARK: Data area (V7, V8, V20-V28, V33, V34)

    /// A listed record: its file offset and its entry in the index.
    struct Listed {
        var offset: UInt64
        var entry: Int
    }

    func checkDataArea() throws(ImagePackError) {
        var listed: [Listed] = []
        if let index {
            for (i, e) in index.entries.enumerated() where e.kind != .zero {
                listed.append(Listed(offset: e.recordOffset, entry: i))
            }
            if zip(listed, listed.dropFirst()).contains(where: { $0.offset > $1.offset }) { listed.sort { $0.offset < $1.offset } }
        }
        let end = index != nil ? indexOffset : length
        guard let start = dataStart ?? listed.first?.offset else { return }
        var walker = DataAreaWalk(run: self, listed: listed, end: end)
        try walker.walk(from: start)
    }

    /// Accounts one decoded chunk.
    func chunkChecked(_ error: ImagePackError?) {
        checkedChunks += 1
        if let error { add(error) }
    }
}

/// Walks the records of the data area in file order, checking each CHNK record on its own and
/// against the index entry that locates it, and decoding payloads a batch at a time in parallel.
struct DataAreaWalk {
    let run: ValidationRun
    let listed: [ValidationRun.Listed]
    var nextListed = 0
    let end: UInt64
    var pending: [ChunkJob] = []
    let lanes: [DecodeLane]

    init(run: ValidationRun, listed: [ValidationRun.Listed], end: UInt64) {
        self.run = run
        self.listed = listed
        self.end = end
        lanes = (0..<run.options.threads).map { _ in DecodeLane() }
    }

    var index: ImageIndex? { run.index }

    mutating func walk(from start: UInt64) throws(ImagePackError) {
        var position = start
        let recovering = index == nil
        walking: while position < end, !run.truncated {
            passListed(before: position)
            let next: UInt64?
            do throws(ImagePackError) {
                next = try record(at: position, recovering: recovering)
            } catch {
                // Not a record: report why, and pick the walk up again where the index says the
                // next record is.
                var e = error
                if nextListed < listed.count, listed[nextListed].offset == position, let index {
                    let l = listed[nextListed]
                    nextListed += 1
                    e.chunk = l.entry
                    run.add(e)
                    position += index.entries[l.entry].storedSize
                    continue
                }
                run.add(e)
                next = nil
            }
            if let next {
                if next == position { break walking }  // INDX reached while recovering
                position = next
                continue
            }
            guard nextListed < listed.count, listed[nextListed].offset > position, listed[nextListed].offset < end else {
                if !recovering || position < end {
                    run.add(ImagePackError(.chunkLayoutInvalid, "the \(end - position) bytes from \(position) to \(recovering ? "the end of the file" : "the index") are not records the index lists", rule: recovering ? "V7" : "V34", offset: position))
                }
                break walking
            }
            let resume = listed[nextListed].offset
            run.add(ImagePackError(.chunkLayoutInvalid, "the \(resume - position) bytes from \(position) to \(resume) are not a record the index lists: the data area must be exactly the listed chunk records", rule: "V34", offset: position))
            position = resume
        }
        try flush()
        passListed(before: run.truncated ? 0 : UInt64.max)
    }

    /// Reports listed records the walk went past without finding a record starting there.
    mutating func passListed(before position: UInt64) {
        while nextListed < listed.count, listed[nextListed].offset < position {
            let l = listed[nextListed]
            nextListed += 1
            guard let index else { continue }
            let e = index.entries[l.entry]
            run.add(ImagePackError(.indexMismatch, "index entry \(l.entry) locates a chunk record at \(l.offset), but no record starts there", rule: "V34", offset: l.offset, chunk: l.entry, stream: run.streamName(e.stream), field: "recordOffset"))
        }
    }

    /// Checks the record at `position`; returns where the next record starts (or `position` itself
    /// when recovery reached the index). Throws when there is no usable record at `position`.
    mutating func record(at position: UInt64, recovering: Bool) throws(ImagePackError) -> UInt64? {
        guard end - position >= UInt64(Layout.envelopeSize) else {
            throw ImagePackError(.truncated, "\(end - position) bytes at \(position) are too few for a record header", rule: "V7", offset: position)
        }
        let envelope = try RecordEnvelope.decode(try run.file.read(at: position, count: Layout.envelopeSize), at: position)
        let available = end - position - UInt64(Layout.envelopeSize)
        let recordEnd: UInt64? = envelope.bodyLength <= available ? position + UInt64(Layout.envelopeSize) + envelope.bodyLength : nil
        switch envelope.type {
        case .chunk:
            return try chunk(at: position, envelope: envelope, recordEnd: recordEnd)
        case .index where recovering:
            return position
        default:
            break
        }
        guard let recordEnd else {
            throw ImagePackError(.limitExceeded, "\(envelope.type) record at \(position) claims \(envelope.bodyLength) bytes, past the end of the data area (\(end))", rule: "V10", offset: position + 8, field: "bodyLength")
        }
        switch envelope.type {
        case .metadata, .streams, .index, .signature:
            run.add(ImagePackError(.unexpectedRecord, "a \(envelope.type) record at \(position) is out of place: only chunk records belong between the stream table and the index", rule: "V8", offset: position, field: "type"))
        case .parent:
            run.add(ImagePackError(.unexpectedRecord, "a PRNT record at \(position) is out of place: it belongs right after the stream table, and only with the 'parent' feature", rule: "V45", offset: position, field: "type"))
        default:
            if envelope.critical {
                run.add(ImagePackError(.unknownRecordType, "record type \(envelope.type) at \(position) is critical and unknown to this reader; use a newer imgpack", rule: "V7", offset: position, field: "type"))
            }
            // An optional record of unknown type: allowed between chunk records, skipped.
        }
        return recordEnd
    }

    /// Checks a CHNK record's header and its agreement with the index (V20-V24, V34, V36) and
    /// queues its payload for decoding (V26-V28).
    mutating func chunk(at position: UInt64, envelope: RecordEnvelope, recordEnd: UInt64?) throws(ImagePackError) -> UInt64? {
        var entryIndex: Int?
        if nextListed < listed.count, listed[nextListed].offset == position {
            entryIndex = listed[nextListed].entry
            nextListed += 1
        }
        let entry = entryIndex.map { index!.entries[$0] }
        // Where the next record starts if this one's header is unusable: the index knows best.
        let fallbackEnd = entry.map { position + $0.storedSize } ?? recordEnd
        let prefixLength = Int(min(UInt64(Layout.chunkPrefixSize), end - position))
        let prefix = try run.file.read(at: position, count: prefixLength)
        let header: ChunkHeader
        do throws(ImagePackError) {
            header = try ChunkHeader.decodePrefix(prefix, at: position, limits: run.limits)
        } catch {
            var e = error
            e.chunk = entryIndex
            if let entry { e.stream = run.streamName(entry.stream) }
            run.add(e)
            guard let fallbackEnd, fallbackEnd > position, fallbackEnd <= end else { return nil }
            return fallbackEnd
        }
        // V24 holds, so the envelope's length is the record's: it must fit in the data area.
        guard let recordEnd else {
            throw ImagePackError(.chunkLayoutInvalid, "chunk record at \(position) (\(envelope.bodyLength) bytes) extends past the end of the data area (\(end))", rule: "V33", offset: position + 8, chunk: entryIndex, field: "bodyLength")
        }
        let stream = run.streamName(header.stream)
        if let index {
            if let i = entryIndex {
                if !index.entries[i].matches(header) {
                    run.add(ImagePackError(.indexMismatch, "the chunk record at \(position) does not say what index entry \(i) says about it", rule: "V34", offset: position, chunk: i, stream: stream))
                }
            } else {
                run.add(ImagePackError(.indexMismatch, "the data area holds a chunk record at \(position) (stream \(stream), offset \(header.logicalOffset)) that the index does not list", rule: "V34", offset: position, stream: stream))
            }
        }
        if let streams = run.streams {
            guard Int(header.stream) < streams.count else {
                run.add(ImagePackError(.chunkLayoutInvalid, "chunk names stream \(header.stream) but the image has \(streams.count)", rule: "V23", offset: position + 20, chunk: entryIndex, field: "stream"))
                return recordEnd
            }
            let (chunkEnd, overflow) = header.logicalOffset.addingReportingOverflow(UInt64(header.logicalLength))
            guard !overflow, chunkEnd <= streams[Int(header.stream)].logicalSize else {
                run.add(ImagePackError(.chunkLayoutInvalid, "chunk ends past the end of stream \"\(stream)\" (\(streams[Int(header.stream)].logicalSize) bytes)", rule: "V23", offset: position + 24, chunk: entryIndex, stream: stream, field: "logicalOffset"))
                return recordEnd
            }
        }
        switch header.kind {
        case .parent, .reference:
            let feature: FeatureFlags = header.kind == .parent ? .parent : .references
            if !run.features.contains(feature) {
                run.add(ImagePackError(.unknownCriticalFeature, "a \(header.kind) chunk needs the header's \(header.kind == .parent ? "parent" : "references") feature flag, which this image does not set", rule: "V36", offset: position + 16, chunk: entryIndex, stream: stream, field: "kind"))
            }
            // Content of these kinds lives elsewhere; this library does not resolve it yet (reported as V5).
            return recordEnd
        case .data, .fill, .zero:
            break
        }
        if run.options.checkChunks {
            pending.append(ChunkJob(header: header, offset: position, entry: entryIndex, stream: stream))
            if pending.count >= lanes.count * 2 { try flush() }
        }
        return recordEnd
    }

    /// Decodes and hashes the queued chunks in parallel; reports their problems in file order.
    mutating func flush() throws(ImagePackError) {
        guard !pending.isEmpty else { return }
        try run.options.cancellation?.check()
        let jobs = pending
        pending.removeAll(keepingCapacity: true)
        let lanes = self.lanes
        let file = run.file
        let width = min(lanes.count, jobs.count)
        if width <= 1 {
            for job in jobs { lanes[0].decode(job, file: file) }
        } else {
            DispatchQueue.concurrentPerform(iterations: width) { lane in
                var j = lane
                while j < jobs.count {
                    lanes[lane].decode(jobs[j], file: file)
                    j += width
                }
            }
        }
        for job in jobs { run.chunkChecked(job.error) }
    }
}

/// One chunk record waiting to be decoded, and what decoding it found.
final class ChunkJob: @unchecked Sendable {
    let header: ChunkHeader
    let offset: UInt64
    let entry: Int?
    let stream: String
    var error: ImagePackError?

    init(header: ChunkHeader, offset: UInt64, entry: Int?, stream: String) {
        self.header = header
        self.offset = offset
        self.entry = entry
        self.stream = stream
    }
}

/// A decoding thread's reusable state: its decoder and buffers, grown to the largest chunk seen
/// (each bounded by `maxChunkSize` through rule V22), so memory follows the image, not the limit.
final class DecodeLane: @unchecked Sendable {
    let decoder = PayloadDecoder()
    private var payload = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var output = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    deinit {
        payload.deallocate()
        output.deallocate()
    }

    private static func grow(_ buffer: inout UnsafeMutableRawBufferPointer, to count: Int) -> UnsafeMutableRawBufferPointer {
        if buffer.count < count {
            buffer.deallocate()
            buffer = .allocate(byteCount: count, alignment: 64)
        }
        return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
    }

    func decode(_ job: ChunkJob, file: ReadableFile) {
        let header = job.header
        let payloadOffset = job.offset + UInt64(Layout.chunkPrefixSize)
        do throws(ImagePackError) {
            let stored = Self.grow(&payload, to: Int(header.payloadLength))
            if !stored.isEmpty { try file.read(at: payloadOffset, into: stored) }
            let decoded = Self.grow(&output, to: Int(header.logicalLength))
            try ChunkVerifier.decode(header, payload: UnsafeRawBufferPointer(stored), into: decoded, decoder: decoder, verifyDigest: true, payloadOffset: payloadOffset)
        } catch {
            var e = error
            e.chunk = job.entry
            e.stream = job.stream
            e.path = nil
            job.error = e
        }
    }
}
