import Synchronization

/// The outcome of checking every chunk of an image.
public struct VerifyReport: Sendable {
    public var chunksChecked: Int
    /// Logical bytes whose content was decoded and hashed (zero chunks excluded).
    public var bytesChecked: UInt64
    public var failures: [ImagePackError]
    public var isValid: Bool { failures.isEmpty }
}

/// One in-flight chunk of `verify` or `extract`: the decoded bytes, and the record buffer and
/// decoder the worker that holds the slot uses.
final class DecodeSlot: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    let scratch: ChunkScratch
    var error: ImagePackError?
    init(capacity: Int) {
        buffer = .allocate(byteCount: max(capacity, 1), alignment: 64)
        scratch = ChunkScratch(capacity: capacity + Layout.chunkPrefixSize)
    }
    deinit { buffer.deallocate() }
}

extension ImageReader {
    /// Largest logical chunk length in the image: the size of a decode buffer.
    package var largestChunk: Int { Int(entries.lazy.map(\.logicalLength).max() ?? 1) }

    /// Decodes and hashes every stored chunk on `threads` threads, checking rules V20-V28 and V34
    /// for each. Structural rules were checked when the reader opened.
    /// - Returns: every failing chunk (up to `maxFailures`), not just the first.
    public func verify(
        threads: Int = WriterOptions.defaultThreads, maxFailures: Int = 100, cancellation: Cancellation? = nil,
        progress: ProgressHandler? = nil
    ) throws(ImagePackError) -> VerifyReport {
        let stored = entries.indices.filter { entries[$0].kind != .zero }
        let total = entries.reduce(UInt64(0)) { $0 + ($1.kind == .zero ? 0 : UInt64($1.logicalLength)) }
        let slots = (0..<OrderedParallel.slotCount(threads: threads)).map { _ in DecodeSlot(capacity: largestChunk) }
        var failures: [ImagePackError] = []
        var done: UInt64 = 0
        try OrderedParallel.run(
            count: stored.count, slots: slots, lanes: threads, cancellation: cancellation,
            work: { slot, j in
                let i = stored[j]
                slot.error = nil
                do throws(ImagePackError) {
                    try self.decodeChunk(i, into: UnsafeMutableRawBufferPointer(rebasing: slot.buffer[0..<Int(self.entries[i].logicalLength)]), scratch: slot.scratch)
                } catch {
                    slot.error = error
                }
            },
            consume: { slot, j in
                if let error = slot.error, failures.count < maxFailures { failures.append(error) }
                done += UInt64(entries[stored[j]].logicalLength)
                progress?(done, total)
            })
        return VerifyReport(chunksChecked: stored.count, bytesChecked: total, failures: failures)
    }

    /// Writes stream `stream` to the file at `path` as a raw disk: zero chunks become holes, so the
    /// output is as sparse as the image. The file appears only once complete and verified.
    public func extract(
        stream: Int, toFile path: String, overwrite: Bool = false, threads: Int = WriterOptions.defaultThreads,
        cancellation: Cancellation? = nil, progress: ProgressHandler? = nil
    ) throws(ImagePackError) {
        let output = try OutputFile(path: path, overwrite: overwrite)
        do throws(ImagePackError) {
            try extract(stream: stream, into: output, threads: threads, cancellation: cancellation, progress: progress)
            try output.commit()
        } catch {
            output.abandon()
            throw error
        }
    }

    /// Writes stream `stream` into `output` as a sparse raw disk, without publishing it: the caller
    /// commits once everything it extracts has succeeded (several disks appear together or not at all).
    package func extract(
        stream: Int, into output: OutputFile, threads: Int = WriterOptions.defaultThreads,
        cancellation: Cancellation? = nil, progress: ProgressHandler? = nil
    ) throws(ImagePackError) {
        try extract(stream: stream, threads: threads, cancellation: cancellation, progress: progress) { (bytes, offset) throws(ImagePackError) in
            if let bytes { try output.write(bytes, at: offset) }
        }
        try output.truncate(to: streams[stream].logicalSize)
    }

    /// Writes stream `stream` to `sink` front to back, zeros included (for standard output).
    public func extract(
        stream: Int, to sink: any ByteSink, threads: Int = WriterOptions.defaultThreads,
        cancellation: Cancellation? = nil, progress: ProgressHandler? = nil
    ) throws(ImagePackError) {
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: max(largestChunk, 1), alignment: 64)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        try extract(stream: stream, threads: threads, cancellation: cancellation, progress: progress) { (bytes, offset) throws(ImagePackError) in
            if let bytes { try sink.write(bytes) }
        } zeroLength: { (length) throws(ImagePackError) in
            try sink.write(UnsafeRawBufferPointer(rebasing: zeros[0..<length]))
        }
    }

    /// Decodes the chunks of `stream` in parallel and hands them to `emit` in order: the bytes and
    /// their offset, or nil bytes for a zero chunk (whose length goes to `zeroLength`).
    func extract(
        stream: Int, threads: Int, cancellation: Cancellation?, progress: ProgressHandler?,
        emit: (UnsafeRawBufferPointer?, UInt64) throws(ImagePackError) -> Void,
        zeroLength: ((Int) throws(ImagePackError) -> Void)? = nil
    ) throws(ImagePackError) {
        guard stream >= 0, stream < streams.count else {
            throw ImagePackError(.noSuchStream, "stream index \(stream) is out of range", path: path)
        }
        let range = streamEntries[stream]
        let total = streams[stream].logicalSize
        let slots = (0..<OrderedParallel.slotCount(threads: threads)).map { _ in DecodeSlot(capacity: largestChunk) }
        var done: UInt64 = 0
        try OrderedParallel.run(
            count: range.count, slots: slots, lanes: threads, cancellation: cancellation,
            work: { slot, j in
                let i = range.lowerBound + j
                slot.error = nil
                guard self.entries[i].kind != .zero else { return }
                do throws(ImagePackError) {
                    try self.decodeChunk(i, into: UnsafeMutableRawBufferPointer(rebasing: slot.buffer[0..<Int(self.entries[i].logicalLength)]), scratch: slot.scratch)
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
                    try emit(UnsafeRawBufferPointer(rebasing: slot.buffer[0..<Int(entry.logicalLength)]), entry.logicalOffset)
                }
                done += UInt64(entry.logicalLength)
                progress?(done, total)
            })
    }
}
