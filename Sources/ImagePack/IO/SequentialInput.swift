/// Buffered front-to-back reading of a file or pipe, counting the position for error messages.
final class SequentialInput {
    let file: ReadableFile
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// File offset of the next byte `read` returns.
    private(set) var position: UInt64 = 0

    /// Sees every byte read from `file`, in order, as it arrives (before any is consumed): how a
    /// pass-through copy (``ImageCopier/copy(streamFrom:to:trust:options:)``) hands on exactly the
    /// bytes the reader checks, reading its input only once.
    var tap: ((UnsafeRawBufferPointer) throws(ImagePackError) -> Void)?

    init(file: ReadableFile, bufferSize: Int = 1 << 20) {
        self.file = file
        buffer = .allocate(byteCount: bufferSize, alignment: 64)
    }
    deinit { buffer.deallocate() }

    /// Fills `target` completely; the input ending first is `.truncated` with `what` in the message.
    func read(into target: UnsafeMutableRawBufferPointer, what: String) throws(ImagePackError) {
        var done = 0
        while done < target.count {
            if start == end {
                // Large reads bypass the buffer.
                if target.count - done >= buffer.count {
                    let n = try fill(UnsafeMutableRawBufferPointer(rebasing: target[done...]))
                    if n == 0 { throw truncated(what) }
                    done += n
                    position += UInt64(n)
                    continue
                }
                start = 0
                end = try fill(buffer)
                if end == 0 { throw truncated(what) }
            }
            let take = min(end - start, target.count - done)
            target.baseAddress!.advanced(by: done).copyMemory(from: buffer.baseAddress!.advanced(by: start), byteCount: take)
            start += take
            done += take
            position += UInt64(take)
        }
    }

    /// Reads `count` bytes into a new array. A large count (taken from an untrusted record) is read
    /// in steps, so memory grows only as fast as the input actually delivers bytes.
    func read(count: Int, what: String) throws(ImagePackError) -> [UInt8] {
        let step = 1 << 20
        var bytes = [UInt8](repeating: 0, count: min(count, step))
        try withMutableBytes(&bytes) { (raw) throws(ImagePackError) in try read(into: raw, what: what) }
        while bytes.count < count {
            let start = bytes.count
            let n = min(step, count - start)
            bytes.append(contentsOf: repeatElement(0, count: n))
            try withMutableBytes(&bytes) { (raw) throws(ImagePackError) in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<start + n]), what: what)
            }
        }
        return bytes
    }

    /// Reads and drops `count` bytes without holding them.
    func skip(_ count: UInt64, what: String) throws(ImagePackError) {
        var left = count
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        while left > 0 {
            let n = Int(min(left, UInt64(scratch.count)))
            try read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<n]), what: what)
            left -= UInt64(n)
        }
    }

    /// Reads whatever is available (buffered bytes first), up to `target.count`; 0 at the end.
    func readSome(into target: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Int {
        if start == end {
            start = 0
            end = try fill(buffer)
            if end == 0 { return 0 }
        }
        let take = min(end - start, target.count)
        target.baseAddress!.copyMemory(from: buffer.baseAddress!.advanced(by: start), byteCount: take)
        start += take
        position += UInt64(take)
        return take
    }

    /// Whether the input has ended (no byte left).
    func atEnd() throws(ImagePackError) -> Bool {
        if start < end { return false }
        start = 0
        end = try fill(buffer)
        return end == 0
    }

    /// Reads from the file into `target`, showing the bytes to ``tap``.
    private func fill(_ target: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Int {
        let n = try file.readSome(into: target)
        if n > 0, let tap { try tap(UnsafeRawBufferPointer(rebasing: target[0..<n])) }
        return n
    }

    private func truncated(_ what: String) -> ImagePackError {
        ImagePackError(.truncated, "the input ends at \(position) inside \(what): the image was cut off", rule: "V40", offset: position, path: file.path)
    }
}
