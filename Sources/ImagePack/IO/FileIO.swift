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

    /// Opens `path` read-only; "-" is standard input.
    package init(path: String) throws(ImagePackError) {
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
        } else if info.kind == .blockDevice {
            let end = system_lseek(descriptor, 0, .end)
            size = end >= 0 ? UInt64(end) : nil
            isSeekable = end >= 0
        } else if info.kind == .directory {
            if path != "-" { _ = system_close(descriptor) }
            throw ImagePackError(.invalidArgument, "is a directory, not a file", path: path)
        } else {
            size = nil
            isSeekable = false
        }
    }

    deinit { if descriptor != 0 { _ = system_close(descriptor) } }

    /// Reads exactly `buffer.count` bytes at `offset`; a short file is `.truncated`.
    package func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        var done = 0
        while done < buffer.count {
            let n = system_pread(descriptor, buffer.baseAddress! + done, buffer.count - done, Int64(offset) + Int64(done))
            if n < 0 {
                let code = system_errno
                if code == _EINTR { continue }
                throw ImagePackError(.ioFailed, "read of \(buffer.count) bytes failed: \(errnoText(code))", offset: offset + UInt64(done), cause: Int(code), path: path)
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

    /// Sequential read for pipes: reads up to `buffer.count` bytes; returns 0 at end of input.
    package func readSome(into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Int {
        while true {
            let n = system_read(descriptor, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            let code = system_errno
            if code == _EINTR { continue }
            throw ImagePackError(.ioFailed, "read failed: \(errnoText(code))", cause: Int(code), path: path)
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
        let file = try ReadableFile(path: path)
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
}
