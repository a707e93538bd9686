extension ValidationRun {
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
/// against the index entry that locates it, and decoding payloads in parallel on an
/// ``OrderedParallel`` pipeline: the walk is the pipeline's producer (it stops at each chunk worth
/// decoding and hands it to a slot), workers read and decode payloads, and their problems are
/// reported in file order.
struct DataAreaWalk {
    let run: ValidationRun
    let listed: [ValidationRun.Listed]
    var nextListed = 0
    let end: UInt64
    /// Where the walk stands; the next record starts here.
    var position: UInt64 = 0
    /// Set when the walk cannot go on (the end, or the index found while recovering).
    var finished = false
    /// The chunk the last record check found worth decoding, waiting for a slot.
    var ready: ChunkJob?
    /// The chunk records walked so far, by offset, when the image may hold references: what a
    /// reference's target is checked against (V34), and decoded from when recovering. About 100
    /// bytes per record.
    var referenceTargets: [UInt64: ChunkHeader] = [:]

    init(run: ValidationRun, listed: [ValidationRun.Listed], end: UInt64) {
        self.run = run
        self.listed = listed
        self.end = end
    }

    var index: ImageIndex? { run.index }

    mutating func walk(from start: UInt64) throws(ImagePackError) {
        position = start
        let run = self.run
        let file = run.file
        let parents = run.parents
        let threads = run.options.read.threads
        // Recovery writes the content out; validation only checks it (fill chunks need no expansion).
        let contentNeeded = run.options.verifiedChunk != nil
        // A slot may hold a record and a decoded chunk as large as the limits allow.
        let limits = run.limits
        let slots = (0..<OrderedParallel.slotCount(threads: threads, slotBytes: 2 * limits.maxChunkSize, budget: limits.maxDecodeMemory)).map { _ in DecodeJobSlot() }
        try OrderedParallel.run(
            slots: slots, lanes: threads, cancellation: run.options.read.cancellation,
            produce: { (slot, _) throws(ImagePackError) -> Bool in
                guard let job = nextJob() else { return false }
                slot.job = job
                return true
            },
            work: { slot, _ in slot.decode(file: file, contentNeeded: contentNeeded, parents: parents) },
            consume: { slot, _ in
                run.chunkChecked(slot.error)
                if slot.error == nil, let job = slot.job, let verified = run.options.verifiedChunk {
                    verified(job.reference ?? job.header, UnsafeRawBufferPointer(slot.output.prefix(Int(job.header.logicalLength))))
                }
            })
        passListed(before: run.truncated ? 0 : UInt64.max)
    }

    /// Walks on to the next chunk record whose payload should be decoded, reporting every problem
    /// on the way; nil when the walk is over.
    mutating func nextJob() -> ChunkJob? {
        let recovering = index == nil
        while !finished, position < end, !run.truncated {
            step(recovering: recovering)
            if let job = ready {
                ready = nil
                return job
            }
        }
        finished = true
        return nil
    }

    /// Checks the record at `position` and moves past it, or to where the walk can resume.
    mutating func step(recovering: Bool) {
        passListed(before: position)
        let next: UInt64?
        do throws(ImagePackError) {
            next = try record(at: position, recovering: recovering)
        } catch {
            // Not a record: report why, and pick the walk up again where the index says the
            // next record is.
            if nextListed < listed.count, listed[nextListed].offset == position, let index {
                let l = listed[nextListed]
                nextListed += 1
                run.add(error.enriched(chunk: l.entry))
                position += index.entries[l.entry].storedSize
                return
            }
            run.add(error)
            next = nil
        }
        if let next {
            if next == position { finished = true }  // INDX reached while recovering
            position = next
            return
        }
        guard nextListed < listed.count, listed[nextListed].offset > position, listed[nextListed].offset < end else {
            if !recovering || position < end {
                run.add(ImagePackError(.chunkLayoutInvalid, "the \(end - position) bytes from \(position) to \(recovering ? "the end of the file" : "the index") are not records the index lists", rule: recovering ? .v7 : .v34, offset: position))
            }
            finished = true
            return
        }
        let resume = listed[nextListed].offset
        run.add(ImagePackError(.chunkLayoutInvalid, "the \(resume - position) bytes from \(position) to \(resume) are not a record the index lists: the data area must be exactly the listed chunk records", rule: .v34, offset: position))
        position = resume
    }

    /// Reports listed records the walk went past without finding a record starting there.
    mutating func passListed(before position: UInt64) {
        while nextListed < listed.count, listed[nextListed].offset < position {
            let l = listed[nextListed]
            nextListed += 1
            guard let index else { continue }
            let e = index.entries[l.entry]
            run.add(ImagePackError(.indexMismatch, "index entry \(l.entry) locates a chunk record at \(l.offset), but no record starts there", rule: .v34, offset: l.offset, chunk: l.entry, stream: run.streamName(e.stream), field: "recordOffset"))
        }
    }

    /// Checks the record at `position`; returns where the next record starts (or `position` itself
    /// when recovery reached the index). Throws when there is no usable record at `position`.
    mutating func record(at position: UInt64, recovering: Bool) throws(ImagePackError) -> UInt64? {
        guard end - position >= UInt64(Layout.envelopeSize) else {
            throw ImagePackError(.truncated, "\(end - position) bytes at \(position) are too few for a record header", rule: .v7, offset: position)
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
            throw ImagePackError(.limitExceeded, "\(envelope.type) record at \(position) claims \(envelope.bodyLength) bytes, past the end of the data area (\(end))", rule: .v10, offset: position + 8, field: "bodyLength")
        }
        do throws(ImagePackError) {
            // An INDX record here is a second one: the walk ends at the index the footer locates.
            if try envelope.placeInDataArea(at: position) == .index { run.add(DataArea.secondIndex(at: position)) }
        } catch {
            run.add(error)
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
            run.add(error.enriched(chunk: entryIndex, stream: entry.map { run.streamName($0.stream) }))
            guard let fallbackEnd, fallbackEnd > position, fallbackEnd <= end else { return nil }
            return fallbackEnd
        }
        // V24 holds, so the envelope's length is the record's: it must fit in the data area.
        guard let recordEnd else {
            throw ImagePackError(.chunkLayoutInvalid, "chunk record at \(position) (\(envelope.bodyLength) bytes) extends past the end of the data area (\(end))", rule: .v33, offset: position + 8, chunk: entryIndex, field: "bodyLength")
        }
        let stream = run.streamName(header.stream)
        if let index {
            if let i = entryIndex {
                if !index.entries[i].matches(header) {
                    run.add(ImagePackError(.indexMismatch, "the chunk record at \(position) does not say what index entry \(i) says about it", rule: .v34, offset: position, chunk: i, stream: stream))
                }
            } else {
                run.add(ImagePackError(.indexMismatch, "the data area holds a chunk record at \(position) (stream \(stream), offset \(header.logicalOffset)) that the index does not list", rule: .v34, offset: position, stream: stream))
            }
        }
        do throws(ImagePackError) {
            try header.checkPlacement(in: run.streams, features: run.features, at: position)
        } catch {
            run.add(error.enriched(chunk: entryIndex, stream: error.rule == .v36 ? stream : nil))
            return recordEnd
        }
        if run.features.contains(.references) {
            referenceTargets[position] = header
        }
        // A reference's content is its target's, decoded and checked against the same digest
        // when the walk met the target (V34 makes the digests equal): what is left is the target rules.
        if header.kind == .reference {
            do throws(ImagePackError) {
                let payloadOffset = position + UInt64(Layout.chunkPrefixSize)
                let payload = try run.file.read(at: payloadOffset, count: Int(header.payloadLength))
                let target = try withBytes(payload) { (raw) throws(ImagePackError) in try header.referenceTargetOffset(payload: raw, payloadOffset: payloadOffset) }
                let found = referenceTargets[target]
                try header.checkReference(
                    at: position, target: target,
                    found: found.map { ChunkHeader.ReferenceTarget(kind: $0.kind, logicalLength: $0.logicalLength, contentDigest: $0.contentDigest) },
                    limits: run.limits)
                // Recovery writes the content out: decode the target for it. Validation need not.
                if run.options.checkChunks, run.options.verifiedChunk != nil, let found {
                    ready = ChunkJob(header: found, offset: target, entry: entryIndex, stream: run.streamName(found.stream), reference: header)
                } else {
                    run.chunkChecked(nil)
                }
            } catch {
                run.chunkChecked(error.withoutPath().enriched(chunk: entryIndex, stream: stream))
            }
            return recordEnd
        }
        // Content of parent and zstd-patch chunks is checked when the parents were supplied.
        if header.kind == .parent || header.codec == .zstdPatch, run.parents.readers.isEmpty { return recordEnd }
        if run.options.checkChunks {
            ready = ChunkJob(header: header, offset: position, entry: entryIndex, stream: stream)
        }
        return recordEnd
    }
}

/// One chunk record waiting to be decoded.
struct ChunkJob {
    let header: ChunkHeader
    let offset: UInt64
    let entry: Int?
    let stream: String
    /// When the job decodes a reference's target (recovery): the reference, whose content it is
    /// and whose digest the content is checked against (V28).
    var reference: ChunkHeader? = nil
}

/// One in-flight chunk of the validator's pipeline: the job, what decoding it found, and the
/// buffers and decoder of whichever worker holds the slot (see ``ChunkBuffer`` on ownership).
final class DecodeJobSlot: @unchecked Sendable {
    var job: ChunkJob?
    var error: ImagePackError?
    let decoder = PayloadDecoder()
    let payload = ChunkBuffer()
    let output = ChunkBuffer()

    /// Reads, decodes and hashes the job's payload (V26-V28), keeping the problem in ``error``.
    func decode(file: ReadableFile, contentNeeded: Bool, parents: ParentChain) {
        error = nil
        guard let job else { return }
        let header = job.header
        let payloadOffset = job.offset + UInt64(Layout.chunkPrefixSize)
        do throws(ImagePackError) {
            let stored = payload.prefix(Int(header.payloadLength))
            if !stored.isEmpty { try file.read(at: payloadOffset, into: stored) }
            let content = output.prefix(Int(header.logicalLength))
            try ChunkVerifier.decode(
                header, payload: UnsafeRawBufferPointer(stored), into: content, decoder: decoder,
                verifyDigest: job.reference == nil, contentNeeded: contentNeeded, payloadOffset: payloadOffset, parents: parents, streamName: job.stream)
            if let reference = job.reference, Digest.sha256(UnsafeRawBufferPointer(content)) != reference.contentDigest {
                throw ImagePackError(.chunkHashMismatch, "the content of the reference chunk's target (at \(job.offset)) does not match the reference's SHA-256: the content is not what was written", rule: .v28, offset: payloadOffset, field: "contentDigest")
            }
        } catch {
            self.error = error.withoutPath().enriched(chunk: job.entry, stream: job.stream)
        }
    }
}
