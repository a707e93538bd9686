import Dispatch
import Synchronization

/// Random access to an image in a seekable file: finds everything from the footer, then reads,
/// decompresses and verifies only the chunks a request touches.
///
/// Opening checks the whole structure (header, metadata, stream table, index, footer and the
/// root digest recomputed from the index) but no chunk payloads; ``verify(_:maxFailures:)`` checks
/// every chunk. Safe to use from several threads at once.
public final class ImageReader: Sendable {
    public let path: String
    public let metadata: ImageMetadata
    /// The canonical JSON the metadata was read from.
    package let metadataJSON: [UInt8]
    public let streams: [StreamInfo]
    /// The image's identity: equal digests mean equal metadata, streams and content (spec §8.3).
    public let rootDigest: Digest
    /// The image's SIGN records, structurally checked (V44, V47) but not verified: which keys
    /// count is the caller's policy (``TrustPolicy``).
    public let signatures: [ImageSignature]
    /// Every chunk, in index order; held in the index's 64-byte form, each ``ChunkEntry`` made on access.
    public let entries: ChunkEntries
    public let fileLength: UInt64
    public let chunkSize: UInt32
    /// The header's minor format version: the lowest whose features the image uses (1.0, 1.1 for
    /// deltas, 1.2 with a catalogue record), so `info` can say which readers can open it.
    public let formatMinorVersion: UInt16
    /// `major.minor`, as spec/FORMAT.md numbers its versions.
    public var formatVersion: String { "\(FormatVersion.major).\(formatMinorVersion)" }
    /// The header's critical features (``FeatureFlags/catalogue``: format 1.2's catalogue record).
    package let features: FeatureFlags
    /// Whether the image keeps its catalogue outside the root digest (format 1.2, spec §5.4), so
    /// that sharing, renaming and copying to another region keep its identity and signatures.
    public var hasCatalogueRecord: Bool { features.contains(.catalogue) }
    /// Root digest of the image this one is a delta on (spec §9.3); nil for a full image.
    public let parentDigest: Digest?
    /// The parent images below this one, direct parent first (empty when it has none, or when it
    /// was opened without them: ``ParentChain/unresolved`` then says what is missing).
    package let parents: ParentChain
    package let limits: ImageLimits
    let file: ReadableFile
    let footer: FileFooter
    /// Where the data area (chunk records and optional records) begins: the end of STRM.
    let dataStart: UInt64
    /// For each stream, the range of `entries` that belongs to it.
    package let streamEntries: [Range<Int>]
    /// The record offsets of the non-zero chunks, ascending (V33), and their entry numbers: where
    /// a reference chunk's target is looked up. Empty unless the image has feature `references`.
    private let recordOffsets: [UInt64]
    private let recordEntries: [UInt32]
    /// Decoders and buffers for reads that do not bring their own (random access), reused so
    /// that a small read allocates nothing.
    let scratch = Pool<DecodeSlot>(capacity: 16) { DecodeSlot() }
    /// The most recently decoded chunk (in its slot's output), so small sequential reads decode
    /// each chunk once.
    private let recent = Mutex<DecodeSlot?>(nil)

    /// Opens and checks the image at `path` (rules V1-V45, except chunk payloads).
    /// - Parameter parents: for a delta image, its parent and the parent's own parents, in any
    ///   order; each is matched by root digest (V49). A delta opened without parents can be
    ///   inspected, but reading a chunk that needs the parent throws `.parentRequired`.
    public convenience init(path: String, limits: ImageLimits = .init(), parents: [ImageReader] = []) throws(ImagePackError) {
        let file: ReadableFile
        do { file = try ReadableFile(path: path) } catch { throw error.at(path: path) }
        try self.init(file: file, limits: limits, parents: parents)
    }

    init(file: ReadableFile, limits: ImageLimits, parents pool: [ImageReader] = []) throws(ImagePackError) {
        do throws(ImagePackError) {
            guard file.isSeekable, let length = file.size else {
                throw ImagePackError(.invalidArgument, "random access needs a regular file; read pipes with the streaming reader")
            }
            self.file = file
            path = file.path
            fileLength = length
            self.limits = limits
            guard length >= UInt64(Layout.headerSize + Layout.footerSize) else {
                throw ImagePackError(.truncated, "the file is \(length) bytes, too short for an ImagePack image", rule: .v40, offset: 0)
            }
            let headerBytes = try file.read(at: 0, count: Layout.headerSize)
            let header = try FileHeader.decode(headerBytes)
            chunkSize = header.chunkSize
            // spec §3: the minor version, bytes 10-11 little-endian (decode checks the major only).
            formatMinorVersion = UInt16(headerBytes[10]) | UInt16(headerBytes[11]) << 8
            let footerOffset = length - UInt64(Layout.footerSize)
            footer = try FileFooter.decode(try file.read(at: footerOffset, count: Layout.footerSize), at: footerOffset)
            let hasCatalogue = header.critical.contains(.catalogue)
            features = header.critical
            let placement = footer.check(at: footerOffset, fileLength: length, catalogue: hasCatalogue)
            if let problem = placement.problems.first { throw problem }
            // No problem, so the footer located the index.
            let (indexAt, indexLength) = placement.index!
            try ImageIndex.checkRecordLength(indexLength, at: indexAt, limits: limits)
            let index = try ImageIndex.load(try file.read(at: indexAt, count: Int(indexLength)), at: indexAt, limits: limits)

            // Metadata and stream table follow the header.
            var cursor = UInt64(Layout.headerSize)
            let metaBody = try Self.readStructural(file, at: &cursor, type: .metadata, maxBody: limits.maxMetadataSize + 12, limit: footer.indexOffset, rule: .v11, code: .metadataChecksumMismatch)
            let (instance, json) = try MetadataRecord.decodeBody(metaBody, at: UInt64(Layout.headerSize + Layout.envelopeSize), limits: limits, catalogue: hasCatalogue)
            metadataJSON = json
            let streamAt = cursor
            let streamBody = try Self.readStructural(file, at: &cursor, type: .streams, maxBody: limits.maxStreamTableBody, limit: footer.indexOffset, rule: .v13, code: .recordChecksumMismatch)
            streams = try StreamTable.decodeBody(streamBody, at: streamAt + UInt64(Layout.envelopeSize), limits: limits)
            var parentRecordDigest: Digest?
            if header.critical.contains(.parent) {
                let parentAt = cursor
                let body = try Self.readStructural(file, at: &cursor, type: .parent, maxBody: ParentRecord.bodyLength, limit: footer.indexOffset, rule: .v45, code: .recordChecksumMismatch)
                parentRecordDigest = try ParentRecord.decodeBody(body, at: parentAt + UInt64(Layout.envelopeSize))
            }
            dataStart = cursor
            try index.checkLayout(streams: streams, features: header.critical, dataStart: cursor, dataEnd: footer.indexOffset, indexOffset: footer.indexOffset)
            try limits.checkLogicalTotal(streams, at: streamAt)
            try index.checkBudget(fileLength: length, indexOffset: footer.indexOffset, limits: limits)
            if let problem = index.crossCheck(
                metadataJSON: metadataJSON, streamTableBody: streamBody, parentFeature: header.critical.contains(.parent),
                parentRecordDigest: parentRecordDigest, indexOffset: footer.indexOffset
            ).first {
                throw problem
            }
            if let (at, count) = placement.catalogue {
                metadata = try CatalogueRecord.decode(try file.read(at: at, count: Int(count)), at: at, into: instance)
            } else {
                metadata = instance
            }
            if let (at, count) = placement.signatures {
                signatures = try SignatureRecords.decodeRegion(try file.read(at: at, count: Int(count)), at: at)
            } else {
                signatures = []
            }
            let root = try index.checkRoot(against: footer, footerOffset: footerOffset)
            rootDigest = root
            parentDigest = parentRecordDigest
            parents = try ParentChain.resolve(parentRecordDigest, from: pool, limits: limits)
            entries = index.entries
            var ranges: [Range<Int>] = []
            var start = 0
            for s in 0..<streams.count {
                var end = start
                while end < entries.count && Int(entries[end].stream) == s { end += 1 }
                ranges.append(start..<end)
                start = end
            }
            streamEntries = ranges
            var offsets: [UInt64] = []
            var numbers: [UInt32] = []
            if header.critical.contains(.references) {
                for (i, e) in entries.enumerated() where e.kind != .zero {
                    offsets.append(e.recordOffset)
                    numbers.append(UInt32(i))
                }
            }
            recordOffsets = offsets
            recordEntries = numbers
        } catch {
            throw error.at(path: file.path)
        }
    }

    /// Reads the structural record of `type` at `cursor`, checks it and advances past it.
    static func readStructural(
        _ file: ReadableFile, at cursor: inout UInt64, type: RecordType, maxBody: Int, limit: UInt64, rule: Rule, code: ImagePackError.Code
    ) throws(ImagePackError) -> [UInt8] {
        let envelopeBytes = try file.read(at: cursor, count: Layout.envelopeSize)
        let envelope = try RecordEnvelope.decode(envelopeBytes, at: cursor)
        try envelope.expect(type, at: cursor, maxBody: maxBody, limit: limit)
        let record = try file.read(at: cursor, count: Layout.envelopeSize + Int(envelope.bodyLength))
        let body = try checkStructuralRecord(record, at: cursor, rule: rule, code: code)
        cursor += UInt64(record.count)
        return body
    }

    // MARK: Lookup

    /// The index of the stream called `name`.
    public func streamIndex(named name: String) throws(ImagePackError) -> Int {
        guard let i = streams.firstIndex(where: { $0.name == name }) else {
            let known = streams.map(\.name).joined(separator: ", ")
            throw ImagePackError(.noSuchStream, "no stream named \"\(name)\"; the image has: \(known)", path: path)
        }
        return i
    }

    /// The chunks of stream `stream`, in logical order.
    public func chunks(ofStream stream: Int) -> Slice<ChunkEntries> { entries[streamEntries[stream]] }

    /// Index (into ``entries``) of the chunk of `stream` that holds `offset`.
    package func chunkIndex(stream: Int, offset: UInt64) -> Int {
        var range = streamEntries[stream]
        while range.count > 1 {
            let mid = range.lowerBound + range.count / 2
            if entries[mid].logicalOffset <= offset { range = mid..<range.upperBound } else { range = range.lowerBound..<mid }
        }
        return range.lowerBound
    }

    // MARK: Reading

    /// Reads chunk `i` and decodes it into `output` (exactly its length), checking every rule on the way.
    /// - Parameters:
    ///   - scratch: the decoder and record buffer to use; one from the shared pool when nil.
    ///   - contentNeeded: false to check the chunk without needing its content in `output`
    ///     (verify): fill chunks are then checked from their pattern alone.
    ///   - parents: the chain `parent` and `zstd-patch` chunks read from; nil for this reader's
    ///     own (a reader that is itself a parent in a chain gets the rest of that chain).
    package func decodeChunk(
        _ i: Int, into output: UnsafeMutableRawBufferPointer, verifyDigest: Bool = true, contentNeeded: Bool = true,
        scratch: DecodeSlot? = nil, parents: ParentChain? = nil
    ) throws(ImagePackError) {
        let parents = parents ?? self.parents
        if let scratch {
            return try decodeChunk(i, into: output, verifyDigest: verifyDigest, contentNeeded: contentNeeded, using: scratch, parents: parents)
        }
        try self.scratch.with { (scratch) throws(ImagePackError) in
            try decodeChunk(i, into: output, verifyDigest: verifyDigest, contentNeeded: contentNeeded, using: scratch, parents: parents)
        }
    }

    private func decodeChunk(
        _ i: Int, into output: UnsafeMutableRawBufferPointer, verifyDigest: Bool, contentNeeded: Bool, using scratch: DecodeSlot, parents: ParentChain
    ) throws(ImagePackError) {
        let entry = entries[i]
        do throws(ImagePackError) {
            switch entry.kind {
            case .zero:
                output.initializeMemory(as: UInt8.self, repeating: 0)
                return
            case .reference:
                return try decodeReference(entry, into: output, using: scratch, parents: parents)
            case .data, .fill, .parent:
                break
            }
            let (header, record) = try readRecord(entry, using: scratch)
            try ChunkVerifier.decode(
                header, payload: UnsafeRawBufferPointer(rebasing: record[Layout.chunkPrefixSize...]), into: output,
                decoder: scratch.decoder, verifyDigest: verifyDigest, contentNeeded: contentNeeded,
                payloadOffset: entry.recordOffset + UInt64(Layout.chunkPrefixSize),
                parents: parents, streamName: streams[Int(entry.stream)].name)
        } catch {
            throw error.enriched(chunk: i, stream: streams[Int(entry.stream)].name).at(path: path)
        }
    }

    /// The whole record of `entry` (prefix and payload, one pread into the scratch's record
    /// buffer, valid until the scratch is used again) and its header, which must say what the
    /// index says (V34).
    func readRecord(_ entry: ChunkEntry, using scratch: DecodeSlot) throws(ImagePackError) -> (header: ChunkHeader, record: UnsafeRawBufferPointer) {
        let buffer = scratch.record.prefix(Layout.chunkPrefixSize + Int(entry.payloadLength))
        try file.read(at: entry.recordOffset, into: buffer)
        let record = UnsafeRawBufferPointer(buffer)
        let header = try ChunkHeader.decodePrefix(Array(record[0..<Layout.chunkPrefixSize]), at: entry.recordOffset, limits: limits)
        guard entry.matches(header) else {
            throw ImagePackError(.indexMismatch, "the chunk record at \(entry.recordOffset) does not say what the index says about it", rule: .v34, offset: entry.recordOffset)
        }
        return (header, record)
    }

    /// Decodes a reference chunk (spec §7.2): reads its record, checks the target rules (V34, V60),
    /// decodes the target and checks the content against the reference's own digest (V28), so a
    /// target that matches in its header but not in its bytes is still caught here.
    private func decodeReference(
        _ entry: ChunkEntry, into output: UnsafeMutableRawBufferPointer, using scratch: DecodeSlot, parents: ParentChain
    ) throws(ImagePackError) {
        let (header, record) = try readRecord(entry, using: scratch)
        let payloadOffset = entry.recordOffset + UInt64(Layout.chunkPrefixSize)
        let target = try header.referenceTargetOffset(payload: UnsafeRawBufferPointer(rebasing: record[Layout.chunkPrefixSize...]), payloadOffset: payloadOffset)
        let targetEntry = recordEntry(at: target)
        try header.checkReference(
            at: entry.recordOffset, target: target,
            found: targetEntry.map { ChunkHeader.ReferenceTarget(kind: entries[$0].kind, logicalLength: entries[$0].logicalLength, contentDigest: entries[$0].contentDigest) },
            limits: limits)
        // The target's own rules (V20-V27) are checked as it is decoded; its digest equals ours (V34).
        try decodeChunk(targetEntry!, into: output, verifyDigest: false, contentNeeded: true, using: scratch, parents: parents)
        guard Digest.sha256(UnsafeRawBufferPointer(output)) == header.contentDigest else {
            throw ImagePackError(.chunkHashMismatch, "the content of the reference chunk's target (at \(target)) does not match the reference's SHA-256: the content is not what was written", rule: .v28, offset: payloadOffset, field: "contentDigest")
        }
    }

    /// The entry a reference chunk's content comes from, read from the chunk's record: what a
    /// reader that fills the file's records on demand (a lazy registry image) must fetch as
    /// well. Nil for other kinds and for a target the index does not list (decoding the chunk
    /// then reports the broken rule, V34).
    package func referenceTarget(ofEntry i: Int) throws(ImagePackError) -> Int? {
        let entry = entries[i]
        guard entry.kind == .reference else { return nil }
        let record = try file.read(at: entry.recordOffset, count: Layout.chunkPrefixSize + Int(entry.payloadLength))
        let header = try ChunkHeader.decodePrefix(Array(record[0..<Layout.chunkPrefixSize]), at: entry.recordOffset, limits: limits)
        let target = try withBytes(record) { (raw) throws(ImagePackError) -> UInt64 in
            try header.referenceTargetOffset(payload: UnsafeRawBufferPointer(rebasing: raw[Layout.chunkPrefixSize...]), payloadOffset: entry.recordOffset + UInt64(Layout.chunkPrefixSize))
        }
        return recordEntry(at: target)
    }

    /// The entry number of the chunk whose record starts at `offset`, if the index lists one.
    private func recordEntry(at offset: UInt64) -> Int? {
        var low = 0
        var high = recordOffsets.count
        while low < high {
            let mid = (low + high) / 2
            if recordOffsets[mid] < offset { low = mid + 1 } else { high = mid }
        }
        guard low < recordOffsets.count, recordOffsets[low] == offset else { return nil }
        return Int(recordEntries[low])
    }

    /// Reads `buffer.count` bytes of stream `stream` at `offset`, touching only the chunks in range.
    public func read(stream: Int, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        try read(stream: stream, at: offset, into: buffer, parents: parents)
    }

    /// ``read(stream:at:into:)`` with the parent chain to use (see ``decodeChunk(_:into:verifyDigest:contentNeeded:scratch:parents:)``).
    func read(stream: Int, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer, parents: ParentChain) throws(ImagePackError) {
        guard stream >= 0, stream < streams.count else {
            throw ImagePackError(.noSuchStream, "stream index \(stream) is out of range (the image has \(streams.count))", path: path)
        }
        let size = streams[stream].logicalSize
        guard offset <= size, UInt64(buffer.count) <= size - offset else {
            throw ImagePackError(.rangeOutOfBounds, "range \(offset)..<\(offset &+ UInt64(buffer.count)) is past the end of stream \"\(streams[stream].name)\" (\(size) bytes)", stream: streams[stream].name, path: path)
        }
        var done = 0
        var i = buffer.isEmpty ? 0 : chunkIndex(stream: stream, offset: offset)
        while done < buffer.count {
            let entry = entries[i]
            let position = offset + UInt64(done)
            let within = Int(position - entry.logicalOffset)
            let take = min(Int(entry.logicalLength) - within, buffer.count - done)
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + take])
            if entry.kind == .zero {
                target.initializeMemory(as: UInt8.self, repeating: 0)
            } else if take == Int(entry.logicalLength) {
                try decodeChunk(i, into: target, parents: parents)
            } else {
                let hit = recent.withLock { (cached) -> Bool in
                    guard let cached, cached.chunk == i else { return false }
                    target.copyMemory(from: UnsafeRawBufferPointer(rebasing: cached.output.prefix(within + take)[within...]))
                    return true
                }
                if !hit {
                    let slot = try scratch.take()
                    slot.chunk = -1
                    do throws(ImagePackError) {
                        try decodeChunk(i, into: slot.output.prefix(Int(entry.logicalLength)), scratch: slot, parents: parents)
                    } catch {
                        scratch.put(slot)
                        throw error
                    }
                    slot.chunk = i
                    target.copyMemory(from: UnsafeRawBufferPointer(rebasing: slot.output.prefix(within + take)[within...]))
                    let previous = recent.withLock { (cached) -> DecodeSlot? in
                        defer { cached = slot }
                        return cached
                    }
                    if let previous { scratch.put(previous) }
                }
            }
            done += take
            i += 1
        }
    }

    /// Reads `length` bytes of stream `stream` at `offset` into a new array.
    public func read(stream: Int, at offset: UInt64, count: Int) throws(ImagePackError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try withMutableBytes(&bytes) { (raw) throws(ImagePackError) in try read(stream: stream, at: offset, into: raw) }
        return bytes
    }
}
