import ImagePack

/// The overlay's file descriptor and the only system calls the overlay makes, each retried on
/// EINTR and finished on short transfers.
struct OverlayFile: Sendable {
    let descriptor: Int32
    let path: String

    /// Opens `path` read-write, creating it if missing; holds an exclusive lock so that two
    /// servers never write the same overlay.
    static func open(_ path: String) throws(NBDServerError) -> (file: OverlayFile, created: Bool) {
        var created = false
        var fd = system_open(path, _O_RDWR | _O_CLOEXEC)
        if fd < 0 && system_errno == _ENOENT {
            fd = system_open(path, _O_RDWR | _O_CREAT | _O_EXCL | _O_CLOEXEC, 0o644)
            created = fd >= 0
        }
        guard fd >= 0 else { throw NBDServerError(.io, "cannot open the overlay", path: path, cause: system_errno) }
        guard system_flock_exclusive_nonblocking(fd) == 0 else {
            let cause = system_errno
            _ = system_close(fd)
            throw NBDServerError(.io, "the overlay is in use by another process", path: path, cause: cause)
        }
        return (OverlayFile(descriptor: fd, path: path), created)
    }

    func size() throws(NBDServerError) -> UInt64 {
        guard let status = system_fstat(descriptor) else { throw NBDServerError(.io, "cannot stat the overlay", path: path, cause: system_errno) }
        return UInt64(status.size)
    }

    func setSize(_ size: UInt64) throws(NBDServerError) {
        guard system_ftruncate(descriptor, Int64(size)) == 0 else { throw NBDServerError(.io, "cannot size the overlay to \(size) bytes", path: path, cause: system_errno) }
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(NBDServerError) {
        do throws(ImagePackError) { try ReadableFile.preadAll(descriptor, at: offset, into: buffer, path: path) } catch {
            throw NBDServerError(error)
        }
    }

    func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws(NBDServerError) {
        do throws(ImagePackError) { try writeAll(descriptor, buffer, at: offset, path: path) } catch {
            throw NBDServerError(error)
        }
    }

    /// Makes `count` bytes at `offset` read as zeros, giving back their space where the file
    /// system can (a hole); elsewhere writes zeros.
    func zero(at offset: UInt64, count: Int) throws(NBDServerError) {
        if system_punch_hole(descriptor, Int64(offset), Int64(count)) == 0 { return }
        let zeros = [UInt8](repeating: 0, count: min(count, 1 << 20))
        var done = 0
        while done < count {
            let n = min(zeros.count, count - done)
            try zeros.withBytes { (raw) throws(NBDServerError) in
                try write(at: offset + UInt64(done), from: UnsafeRawBufferPointer(rebasing: raw[0..<n]))
            }
            done += n
        }
    }

    func sync() throws(NBDServerError) {
        guard system_fsync(descriptor) == 0 else { throw NBDServerError(.io, "fsync failed", path: path, cause: system_errno) }
    }

    func close() { _ = system_close(descriptor) }
}
