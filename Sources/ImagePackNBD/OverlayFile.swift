#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#else
#error("OverlayFile needs Glibc or Darwin")
#endif

/// The overlay's file descriptor and the only system calls the overlay makes, each retried on
/// EINTR and finished on short transfers.
struct OverlayFile: Sendable {
    let descriptor: Int32
    let path: String

    /// Opens `path` read-write, creating it if missing; holds an exclusive lock so that two
    /// servers never write the same overlay.
    static func open(_ path: String) throws(NBDServerError) -> (file: OverlayFile, created: Bool) {
        var created = false
        var fd = systemOpen(path, O_RDWR | O_CLOEXEC, 0)
        if fd < 0 && errno == ENOENT {
            fd = systemOpen(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            created = fd >= 0
        }
        guard fd >= 0 else { throw NBDServerError(.io, "cannot open the overlay", path: path, cause: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let cause = errno
            _ = systemClose(fd)
            throw NBDServerError(.io, "the overlay is in use by another process", path: path, cause: cause)
        }
        return (OverlayFile(descriptor: fd, path: path), created)
    }

    func size() throws(NBDServerError) -> UInt64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw NBDServerError(.io, "cannot stat the overlay", path: path, cause: errno) }
        return UInt64(info.st_size)
    }

    func setSize(_ size: UInt64) throws(NBDServerError) {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw NBDServerError(.io, "cannot size the overlay to \(size) bytes", path: path, cause: errno) }
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(NBDServerError) {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw NBDServerError(.io, n == 0 ? "the overlay ends before its data area does" : "read failed", path: path, offset: offset + UInt64(done), cause: n == 0 ? nil : errno)
            }
            done += n
        }
    }

    func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws(NBDServerError) {
        var done = 0
        while done < buffer.count {
            let n = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw NBDServerError(.io, "write failed", path: path, offset: offset + UInt64(done), cause: errno) }
            done += n
        }
    }

    /// Makes `count` bytes at `offset` read as zeros, giving back their space where the file
    /// system can (a hole); elsewhere writes zeros.
    func zero(at offset: UInt64, count: Int) throws(NBDServerError) {
        #if os(Linux)
        if linuxFallocate(descriptor, fallocPunchHole | fallocKeepSize, Int64(offset), Int64(count)) == 0 { return }
        #endif
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
        guard fsync(descriptor) == 0 else { throw NBDServerError(.io, "fsync failed", path: path, cause: errno) }
    }

    func close() { _ = systemClose(descriptor) }
}

#if canImport(Glibc)
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { Glibc.open(path, flags, mode) }
private func systemClose(_ fd: Int32) -> Int32 { Glibc.close(fd) }
#else
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { Darwin.open(path, flags, mode) }
private func systemClose(_ fd: Int32) -> Int32 { Darwin.close(fd) }
#endif

#if os(Linux)
// Glibc declares fallocate(2) only under _GNU_SOURCE, which the Swift module does not define.
@_silgen_name("fallocate64")
private func linuxFallocate(_ fd: Int32, _ mode: Int32, _ offset: Int64, _ length: Int64) -> Int32
/// <linux/falloc.h>
private let fallocKeepSize: Int32 = 0x01
private let fallocPunchHole: Int32 = 0x02
#endif
