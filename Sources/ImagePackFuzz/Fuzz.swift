import ImagePack

/// One fuzz input, run through everything that reads untrusted images: the random-access reader
/// (open, verify, a read of every stream), the streaming reader and the validator. Only
/// ImagePackError may come out; anything else (a trap, a leak, a hang, memory past the limit) is
/// a finding.
///
/// The input goes to an unlinked file on tmpfs, read through /proc/self/fd like any path, so the
/// readers run exactly their normal code. Each input is tried twice: as it is, and with every
/// checksum recomputed (see ``ChecksumFixer``), so mutations get past the CRCs into the parsers
/// behind them.
enum FuzzTarget {
    static let limits: ImageLimits = {
        var l = ImageLimits()
        // Keep a single input's decode buffers small, so the fuzzer spends its time on parsing.
        l.maxChunkSize = 1 << 20
        return l
    }()

    /// A file on tmpfs, unlinked at once: it lives only as this descriptor.
    static let fd: Int32 = {
        let dir = system_access("/dev/shm", _W_OK) == 0 ? "/dev/shm" : "/tmp"
        let path = "\(dir)/imagepack-fuzz-\(system_getpid())"
        let fd = system_open(path, _O_RDWR | _O_CREAT | _O_TRUNC | _O_CLOEXEC, 0o600)
        _ = system_unlink(path)
        return fd
    }()

    static func run(_ bytes: UnsafeRawBufferPointer) {
        exercise(bytes)
        var fixed = Array(bytes)
        if ChecksumFixer.fix(&fixed) {
            fixed.withUnsafeBytes { exercise($0) }
        }
    }

    static func exercise(_ bytes: UnsafeRawBufferPointer) {
        precondition(fd >= 0, "cannot create the scratch file")
        _ = system_ftruncate(fd, 0)
        var done = 0
        while done < bytes.count {
            let n = system_pwrite(fd, bytes.baseAddress! + done, bytes.count - done, Int64(done))
            precondition(n > 0, "write to the scratch file failed")
            done += n
        }
        let path = "/proc/self/fd/\(fd)"
        if let reader = try? ImageReader(path: path, limits: limits) {
            _ = try? reader.verify(ReadOptions(threads: 1))
            for s in reader.streams.indices {
                let size = reader.streams[s].logicalSize
                _ = try? reader.read(stream: s, at: 0, count: Int(min(size, 4096)))
                if size > 10 { _ = try? reader.read(stream: s, at: size / 2 - 5, count: 10) }
            }
        }
        if let streaming = try? StreamingReader(path: path, options: ReadOptions(limits: limits, threads: 1)) {
            _ = try? streaming.read { _ in }
        }
        if let report = try? ImageValidator.validate(path: path, options: ValidationOptions(read: ReadOptions(limits: limits, threads: 1), maxProblems: 50)) {
            _ = report.jsonData()
            _ = report.description
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
