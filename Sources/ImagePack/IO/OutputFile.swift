import Synchronization

/// A destination for bytes written front to back: a file, a pipe, standard output.
public protocol ByteSink: AnyObject {
    /// Writes all of `bytes` (short writes are finished).
    func write(_ bytes: UnsafeRawBufferPointer) throws(ImagePackError)
}

/// A sink whose bytes can be replaced after they were written, as a file not yet published can
/// (a pipe cannot): the writer sets header flags it only knows at the end (``WriterOptions/deduplicate``).
package protocol RewritableSink: ByteSink {
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(ImagePackError)
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
package func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64?, path: String) throws(ImagePackError) {
    var done = 0
    while done < bytes.count {
        let n: Int
        let piece = min(bytes.count - done, maxWriteSize)
        if let offset {
            n = system_pwrite(fd, bytes.baseAddress! + done, piece, Int64(offset) + Int64(done))
        } else {
            n = system_write(fd, bytes.baseAddress! + done, piece)
        }
        if n < 0 {
            let code = system_errno
            if code == _EINTR { continue }
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
        do {
            try writeAll(descriptor, bytes, at: nil, path: name)
        } catch where error.cause == Int(_EPIPE) {
            // Only when SIGPIPE is ignored (by the embedding program, or inherited): otherwise
            // the signal ends the process, as it does any filter whose reader went away.
            throw ImagePackError(
                .ioFailed, "the reader of \(name) closed it early, after at least \(bytesWritten) bytes (broken pipe): the output is incomplete, and what was written is not a whole image or disk",
                cause: Int(_EPIPE), path: name)
        }
        bytesWritten += UInt64(bytes.count)
    }
}

/// A file that appears at its destination only when complete (spec §11, "publishing").
///
/// On Linux the bytes go to an unnamed file (`O_TMPFILE`) in the destination's directory, which
/// gets a name only in ``commit()``: a process killed at any instant, even by SIGKILL, leaves no
/// file behind. Where the file system refuses `O_TMPFILE` (NFS, some FUSE file systems, kernels
/// before 3.11) or /proc is not mounted, the bytes go to a hidden temporary file beside the
/// destination, `.NAME.imgpack-tmp-PID-N`; the next writer into that directory removes such a
/// file once its process is gone (see ``removeStaleTemporaryFiles(in:)``).
///
/// ``commit()`` moves the file into place atomically, and refuses to replace an existing file
/// unless `overwrite` was given. Dropping an uncommitted `OutputFile` (or calling ``abandon()``)
/// discards the bytes, so an interrupted write never leaves a partial file that looks valid.
package final class OutputFile: RewritableSink {
    package let path: String
    /// The hidden file beside the destination that receives the bytes; nil when they go to an
    /// unnamed `O_TMPFILE` file, which has no path until ``commit()``.
    package let temporaryPath: String?
    let descriptor: Int32
    let overwrite: Bool
    private var state: State = .open
    package private(set) var bytesWritten: UInt64 = 0

    enum State { case open, committed, abandoned }

    /// Every temporary file still open in this process, so a signal handler can remove them.
    static let live = Mutex<Set<String>>([])

    /// Directories already swept for stale temporary files by this process: one sweep each is
    /// enough, and `extract` opens one output per stream in the same directory.
    private static let swept = Mutex<Set<String>>([])

    /// The marker in a temporary file's name; what follows it is "PID-N".
    package static let temporaryMarker = ".imgpack-tmp-"

    /// An unnamed file is published through its /proc/self/fd link, so it needs /proc.
    private static let procFileDescriptorsMounted = system_access("/proc/self/fd", _F_OK) == 0

    /// Creates the file that will become `path`; with `overwrite` false, fails if `path` exists.
    package convenience init(path: String, overwrite: Bool) throws(ImagePackError) {
        try self.init(path: path, overwrite: overwrite, unnamed: true)
    }

    /// `unnamed` false skips O_TMPFILE: the fallback, where the file system refuses it.
    init(path: String, overwrite: Bool, unnamed: Bool) throws(ImagePackError) {
        self.path = path
        self.overwrite = overwrite
        try Self.checkDestination(path, overwrite: overwrite)
        let (directory, base) = Self.split(path)
        Self.removeStaleTemporaryFiles(in: directory)
        // 0644 as for any new file: the process's umask still applies (creat(2) semantics).
        if unnamed, Self.procFileDescriptorsMounted, let tmpfile = _O_TMPFILE {
            let fd = system_open(directory.isEmpty ? "." : directory, tmpfile | _O_RDWR | _O_CLOEXEC, 0o644)
            // Any refusal falls back to a named file: EOPNOTSUPP/EISDIR/EINVAL where O_TMPFILE is
            // unsupported, and for anything else (a missing directory, no permission) the named
            // file's open fails the same way and reports it as before.
            if fd >= 0 {
                descriptor = fd
                temporaryPath = nil
                return
            }
        }
        var fd: Int32 = -1
        var candidate = ""
        for attempt in 0..<100 {
            candidate = Self.temporaryName(directory: directory, base: base, attempt: attempt)
            fd = system_open(candidate, _O_RDWR | _O_CREAT | _O_EXCL | _O_CLOEXEC, 0o644)
            if fd >= 0 || system_errno != _EEXIST { break }
        }
        guard fd >= 0 else {
            let code = system_errno
            throw ImagePackError(.ioFailed, "cannot create a temporary file beside the destination: \(errnoText(code))", cause: Int(code), path: path)
        }
        // Held until the descriptor closes: tells a sweeper that cannot see this process (another
        // PID namespace, another NFS client) that the file is alive. Best effort; not all file
        // systems lock.
        _ = system_flock_exclusive_nonblocking(fd)
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
        guard system_ftruncate(descriptor, Int64(length)) == 0 else {
            let code = system_errno
            throw ImagePackError(.ioFailed, "cannot set the file length to \(length): \(errnoText(code))", cause: Int(code), path: path)
        }
    }

    /// Moves the file into place; with `sync`, durably (docs/imgpack.md, "Durability").
    ///
    /// With `sync` true, returning means the file survives a power loss or a kernel crash from now
    /// on: its bytes are flushed (fsync of the file) before it gets its name, so the name never
    /// points at a file whose blocks were not written, and the name itself is flushed (fsync of the
    /// directory after the link or rename), so the file does not vanish, nor does the file it
    /// replaced come back. Without `sync` the file is published just as atomically, but a crash
    /// within the next seconds (the kernel's writeback delay) may lose it or leave it empty.
    /// Commands that modify a file the user already has (sign, share) must pass `sync: true`.
    ///
    /// - Throws: `.ioFailed` if the flush fails before publishing (nothing is published), or if the
    ///   directory's flush fails after it (the file is in place but may not survive a crash; the
    ///   message says so); `.destinationExists` if the destination appeared meanwhile.
    package func commit(sync: Bool = false) throws(ImagePackError) {
        precondition(state == .open, "OutputFile committed twice")
        if sync && system_fsync(descriptor) != 0 {
            let code = system_errno
            abandon()
            throw ImagePackError(.ioFailed, "fsync of the finished file failed, so it was not published: \(errnoText(code))", cause: Int(code), path: path)
        }
        if let temporaryPath {
            _ = system_close(descriptor)
            try publish(temporaryPath)
        } else {
            try publishUnnamed()
        }
        state = .committed
        if sync {
            let (directory, _) = Self.split(path)
            if system_fsync_directory(directory.isEmpty ? "." : directory) != 0 {
                let code = system_errno
                throw ImagePackError(
                    .ioFailed, "the file is in place, but fsync of its directory failed, so its name may not survive a crash: \(errnoText(code)); run sync(1) before relying on it",
                    cause: Int(code), path: path)
            }
        }
    }

    /// Names the unnamed file at the destination, then closes it.
    private func publishUnnamed() throws(ImagePackError) {
        let source = "/proc/self/fd/\(descriptor)"
        if !overwrite {
            // linkat(2) fails if the destination appeared meanwhile: never replace what we were not asked to.
            let linked = system_linkat_following(source, path) == 0
            let code = system_errno
            _ = system_close(descriptor)
            guard linked else {
                state = .abandoned
                throw Self.publishError(code, path: path)
            }
            return
        }
        // linkat cannot replace a file, so the file gets a temporary name first and is renamed
        // over the destination. A kill between the two leaves that name, which the next writer
        // into the directory removes like any stale temporary file.
        let (directory, base) = Self.split(path)
        var name = ""
        var linked = false
        var code: Int32 = 0
        for attempt in 0..<100 {
            name = Self.temporaryName(directory: directory, base: base, attempt: attempt)
            // Registered first, so that Ctrl-C between the link and the rename removes the name.
            Self.live.withLock { _ = $0.insert(name) }
            if system_linkat_following(source, name) == 0 { linked = true; break }
            code = system_errno
            Self.live.withLock { _ = $0.remove(name) }
            if code != _EEXIST { break }
        }
        _ = system_close(descriptor)
        guard linked else {
            state = .abandoned
            throw ImagePackError(.ioFailed, "cannot name the finished file beside the destination: \(errnoText(code))", cause: Int(code), path: path)
        }
        try publish(name)
    }

    /// Moves the named temporary file `temporary` (already closed) to the destination.
    private func publish(_ temporary: String) throws(ImagePackError) {
        defer { Self.live.withLock { _ = $0.remove(temporary) } }
        if overwrite {
            guard system_rename(temporary, path) == 0 else {
                let code = system_errno
                _ = system_unlink(temporary)
                state = .abandoned
                throw Self.publishError(code, path: path)
            }
        } else {
            // link(2) fails if the destination appeared meanwhile: never replace what we were not asked to.
            guard system_link(temporary, path) == 0 else {
                let code = system_errno
                _ = system_unlink(temporary)
                state = .abandoned
                throw Self.publishError(code, path: path)
            }
            _ = system_unlink(temporary)
        }
    }

    @inline(never)
    private static func publishError(_ code: Int32, path: String) -> ImagePackError {
        if code == _EEXIST {
            return ImagePackError(.destinationExists, "\(path) appeared while writing; nothing was replaced; pass overwrite: true (imgpack: --force) to replace it", path: path)
        }
        return ImagePackError(.ioFailed, "cannot move the finished file into place: \(errnoText(code))", cause: Int(code), path: path)
    }

    /// Closes and discards the file; the destination is untouched.
    package func abandon() {
        guard state == .open else { return }
        _ = system_close(descriptor)
        if let temporaryPath {
            _ = system_unlink(temporaryPath)
            Self.live.withLock { _ = $0.remove(temporaryPath) }
        }
        state = .abandoned
    }

    /// Removes every temporary file of this process; for signal handlers (Ctrl-C). Unnamed files
    /// need nothing: they vanish when the process exits.
    package static func removeAllTemporaryFiles() {
        let paths = live.withLock { $0 }
        for p in paths { _ = system_unlink(p) }
    }

    /// The destination's directory (with its trailing slash, or "" for the current one) and name.
    static func split(_ path: String) -> (directory: String, base: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return (directory, base)
    }

    static func temporaryName(directory: String, base: String, attempt: Int) -> String {
        "\(directory).\(base)\(temporaryMarker)\(system_getpid())-\(attempt)"
    }

    /// Removes the temporary files in `directory` (`.NAME.imgpack-tmp-PID-N`) that a killed
    /// process left behind; runs once per directory per process, before the first output there.
    ///
    /// A file is stale when its process is gone (`kill(PID, 0)` fails with ESRCH) and no one holds
    /// the lock every writer takes on its temporary file: the PID says nothing about a writer in
    /// another PID namespace or on another NFS client, the lock does. Failures are ignored; the
    /// sweep only tidies up.
    package static func removeStaleTemporaryFiles(in directory: String) {
        let inserted = swept.withLock { $0.insert(directory).inserted }
        guard inserted, let names = system_directoryEntries(directory.isEmpty ? "." : directory) else { return }
        for name in names {
            guard name.hasPrefix("."), let marker = name.ranges(of: temporaryMarker).last else { continue }
            let owner = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
            guard owner.count == 2, let pid = Int32(owner[0]), Int(owner[1]) != nil, pid > 0 else { continue }
            guard system_kill(pid, 0) != 0, system_errno == _ESRCH else { continue }
            let stale = directory + name
            let fd = system_open(stale, _O_RDONLY | _O_CLOEXEC)
            guard fd >= 0 else { continue }
            if system_flock_exclusive_nonblocking(fd) == 0 { _ = system_unlink(stale) }
            _ = system_close(fd)
        }
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
