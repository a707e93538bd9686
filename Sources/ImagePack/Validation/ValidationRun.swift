/// The state of one validation: what the structure pass established, and the problems so far.
final class ValidationRun {
    let file: ReadableFile
    let length: UInt64
    let options: ValidationOptions
    var limits: ImageLimits { options.limits }

    private(set) var problems: [ImagePackError] = []
    private(set) var truncated = false
    /// Set by the data-area walk (ValidationRun+DataArea.swift).
    var checkedChunks = 0

    /// Critical feature bits as stored (even when the header is damaged).
    var features: FeatureFlags = []
    var streams: [StreamInfo]?
    var metadataJSON: [UInt8]?
    var streamBody: [UInt8]?
    /// Where the chunk records begin (after STRM, or PRNT); nil when META or STRM cannot be located.
    var dataStart: UInt64?
    var parentRecordDigest: Digest?
    /// The parents supplied (``ReadOptions/parents``), resolved: without them, the content of
    /// parent and zstd-patch chunks is not checked (their structure is).
    var parents = ParentChain.none
    var footer: FileFooter?
    /// Footer offset when the file is long enough to hold one.
    var footerOffset: UInt64?
    var index: ImageIndex?
    var indexOffset: UInt64 = 0
    /// Where the footer says the index is, once that location passed V42 (whether or not the index was usable).
    var footerIndexOffset: UInt64?
    var verifiedRoot: Digest?
    /// The SIGN records the footer locates, when structurally valid (V44, V47).
    var signatures: [ImageSignature] = []

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
        problems.append(error.path == file.path ? error.withoutPath() : error)  // the report names the file once
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
            add(ImagePackError(.truncated, "the file is \(length) bytes, shorter than the 64-byte header; it is not an ImagePack image or was cut off", rule: .v1, offset: 0))
            return false
        }
        guard var bytes = read(at: 0, count: Layout.headerSize) else { return false }
        features = FeatureFlags(rawValue: bytes[16..<24].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        do {
            _ = try FileHeader.decode(bytes)
        } catch {
            add(error)
            switch error.code {
            case .badMagic, .unsupportedVersion:
                return false
            case .headerChecksumMismatch:
                // Read on as if the checksum were right, so the fields' own problems are reported too.
                let crc = CRC32C.checksum(Array(bytes[0..<60]))
                for k in 0..<4 { bytes[60 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
                do { _ = try FileHeader.decode(bytes) } catch {
                    add(error)
                    if error.code == .unsupportedVersion { return false }
                }
            default:
                break
            }
        }
        return true
    }

    // MARK: Footer, index, signatures (V30, V40-V44)

    func checkFooterAndIndex() {
        guard length >= UInt64(Layout.headerSize + Layout.footerSize) else {
            add(ImagePackError(.truncated, "the file is \(length) bytes, too short to hold header and footer: the image was cut off", rule: .v40, offset: length))
            return
        }
        let footerAt = length - UInt64(Layout.footerSize)
        footerOffset = footerAt
        guard let bytes = read(at: footerAt, count: Layout.footerSize),
            let footer = attempt({ () throws(ImagePackError) in try FileFooter.decode(bytes, at: footerAt) })
        else { return }
        self.footer = footer
        let placement = footer.check(at: footerAt, fileLength: length, catalogue: features.contains(.catalogue))
        placement.problems.forEach(add)
        guard let (indexAt, indexLength) = placement.index else { return }
        footerIndexOffset = indexAt
        if let index = loadIndex(at: indexAt, recordLength: indexLength) {
            self.index = index
            indexOffset = indexAt
        }
        if let (at, count) = placement.catalogue, let record = read(at: at, count: Int(count)) {
            _ = attempt { () throws(ImagePackError) in try CatalogueRecord.decode(record, at: at, into: ImageMetadata(name: "")) }
        }
        if let (at, count) = placement.signatures, let region = read(at: at, count: Int(count)) {
            signatures = attempt { () throws(ImagePackError) in try SignatureRecords.decodeRegion(region, at: at) } ?? []
        }
    }

    /// Reads and decodes the INDX record at `offset` (rules V30-V31); nil, with the problem
    /// reported, when it cannot be used.
    func loadIndex(at offset: UInt64, recordLength: UInt64) -> ImageIndex? {
        guard attempt({ () throws(ImagePackError) in try ImageIndex.checkRecordLength(recordLength, at: offset, limits: limits) }) != nil,
            let record = read(at: offset, count: Int(recordLength))
        else { return nil }
        return attempt { () throws(ImagePackError) in try ImageIndex.load(record, at: offset, limits: limits) }
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
        if let body = structural(at: &cursor, type: .metadata, maxBody: limits.maxMetadataSize + 12, limit: limit, rule: .v11, code: .metadataChecksumMismatch) {
            if body.count >= 8 { metadataJSON = Array(body[8...]) }
            _ = attempt { () throws(ImagePackError) in
                try MetadataRecord.decodeBody(body, at: UInt64(Layout.headerSize + Layout.envelopeSize), limits: limits, catalogue: features.contains(.catalogue))
            }
        }
        let streamAt = cursor
        if let body = structural(at: &cursor, type: .streams, maxBody: limits.maxStreamTableBody, limit: limit, rule: .v13, code: .recordChecksumMismatch), let streamAt {
            streamBody = body
            streams = attempt { () throws(ImagePackError) in try StreamTable.decodeBody(body, at: streamAt + UInt64(Layout.envelopeSize), limits: limits) }
        }
        if features.contains(.parent), let at = cursor {
            if let body = structural(at: &cursor, type: .parent, maxBody: ParentRecord.bodyLength, limit: limit, rule: .v45, code: .recordChecksumMismatch) {
                parentRecordDigest = attempt { () throws(ImagePackError) in try ParentRecord.decodeBody(body, at: at + UInt64(Layout.envelopeSize)) }
            } else if cursor == nil {
                add(ImagePackError(.unexpectedRecord, "the header sets the 'parent' feature but no PRNT record follows the stream table", rule: .v45, offset: at, field: "type"))
            }
        }
        dataStart = cursor
        if let parentRecordDigest, !options.read.parents.isEmpty {
            parents = attempt { () throws(ImagePackError) in try ParentChain.resolve(parentRecordDigest, from: options.read.parents, limits: limits) } ?? .none
        }
    }

    /// Reads the structural record of `type` at `cursor` (rules V7, V8, V10), reports a checksum
    /// mismatch and still returns the body, so that its content is checked too. Moves `cursor`
    /// past the record, or sets it to nil when the record's length is unusable.
    func structural(
        at cursor: inout UInt64?, type: RecordType, maxBody: Int, limit: UInt64, rule: Rule, code: ImagePackError.Code
    ) -> [UInt8]? {
        guard let at = cursor else { return nil }
        cursor = nil
        guard limit >= at, limit - at >= UInt64(Layout.envelopeSize) else {
            add(ImagePackError(.truncated, "the image ends (or its index begins) at \(limit), before the \(type) record expected at \(at)", rule: .v8, offset: at, field: "type"))
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
        if let streams, let dataStart {
            do throws(ImagePackError) {
                try index.checkLayout(streams: streams, features: features, dataStart: dataStart, dataEnd: indexAt, indexOffset: indexAt)
            } catch {
                if error.rule != .v36 { add(error) }  // reported below for every such entry
            }
            _ = attempt { () throws(ImagePackError) in try limits.checkLogicalTotal(streams, at: UInt64(Layout.headerSize)) }
        }
        _ = attempt { () throws(ImagePackError) in try index.checkBudget(fileLength: length, indexOffset: indexAt, limits: limits) }
        for (i, e) in index.entries.enumerated() where e.kind.requiredFeature != nil {
            _ = attempt { () throws(ImagePackError) in try e.kind.checkFeature(features, at: ImageIndex.entryOffset(i, indexOffset: indexAt), chunk: i) }
        }
        checkedChunks += index.entries.lazy.filter { $0.kind == .zero }.count
        for problem in index.crossCheck(
            metadataJSON: metadataJSON, streamTableBody: streamBody, parentFeature: features.contains(.parent),
            parentRecordDigest: parentRecordDigest, indexOffset: indexAt
        ) {
            add(problem.chunk.map { problem.enriched(stream: streamName(index.entries[$0].stream)) } ?? problem)
        }
        if let footer, let footerOffset {
            verifiedRoot = attempt { () throws(ImagePackError) in try index.checkRoot(against: footer, footerOffset: footerOffset) }
        }
        // V48, with the caller's keys, against the root digest the index gives (as verify does).
        if !options.trust.keys.isEmpty, let root = verifiedRoot {
            for verdict in options.trust.evaluate(signatures, rootDigest: root) where verdict.status == .invalid {
                add(ImagePackError(
                    .signatureInvalid,
                    "the signature by trusted key \(verdict.signature.keyID.hex) does not verify against the image's root digest \(root): it was made for another image or forged",
                    rule: .v48, offset: verdict.signature.recordOffset + 56, field: "signature"))
            }
        }
    }

    func streamName(_ stream: UInt32) -> String {
        if let streams, Int(stream) < streams.count { return streams[Int(stream)].name }
        return "\(stream)"
    }

}
