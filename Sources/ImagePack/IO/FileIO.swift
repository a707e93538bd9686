/// The errno of the last failed call, as a readable string.
func errnoText(_ code: Int32 = system_errno) -> String { system_strerror(code) }

/// A file opened for positional reads (`pread`), safe to share across threads.
package final class ReadableFile: Sendable {
    package let path: String
    let descriptor: Int32
    /// Size when opened; for pipes and character devices, nil.
    package let size: UInt64?
    /// Whether `pread` works on it (a regular file or block device).
    package let isSeekable: Bool
    /// What fstat said when the file was opened, to tell afterwards whether it changed while it
    /// was read (see ``changeSinceOpened()``); nil for pipes and character devices.
    let opened: FileStatus?
    /// For a block device, whose size and times do not move when it is written through: the
    /// SHA-256 of its first and last ``edgeLength`` bytes when opened.
    let openedEdges: [Digest]?

    /// How much of each end of a block device is hashed to tell whether it changed: 1 MiB, one
    /// nominal chunk's worth at most, read twice per pack, which is nothing beside the disk.
    static let edgeLength: UInt64 = 1 << 20

    /// Opens `path` read-only; "-" is standard input.
    /// - Parameter watching: for a block device, hash its first and last MiB now, so that
    ///   ``changeSinceOpened()`` can tell whether it was written meanwhile (its size and times
    ///   do not say). Sources of an image being written set it; readers of images need not.
    package init(path: String, watching: Bool = false) throws(ImagePackError) {
        self.path = path
        if path == "-" {
            descriptor = 0
        } else {
            let fd = system_open(path, _O_RDONLY | _O_CLOEXEC)
            guard fd >= 0 else {
                let code = system_errno
                throw ImagePackError(.ioFailed, "cannot open for reading: \(errnoText(code))", cause: Int(code), path: path)
            }
            descriptor = fd
        }
        guard let info = system_fstat(descriptor) else {
            let code = system_errno
            if path != "-" { _ = system_close(descriptor) }
            throw ImagePackError(.ioFailed, "cannot stat: \(errnoText(code))", cause: Int(code), path: path)
        }
        if info.kind == .regular {
            size = UInt64(info.size)
            isSeekable = true
            opened = info
            openedEdges = nil
        } else if info.kind == .blockDevice {
            let end = system_lseek(descriptor, 0, .end)
            size = end >= 0 ? UInt64(end) : nil
            isSeekable = end >= 0
            opened = info
            do {
                openedEdges = watching && isSeekable ? try Self.edgeDigests(descriptor: descriptor, size: size, path: path) : nil
            } catch {
                _ = system_close(descriptor)
                throw error
            }
        } else if info.kind == .directory {
            if path != "-" { _ = system_close(descriptor) }
            throw ImagePackError(.invalidArgument, "is a directory, not a file", path: path)
        } else {
            size = nil
            isSeekable = false
            opened = nil
            openedEdges = nil
        }
    }

    /// The SHA-256 of the first and of the last ``edgeLength`` bytes of a device of `size` bytes
    /// (the same range twice for a device smaller than that).
    private static func edgeDigests(descriptor: Int32, size: UInt64?, path: String) throws(ImagePackError) -> [Digest] {
        guard let size, size > 0 else { return [] }
        let length = Int(min(size, edgeLength))
        var bytes = [UInt8](repeating: 0, count: length)
        var digests: [Digest] = []
        for offset in [0, size - UInt64(length)] {
            try withMutableBytes(&bytes) { (buffer) throws(ImagePackError) in
                try preadAll(descriptor, at: offset, into: buffer, path: path)
            }
            digests.append(Digest.sha256(bytes))
        }
        return digests
    }

    private func edgeDigests() throws(ImagePackError) -> [Digest] {
        try Self.edgeDigests(descriptor: descriptor, size: size, path: path)
    }

    /// What changed in the file since it was opened, in words for an error message, or nil if
    /// nothing did: a regular file's size, modification time (mtime) or status change time (ctime,
    /// which no one can set back); a block device's size or the bytes at either end. A read of a
    /// file that changed meanwhile may mix old and new bytes: a state that never existed.
    package func changeSinceOpened() -> String? {
        guard let opened else { return nil }
        guard let now = system_fstat(descriptor) else {
            return "it could not be examined again (fstat: \(errnoText()))"
        }
        var changes: [String] = []
        if opened.kind == .regular {
            if now.size != opened.size { changes.append("its size went from \(opened.size) to \(now.size) bytes") }
            if now.modifiedNanoseconds != opened.modifiedNanoseconds { changes.append("it was modified (mtime moved)") }
            else if now.changedNanoseconds != opened.changedNanoseconds { changes.append("its inode changed (ctime moved)") }
        } else if opened.kind == .blockDevice {
            let end = system_lseek(descriptor, 0, .end)
            if end >= 0, let size, UInt64(end) != size { changes.append("its size went from \(size) to \(end) bytes") }
            if let openedEdges {
                switch Result(catching: { () throws(ImagePackError) in try edgeDigests() }) {
                case .success(let edges) where edges != openedEdges:
                    changes.append("its first or last MiB now reads differently")
                case .failure(let error):
                    changes.append("its first and last MiB could not be read again (\(error.message))")
                default: break
                }
            }
        }
        return changes.isEmpty ? nil : changes.joined(separator: " and ")
    }

    deinit { if descriptor != 0 { _ = system_close(descriptor) } }

    /// Reads exactly `buffer.count` bytes at `offset`; a short file is `.truncated`.
    package func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        try Self.preadAll(descriptor, at: offset, into: buffer, path: path)
    }

    /// Reads exactly `buffer.count` bytes of `descriptor` at `offset`, finishing short reads.
    ///
    /// A failed read names the exact call that failed, pread(offset, length): the offset and the
    /// length of the piece still missing, which is where the device or file system refused. The
    /// error's `offset` is that offset.
    package static func preadAll(_ descriptor: Int32, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(ImagePackError) {
        var done = 0
        while done < buffer.count {
            let n = system_pread(descriptor, buffer.baseAddress! + done, buffer.count - done, Int64(offset) + Int64(done))
            if n < 0 {
                let code = system_errno
                if code == _EINTR { continue }
                let at = offset + UInt64(done)
                throw ImagePackError(
                    .ioFailed,
                    "pread of \(buffer.count - done) bytes at offset \(at) failed: \(errnoText(code)); the device or file system could not read it (see the kernel log, dmesg); nothing was published",
                    offset: at, cause: Int(code), path: path)
            }
            if n == 0 {
                throw ImagePackError(.truncated, "file ends at \(offset + UInt64(done)) but \(buffer.count - done) more bytes were expected", offset: offset + UInt64(done), path: path)
            }
            done += n
        }
    }

    /// Reads `count` bytes at `offset` into a new array. A range past the end of a file of known
    /// size fails before anything is allocated, so a count taken from an untrusted image never
    /// costs more memory than the file holds.
    package func read(at offset: UInt64, count: Int) throws(ImagePackError) -> [UInt8] {
        if let size {
            guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
                let end = offset > size ? offset : size
                throw ImagePackError(.truncated, "file ends at \(size) but \(count) bytes were expected at \(offset)", offset: end, path: path)
            }
        }
        var bytes = [UInt8](repeating: 0, count: count)
        try withMutableBytes(&bytes) { (buffer) throws(ImagePackError) in try read(at: offset, into: buffer) }
        return bytes
    }

    /// Reads `range` in pieces of at most `pieceSize` bytes through one buffer, handing each piece
    /// to `body` with its offset in the file: a copy of a range of any length in bounded memory.
    package func forEachPiece(
        of range: Range<UInt64>, pieceSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer, UInt64) throws(ImagePackError) -> Void
    ) throws(ImagePackError) {
        var buffer = [UInt8](repeating: 0, count: Int(min(UInt64(pieceSize), UInt64(range.count))))
        var at = range.lowerBound
        while at < range.upperBound {
            let n = Int(min(UInt64(buffer.count), range.upperBound - at))
            try withMutableBytes(&buffer) { (raw) throws(ImagePackError) in
                let part = UnsafeMutableRawBufferPointer(rebasing: raw[0..<n])
                try read(at: at, into: part)
                try body(UnsafeRawBufferPointer(part), at)
            }
            at += UInt64(n)
        }
    }

    /// Sequential read for pipes: reads up to `buffer.count` bytes; returns 0 at end of input.
    package func readSome(into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Int {
        while true {
            let n = system_read(descriptor, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            let code = system_errno
            if code == _EINTR { continue }
            throw ImagePackError(.ioFailed, "read of up to \(buffer.count) bytes failed: \(errnoText(code)); nothing was published", cause: Int(code), path: path)
        }
    }

    /// The next offset at or after `offset` that holds data (SEEK_DATA), or nil if the rest is a hole.
    /// Returns `offset` itself when the file system cannot tell.
    package func nextData(from offset: UInt64) -> UInt64? {
        let result = system_lseek(descriptor, Int64(offset), .data)
        if result >= 0 { return UInt64(result) }
        return system_errno == _ENXIO ? nil : offset
    }

    /// The next hole at or after `offset` (SEEK_HOLE); the end of the file if none.
    func nextHole(from offset: UInt64) -> UInt64 {
        let result = system_lseek(descriptor, Int64(offset), .hole)
        return result >= 0 ? UInt64(result) : (size ?? offset)
    }
}

/// A regular file or block device as a stream source (a raw disk, a memory dump, an NVRAM file);
/// named for what it reads, not for a disk. Holes of a sparse file are
/// reported as known zeros, so they are never read.
public struct FileSource: StreamSource {
    package let file: ReadableFile
    public let logicalSize: UInt64

    public init(path: String) throws(ImagePackError) {
        let file = try ReadableFile(path: path, watching: true)
        guard file.isSeekable, let size = file.size else {
            throw ImagePackError(.invalidArgument, "a disk source must be a regular file or block device, not a pipe", path: path)
        }
        self.file = file
        self.logicalSize = size
    }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        try file.read(at: offset, into: buffer)
    }

    public func isKnownZero(offset: UInt64, length: Int) -> Bool {
        guard let data = file.nextData(from: offset) else { return true }
        return data >= offset + UInt64(length)
    }

    /// A change of size, mtime or ctime since the file was opened; for a block device, of size
    /// or of the bytes of its first or last MiB.
    public func changeSinceOpened() -> String? { file.changeSinceOpened() }
}
