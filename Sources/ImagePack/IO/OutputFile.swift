#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A destination for bytes written front to back: a file, a pipe, standard output.
public protocol ByteSink: AnyObject {
    /// Writes all of `bytes` (short writes are finished).
    func write(_ bytes: UnsafeRawBufferPointer) throws(ImagePackError)
}

extension ByteSink {
    func write(_ bytes: [UInt8]) throws(ImagePackError) {
        try withBytes(bytes) { (raw) throws(ImagePackError) in try write(raw) }
    }
}

let maxWriteSize = 512 << 10

/// Writes everything to `fd` at `offset` (or at the current position when offset is nil), finishing short writes.
/// Each system call writes at most `maxWriteSize` bytes: on the measured Linux VM, 4 MiB writes
/// into the page cache cost 3-6x the kernel time of 512 KiB writes (see Benchmarks/README.md).
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64?, path: String) throws(ImagePackError) {
    var done = 0
    while done < bytes.count {
        let n: Int
        let piece = min(bytes.count - done, maxWriteSize)
        if let offset {
            n = pwrite(fd, bytes.baseAddress! + done, piece, off_t(offset) + off_t(done))
        } else {
            n = Glibc.write(fd, bytes.baseAddress! + done, piece)
        }
        if n < 0 {
            let code = errno
            if code == EINTR { continue }
            throw ImagePackError(.ioFailed, "write failed: \(errnoText(code))", cause: Int(code), path: path)
        }
        done += n
    }
}

/// A sink over an already-open descriptor, such as standard output. Does not close it.
public final class DescriptorSink: ByteSink {
    let descriptor: Int32
    let name: String
    package private(set) var bytesWritten: UInt64 = 0

    public init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
    }

    /// Standard output.
    public static func standardOutput() -> DescriptorSink { DescriptorSink(descriptor: 1, name: "<stdout>") }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(ImagePackError) {
        try writeAll(descriptor, bytes, at: nil, path: name)
        bytesWritten += UInt64(bytes.count)
    }
}

/// A file that appears at its destination only when complete (spec §11, "publishing").
///
/// Bytes go to a temporary file beside the destination; ``commit()`` moves it into place
/// atomically, and refuses to replace an existing file unless `overwrite` was given.
/// Dropping an uncommitted `OutputFile` (or calling ``abandon()``) removes the temporary file,
/// so an interrupted write never leaves a partial file that looks valid.
package final class OutputFile: ByteSink {
    package let path: String
    package let temporaryPath: String
    let descriptor: Int32
    let overwrite: Bool
    private var state: State = .open
    package private(set) var bytesWritten: UInt64 = 0

    enum State { case open, committed, abandoned }

    /// Every temporary file still open in this process, so a signal handler can remove them.
    static let live = Mutex<Set<String>>([])

    package init(path: String, overwrite: Bool) throws(ImagePackError) {
        self.path = path
        self.overwrite = overwrite
        if !overwrite, access(path, F_OK) == 0 {
            throw ImagePackError(.destinationExists, "\(path) exists; choose another name or pass --force to replace it", path: path)
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var fd: Int32 = -1
        var candidate = ""
        for attempt in 0..<100 {
            candidate = "\(directory).\(base).imgpack-tmp-\(getpid())-\(attempt)"
            fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            let code = errno
            throw ImagePackError(.ioFailed, "cannot create a temporary file beside the destination: \(errnoText(code))", cause: Int(code), path: path)
        }
        descriptor = fd
        temporaryPath = candidate
        Self.live.withLock { _ = $0.insert(candidate) }
    }

    deinit {
        if state == .open { abandon() }
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws(ImagePackError) {
        try writeAll(descriptor, bytes, at: nil, path: path)
        bytesWritten += UInt64(bytes.count)
    }

    /// Writes at an absolute offset (extraction writes chunks where they belong, leaving holes).
    package func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(ImagePackError) {
        try writeAll(descriptor, bytes, at: offset, path: path)
    }

    /// Sets the file's length; growing it leaves a hole.
    package func truncate(to length: UInt64) throws(ImagePackError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else {
            let code = errno
            throw ImagePackError(.ioFailed, "cannot set the file length to \(length): \(errnoText(code))", cause: Int(code), path: path)
        }
    }

    /// Flushes to stable storage, then moves the file into place.
    package func commit(sync: Bool = false) throws(ImagePackError) {
        precondition(state == .open, "OutputFile committed twice")
        if sync && fsync(descriptor) != 0 {
            let code = errno
            abandon()
            throw ImagePackError(.ioFailed, "fsync failed: \(errnoText(code))", cause: Int(code), path: path)
        }
        close(descriptor)
        if overwrite {
            guard rename(temporaryPath, path) == 0 else {
                let code = errno
                unlink(temporaryPath)
                state = .abandoned
                Self.live.withLock { _ = $0.remove(temporaryPath) }
                throw ImagePackError(.ioFailed, "cannot move the finished file into place: \(errnoText(code))", cause: Int(code), path: path)
            }
        } else {
            // link(2) fails if the destination appeared meanwhile: never replace what we were not asked to.
            guard link(temporaryPath, path) == 0 else {
                let code = errno
                unlink(temporaryPath)
                state = .abandoned
                Self.live.withLock { _ = $0.remove(temporaryPath) }
                if code == EEXIST {
                    throw ImagePackError(.destinationExists, "\(path) appeared while writing; nothing was replaced, pass --force to replace it", path: path)
                }
                throw ImagePackError(.ioFailed, "cannot move the finished file into place: \(errnoText(code))", cause: Int(code), path: path)
            }
            unlink(temporaryPath)
        }
        state = .committed
        Self.live.withLock { _ = $0.remove(temporaryPath) }
    }

    /// Closes and removes the temporary file; the destination is untouched.
    package func abandon() {
        guard state == .open else { return }
        close(descriptor)
        unlink(temporaryPath)
        state = .abandoned
        Self.live.withLock { _ = $0.remove(temporaryPath) }
    }

    /// Removes every temporary file of this process; for signal handlers (Ctrl-C).
    package static func removeAllTemporaryFiles() {
        let paths = live.withLock { $0 }
        for p in paths { unlink(p) }
    }
}

/// A flag a long operation polls so that it can stop cleanly (Ctrl-C).
public final class Cancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }

    func check() throws(ImagePackError) {
        if isCancelled { throw ImagePackError(.cancelled, "cancelled; nothing was left at the destination") }
    }
}
