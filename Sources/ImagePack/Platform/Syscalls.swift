// The one place that talks to the C library (modelled on swift-system's Internals/Syscalls.swift):
// the only `#if canImport(Glibc) / Musl / Darwin` chain in the package, and one thin wrapper per
// call the code makes. Everything else, in this module and in the CLI and fuzz targets, calls
// these wrappers, so porting is a matter of this file.
//
// Wrappers keep the C function's name after `system_` and its meaning: they return what the call
// returns (-1 and `system_errno` on failure) unless the signature says otherwise. Where the C
// libraries differ (SEEK_DATA's value, pthread_t, rusage units, O_TMPFILE) the difference is
// resolved here, once.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("ImagePack supports Linux (Glibc or Musl) and Darwin")
#endif

// MARK: - errno

/// The calling thread's `errno`.
package var system_errno: Int32 { errno }

/// strerror(3) as a string.
package func system_strerror(_ code: Int32) -> String { String(cString: strerror(code)) }

package var _EINTR: Int32 { EINTR }
package var _EPIPE: Int32 { EPIPE }
package var _EEXIST: Int32 { EEXIST }
package var _ENOENT: Int32 { ENOENT }
package var _ENXIO: Int32 { ENXIO }
package var _ESRCH: Int32 { ESRCH }
package var _EXDEV: Int32 { EXDEV }
package var _ENOSYS: Int32 { ENOSYS }
package var _EINVAL: Int32 { EINVAL }
package var _EOPNOTSUPP: Int32 { EOPNOTSUPP }

// MARK: - Files

package var _O_RDONLY: Int32 { O_RDONLY }
package var _O_WRONLY: Int32 { O_WRONLY }
package var _O_RDWR: Int32 { O_RDWR }
package var _O_CREAT: Int32 { O_CREAT }
package var _O_EXCL: Int32 { O_EXCL }
package var _O_TRUNC: Int32 { O_TRUNC }
package var _O_CLOEXEC: Int32 { O_CLOEXEC }
package var _F_OK: Int32 { F_OK }
package var _W_OK: Int32 { W_OK }
package var _O_DIRECTORY: Int32 { O_DIRECTORY }

/// O_TMPFILE: an unnamed regular file in the given directory, which linkat(2) can name later.
/// Linux only (3.11+); nil where the C library has no such flag.
package var _O_TMPFILE: Int32? {
    #if canImport(Glibc)
    // Glibc spells it as a macro over two others, which Swift does not import as one constant.
    return __O_TMPFILE | O_DIRECTORY
    #elseif canImport(Musl)
    return O_TMPFILE
    #else
    return nil
    #endif
}

package func system_open(_ path: String, _ flags: Int32, _ mode: UInt32 = 0) -> Int32 {
    open(path, flags, mode_t(mode))
}

package func system_close(_ fd: Int32) -> Int32 { close(fd) }

package func system_pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64) -> Int {
    pread(fd, buffer, count, off_t(offset))
}

package func system_pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: Int64) -> Int {
    pwrite(fd, buffer, count, off_t(offset))
}

package func system_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

package func system_write(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}

/// Where lseek(2) looks from.
package enum SeekWhence {
    case end
    /// The next offset holding data (SEEK_DATA).
    case data
    /// The next hole (SEEK_HOLE).
    case hole

    var rawValue: Int32 {
        switch self {
        case .end: return SEEK_END
        #if canImport(Darwin)
        case .data: return SEEK_DATA
        case .hole: return SEEK_HOLE
        #else
        // Linux's values; Glibc declares them only under _GNU_SOURCE, which Swift does not set.
        // (Darwin numbers them the other way round, hence no literals outside this file.)
        case .data: return 3
        case .hole: return 4
        #endif
        }
    }
}

package func system_lseek(_ fd: Int32, _ offset: Int64, _ whence: SeekWhence) -> Int64 {
    Int64(lseek(fd, off_t(offset), whence.rawValue))
}

package func system_ftruncate(_ fd: Int32, _ length: Int64) -> Int32 { ftruncate(fd, off_t(length)) }

package func system_fsync(_ fd: Int32) -> Int32 { fsync(fd) }

#if os(Linux)
// Glibc declares fallocate(2) only under _GNU_SOURCE, which the Swift module does not define.
@_silgen_name("fallocate64")
private func linux_fallocate(_ fd: Int32, _ mode: Int32, _ offset: Int64, _ length: Int64) -> Int32
#endif

/// Deallocates `length` bytes at `offset` (they then read as zeros) without changing the file's
/// size: fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE). Returns -1 (and `system_errno`)
/// where the file system or the platform cannot; the caller then writes zeros.
package func system_punch_hole(_ fd: Int32, _ offset: Int64, _ length: Int64) -> Int32 {
    #if os(Linux)
    return linux_fallocate(fd, 0x02 | 0x01, offset, length)  // <linux/falloc.h>: PUNCH_HOLE | KEEP_SIZE
    #else
    return -1
    #endif
}

/// Opens the directory `path` and fsyncs it, so that the names created or replaced in it (link,
/// rename) are on stable storage. Returns 0, or -1 with `system_errno` set.
package func system_fsync_directory(_ path: String) -> Int32 {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return -1 }
    let result = fsync(fd)
    let code = errno
    close(fd)
    errno = code
    return result
}

/// sendfile(2) from `input` at `inputOffset` to the current position of `output`: the kernel
/// copies file to file without the bytes passing through user space (copy_file_range(2) would
/// also reflink, but Glibc declares it only under _GNU_SOURCE, which Swift's Glibc module does
/// not set). Returns the bytes copied, 0 at end of input, -1 with `system_errno` (EINVAL or
/// ENOSYS where the kernel cannot: the caller then copies by read/write).
package func system_sendfile(_ input: Int32, _ inputOffset: Int64, _ output: Int32, _ count: Int) -> Int {
    var from = off_t(inputOffset)
    return sendfile(output, input, &from, count)
}

/// fchmod(2): sets a file's permission bits regardless of the umask.
package func system_fchmod(_ fd: Int32, _ mode: UInt32) -> Int32 { fchmod(fd, mode_t(mode)) }

/// What stat(2) says about a file, in the fields the code reads.
package struct FileStatus: Sendable {
    package enum Kind { case regular, directory, blockDevice, symbolicLink, other }
    package let kind: Kind
    package let size: Int64
    /// Bytes the file occupies on disk (st_blocks is in 512-byte units on Linux and Darwin).
    package let allocatedBytes: Int64
    /// Last modification of the content (st_mtime), in nanoseconds since the epoch.
    package let modifiedNanoseconds: Int64
    /// Last change of the inode (st_ctime): content, size or attributes; no user can set it back.
    package let changedNanoseconds: Int64
    /// The file system's preferred I/O size (st_blksize): its allocation block for a regular file.
    package let blockSize: Int
    /// The permission bits (st_mode & 0o7777).
    package let permissions: UInt32
    /// st_dev and st_ino: equal for two descriptors of the same file.
    package let device: UInt64
    package let inode: UInt64

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFBLK: kind = .blockDevice
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        size = Int64(info.st_size)
        allocatedBytes = Int64(info.st_blocks) * 512
        #if canImport(Darwin)
        modifiedNanoseconds = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        changedNanoseconds = Int64(info.st_ctimespec.tv_sec) * 1_000_000_000 + Int64(info.st_ctimespec.tv_nsec)
        #else
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changedNanoseconds = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        #endif
        blockSize = Int(info.st_blksize)
        permissions = UInt32(info.st_mode) & 0o7777
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}

/// fstat(2); nil on failure, with `system_errno` set.
package func system_fstat(_ fd: Int32) -> FileStatus? {
    var info = stat()
    return fstat(fd, &info) == 0 ? FileStatus(info) : nil
}

/// stat(2); nil on failure, with `system_errno` set.
package func system_stat(_ path: String) -> FileStatus? {
    var info = stat()
    return stat(path, &info) == 0 ? FileStatus(info) : nil
}

/// lstat(2): the link itself, not what it points to (a dangling link is still there); nil on
/// failure, with `system_errno` set.
package func system_lstat(_ path: String) -> FileStatus? {
    var info = stat()
    return lstat(path, &info) == 0 ? FileStatus(info) : nil
}

package func system_mkdir(_ path: String, _ mode: UInt32) -> Int32 { mkdir(path, mode_t(mode)) }

package func system_rmdir(_ path: String) -> Int32 { rmdir(path) }

package func system_access(_ path: String, _ mode: Int32) -> Int32 { access(path, mode) }

package func system_unlink(_ path: String) -> Int32 { unlink(path) }

package func system_rename(_ from: String, _ to: String) -> Int32 { rename(from, to) }

package func system_link(_ from: String, _ to: String) -> Int32 { link(from, to) }

/// linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW): like link(2), but follows a symbolic
/// link in `from`, which naming an O_TMPFILE file through /proc/self/fd/N needs.
package func system_linkat_following(_ from: String, _ to: String) -> Int32 {
    linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW)
}

/// The names in a directory (without "." and ".."), or nil if it cannot be read.
package func system_directoryEntries(_ path: String) -> [String]? {
    guard let directory = opendir(path) else { return nil }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
            String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// flock(fd, LOCK_EX | LOCK_NB): an advisory lock that lives as long as the open file, whatever
/// process or host holds it (on NFS it becomes a byte-range lock).
package func system_flock_exclusive_nonblocking(_ fd: Int32) -> Int32 { flock(fd, LOCK_EX | LOCK_NB) }

// MARK: - Processes and signals

package func system_getpid() -> Int32 { getpid() }

/// kill(2); `system_kill(pid, 0)` only asks whether the process exists.
package func system_kill(_ pid: Int32, _ signal: Int32) -> Int32 { kill(pid, signal) }

package var _SIGINT: Int32 { SIGINT }
package var _SIGTERM: Int32 { SIGTERM }
package var _SIGKILL: Int32 { SIGKILL }

/// signal(number, SIG_IGN): the default action no longer runs (a dispatch source still sees it).
package func system_ignore_signal(_ number: Int32) { _ = signal(number, SIG_IGN) }

/// _exit(2): ends the process at once, without atexit handlers or flushing stdio.
package func system_exit(_ status: Int32) -> Never { _exit(status) }

/// Online processors (sysconf(_SC_NPROCESSORS_ONLN)); at least 1.
package func system_online_processors() -> Int {
    max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

/// Tunes glibc's malloc for a process whose big buffers (decoded chunks) come and go on several
/// threads (nothing elsewhere). Call it before the threads start.
/// - `arenas` arenas for all threads (M_ARENA_MAX): glibc gives each allocating thread an arena of
///   its own and keeps what each once held resident, so chunks decoded on two pool threads kept
///   up to twice the peak of live chunks. `imgpack serve` with 8 nbdcopy clients peaked at
///   109-125 MiB with the default arenas, 83-88 MiB with one.
/// - Buffers up to 32 MiB from the heap, not mmap (M_MMAP_THRESHOLD), and up to `retainedFreeBytes`
///   free at the heap's top kept rather than given back (M_TRIM_THRESHOLD): with one arena and
///   glibc's moving thresholds, the heap shrank and grew again around chunks, and every regrowth
///   faulted in fresh zeroed pages (server system time per copy up by about half).
package func system_tune_malloc(arenas: Int32, retainedFreeBytes: Int32) {
    #if canImport(Glibc)
    // <malloc.h> is not part of the Glibc module: mallopt is looked up, and its options are
    // M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3, M_ARENA_MAX -8.
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    _ = mallopt(-8, arenas)
    _ = mallopt(-3, 32 << 20)
    _ = mallopt(-1, retainedFreeBytes)
    #endif
}

/// Peak resident memory of this process in KiB (getrusage(RUSAGE_SELF).ru_maxrss).
package func system_peak_resident_kib() -> Int {
    var usage = rusage()
    #if canImport(Darwin)
    getrusage(RUSAGE_SELF, &usage)
    return Int(usage.ru_maxrss) / 1024  // bytes on Darwin
    #else
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Int(usage.ru_maxrss)  // KiB on Linux
    #endif
}

// MARK: - Threads

/// A started POSIX thread, to be joined once.
package struct SystemThread {
    fileprivate let handle: pthread_t
}

private final class ThreadBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// pthread_create(3) running `run`; nil if the system refuses to create a thread.
package func system_pthread_create(_ run: @escaping @Sendable () -> Void) -> SystemThread? {
    let body = Unmanaged.passRetained(ThreadBody(run)).toOpaque()
    #if canImport(Darwin)
    var thread: pthread_t?
    let rc = pthread_create(&thread, nil, { argument in
        Unmanaged<ThreadBody>.fromOpaque(argument).takeRetainedValue().run()
        return nil
    }, body)
    guard rc == 0, let thread else {
        Unmanaged<ThreadBody>.fromOpaque(body).release()
        return nil
    }
    return SystemThread(handle: thread)
    #else
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { argument in
        Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue().run()
        return nil
    }, body)
    guard rc == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(body).release()
        return nil
    }
    return SystemThread(handle: thread)
    #endif
}

package func system_pthread_join(_ thread: SystemThread) { pthread_join(thread.handle, nil) }

/// A pthread mutex, for code that cannot use Synchronization.Mutex (it is not a class and cannot
/// be stored behind a generic reference).
package typealias SystemMutex = pthread_mutex_t

package func system_mutex_init(_ mutex: UnsafeMutablePointer<SystemMutex>) {
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
}

package func system_mutex_destroy(_ mutex: UnsafeMutablePointer<SystemMutex>) { pthread_mutex_destroy(mutex) }
package func system_mutex_lock(_ mutex: UnsafeMutablePointer<SystemMutex>) { pthread_mutex_lock(mutex) }
package func system_mutex_unlock(_ mutex: UnsafeMutablePointer<SystemMutex>) { pthread_mutex_unlock(mutex) }

// MARK: - Terminals and clocks

package func system_isatty(_ fd: Int32) -> Bool { isatty(fd) == 1 }

/// Columns of the terminal on `fd` (ioctl TIOCGWINSZ); nil when it is not a terminal or says 0.
package func system_terminal_columns(_ fd: Int32) -> Int? {
    var size = winsize()
    guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
    return Int(size.ws_col)
}

/// Seconds on the monotonic clock (clock_gettime(CLOCK_MONOTONIC)).
package func system_monotonic_seconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

// MARK: - Memory and math

package func system_memcmp(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Int32 { memcmp(a, b, count) }

/// pow(3) from the C math library: the simulator's tables depend on its exact results.
package func system_pow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
