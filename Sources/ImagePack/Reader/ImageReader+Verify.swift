import Synchronization

/// The outcome of checking every chunk of an image.
public struct VerifyReport: Sendable {
    public var chunksChecked: Int
    /// Logical bytes whose content was decoded and hashed (zero chunks excluded).
    public var bytesChecked: UInt64
    public var failures: [ImagePackError]
    public var isValid: Bool { failures.isEmpty }
}

/// What one thread needs to read and decode a chunk, kept between chunks so that steady-state
/// reading allocates nothing: a payload decoder, a buffer for the whole chunk record, and one for
/// the decoded chunk. It is an in-flight slot of `verify` and `extract`, the pooled scratch of
/// random-access reads, and the reader's cache of the last decoded chunk (``chunk``).
/// Ownership moves as ``ChunkBuffer`` describes: slot owner, pool taker, or the cache's lock.
package final class DecodeSlot: @unchecked Sendable {
    let decoder = PayloadDecoder()
    /// The chunk record (prefix and payload) as read.
    let record = ChunkBuffer()
    /// The decoded chunk.
    let output = ChunkBuffer()
    var error: ImagePackError?
    /// Index of the chunk ``output`` holds; -1 while it holds nothing valid.
    var chunk = -1
}

extension ImageReader {
    /// Largest logical chunk length in the image: the size of a decode buffer.
    package var largestChunk: Int { Int(entries.lazy.map(\.logicalLength).max() ?? 1) }

    /// Largest logical chunk length in stream `stream` (0 when it has no chunks): what sizes a
    /// unit of work over the stream, since the header's chunkSize is only informational.
    package func largestChunk(ofStream stream: Int) -> Int {
        Int(streamEntries[stream].lazy.map { self.entries[$0].logicalLength }.max() ?? 0)
    }

    /// In-flight slots for a pipeline over this image's chunks: a slot holds a record and its
    /// decoded chunk, so the total stays within `limits.maxDecodeMemory` whatever `threads` is.
    func decodeSlotCount(threads: Int) -> Int {
        OrderedParallel.slotCount(threads: threads, slotBytes: 2 * largestChunk, budget: limits.maxDecodeMemory)
    }

    /// Decodes and hashes every stored chunk on `threads` threads, checking rules V20-V28 and V34
    /// for each, and checks that the rest of the data area holds only optional records (V7, V8,
    /// V10, V34: what the validator and the streaming reader check too, so that `verify` passes no
    /// image they refuse). Structural rules were checked when the reader opened.
    /// Uses `options`' threads, cancellation and progress (logical bytes checked of the total);
    /// its limits were fixed when the reader opened.
    /// - Returns: every failing chunk (up to `maxFailures`), not just the first.
    /// - Throws: `.ioFailed` when the operating system fails a read (EIO): that is no finding about
    ///   the image, so the check stops; `.cancelled`.
    public func verify(_ options: ReadOptions = .init(), maxFailures: Int = 100) throws(ImagePackError) -> VerifyReport {
        // A delta opened without its parents: one failure that says what to supply, not one per chunk.
        if let unresolved = parents.unresolved, entries.contains(where: { $0.kind == .parent || $0.codec == .zstdPatch }) {
            throw unresolved.at(path: path)
        }
        let threads = options.threads
        let stored = entries.indices.filter { entries[$0].kind != .zero }
        let total = entries.reduce(UInt64(0)) { $0 + ($1.kind == .zero ? 0 : UInt64($1.logicalLength)) }
        let slots = (0..<decodeSlotCount(threads: threads)).map { _ in DecodeSlot() }
        var failures: [ImagePackError] = []
        var done: UInt64 = 0
        try OrderedParallel.run(
            count: stored.count, slots: slots, lanes: threads, cancellation: options.cancellation,
            work: { slot, j in
                let i = stored[j]
                slot.error = nil
                do throws(ImagePackError) {
                    try self.decodeChunk(i, into: slot.output.prefix(Int(self.entries[i].logicalLength)), contentNeeded: false, scratch: slot)
                } catch {
                    slot.error = error
                }
            },
            consume: { (slot, j) throws(ImagePackError) in
                // A read the operating system refused (EIO) says nothing about the image: it stops
                // the check as an I/O failure (imgpack: exit 3) instead of being listed as damage.
                if let error = slot.error, error.code.category == .io { throw error }
                if let error = slot.error, failures.count < maxFailures { failures.append(error) }
                done += UInt64(entries[stored[j]].logicalLength)
                options.progress?(done, total)
            })
        if let problem = checkDataAreaGaps() {
            // In file order, as the validator and the streaming reader find them.
            let at = failures.firstIndex { ($0.offset ?? .max) > (problem.offset ?? .max) } ?? failures.endIndex
            failures.insert(problem.at(path: path), at: at)
        }
        return VerifyReport(chunksChecked: stored.count, bytesChecked: total, failures: failures)
    }

    /// Checks the bytes of the data area that no index entry covers: before the first listed
    /// record, between two, and after the last up to the index. Reads 16 bytes per optional record
    /// found there, nothing when the records are adjacent (as every writer lays them out).
    func checkDataAreaGaps() -> ImagePackError? {
        var position = dataStart
        func envelope(at offset: UInt64) throws(ImagePackError) -> [UInt8] { try file.read(at: offset, count: Layout.envelopeSize) }
        for (i, e) in entries.enumerated() where e.kind != .zero {
            if e.recordOffset > position,
                let problem = DataArea.checkGap(from: position, to: e.recordOffset, endsAtListedRecord: i, readEnvelope: envelope)
            {
                return problem
            }
            position = e.recordOffset + e.storedSize
        }
        if position < footer.indexOffset {
            return DataArea.checkGap(from: position, to: footer.indexOffset, endsAtListedRecord: nil, readEnvelope: envelope)
        }
        return nil
    }

    /// Writes stream `stream` to the file at `path` as a raw disk: zero chunks and the zero blocks
    /// inside data chunks become holes, so the output is at least as sparse as the image. The file appears only once complete and verified.
    public func extract(stream: Int, toFile path: String, overwrite: Bool = false, options: ReadOptions = .init()) throws(ImagePackError) {
        let output = try OutputFile(path: path, overwrite: overwrite)
        do throws(ImagePackError) {
            try extract(stream: stream, into: output, options: options)
            try output.commit()
        } catch {
            output.abandon()
            throw error
        }
    }

    /// Writes several streams to raw files (sparse, as ``extract(stream:toFile:overwrite:options:)``)
    /// that appear together or not at all: every file is written and verified before any is
    /// published, and on failure every temporary file is removed.
    /// - Parameters:
    ///   - destinations: the path to write each stream to, by stream index.
    ///   - overwrite: replace existing files; without it an existing destination is refused
    ///     before anything is written.
    ///   - options: threads and cancellation; progress counts the logical bytes of all the
    ///     streams extracted.
    public func extract(toFiles destinations: [Int: String], overwrite: Bool = false, options: ReadOptions = .init()) throws(ImagePackError) {
        let order = destinations.keys.sorted()
        for stream in order where stream < 0 || stream >= streams.count {
            throw ImagePackError(.noSuchStream, "stream index \(stream) is out of range (the image has \(streams.count))", path: path)
        }
        var outputs: [OutputFile] = []
        do throws(ImagePackError) {
            for stream in order { outputs.append(try OutputFile(path: destinations[stream]!, overwrite: overwrite)) }
            let total = order.reduce(UInt64(0)) { $0 + streams[$1].logicalSize }
            var before: UInt64 = 0
            for (stream, output) in zip(order, outputs) {
                var each = options
                let base = before
                if let progress = options.progress {
                    each.progress = { @Sendable (done: UInt64, _: UInt64) in progress(base + done, total) }
                }
                try extract(stream: stream, into: output, options: each)
                before += streams[stream].logicalSize
            }
            for output in outputs { try output.commit() }
        } catch {
            for output in outputs { output.abandon() }
            throw error
        }
    }

    /// Writes stream `stream` into `output` as a sparse raw disk (zero chunks and zero blocks
    /// inside data chunks are holes: ``OutputFile/writeSparse(_:at:)``), without publishing it: the caller
    /// commits once everything it extracts has succeeded (several disks appear together or not at all).
    package func extract(stream: Int, into output: OutputFile, options: ReadOptions = .init()) throws(ImagePackError) {
        try extract(stream: stream, options: options) { (bytes, offset) throws(ImagePackError) in
            if let bytes { try output.writeSparse(bytes, at: offset) }
        }
        try output.truncate(to: streams[stream].logicalSize)
    }

    /// Writes stream `stream` to `sink` front to back, zeros included (for standard output).
    public func extract(stream: Int, to sink: any ByteSink, options: ReadOptions = .init()) throws(ImagePackError) {
        let zeros = ChunkBuffer()
        zeros.prefix(largestChunk).initializeMemory(as: UInt8.self, repeating: 0)
        try extract(stream: stream, options: options) { (bytes, offset) throws(ImagePackError) in
            if let bytes { try sink.write(bytes) }
        } zeroLength: { (length) throws(ImagePackError) in
            try sink.write(UnsafeRawBufferPointer(zeros.prefix(length)))
        }
    }

    /// Decodes the chunks of `stream` in parallel and hands them to `emit` in order: the bytes and
    /// their offset, or nil bytes for a zero chunk (whose length goes to `zeroLength`).
    func extract(
        stream: Int, options: ReadOptions,
        emit: (UnsafeRawBufferPointer?, UInt64) throws(ImagePackError) -> Void,
        zeroLength: ((Int) throws(ImagePackError) -> Void)? = nil
    ) throws(ImagePackError) {
        guard stream >= 0, stream < streams.count else {
            throw ImagePackError(.noSuchStream, "stream index \(stream) is out of range", path: path)
        }
        let range = streamEntries[stream]
        let total = streams[stream].logicalSize
        let slots = (0..<decodeSlotCount(threads: options.threads)).map { _ in DecodeSlot() }
        var done: UInt64 = 0
        try OrderedParallel.run(
            count: range.count, slots: slots, lanes: options.threads, cancellation: options.cancellation,
            work: { slot, j in
                let i = range.lowerBound + j
                slot.error = nil
                guard self.entries[i].kind != .zero else { return }
                do throws(ImagePackError) {
                    try self.decodeChunk(i, into: slot.output.prefix(Int(self.entries[i].logicalLength)), scratch: slot)
                } catch {
                    slot.error = error
                }
            },
            consume: { (slot, j) throws(ImagePackError) in
                if let error = slot.error { throw error }
                let entry = entries[range.lowerBound + j]
                if entry.kind == .zero {
                    if let zeroLength { try zeroLength(Int(entry.logicalLength)) } else { try emit(nil, entry.logicalOffset) }
                } else {
                    try emit(UnsafeRawBufferPointer(slot.output.prefix(Int(entry.logicalLength))), entry.logicalOffset)
                }
                done += UInt64(entry.logicalLength)
                options.progress?(done, total)
            })
    }
}
