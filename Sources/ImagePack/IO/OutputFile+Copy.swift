extension OutputFile {
    /// Appends the first `count` bytes of `input` to this file: in the kernel where it can
    /// (sendfile), else through a buffer.
    package func append(from input: ReadableFile, count: UInt64) throws(ImagePackError) {
        var done: UInt64 = 0
        while done < count {
            let n = system_sendfile(input.descriptor, Int64(done), descriptor, Int(min(count - done, 1 << 30)))
            if n > 0 {
                done += UInt64(n)
                continue
            }
            let code = system_errno
            if n == 0 {
                throw ImagePackError(.truncated, "the image ended at \(done) bytes while being copied (expected \(count)): was it changed meanwhile?", offset: done)
            }
            guard [_EXDEV, _ENOSYS, _EINVAL, _EOPNOTSUPP].contains(code), done == 0 else {
                throw ImagePackError(.ioFailed, "cannot copy the image: \(errnoText(code))", cause: Int(code), path: path)
            }
            break
        }
        // Buffered copy where the kernel cannot (across file systems on old kernels, some FUSE).
        try input.forEachPiece(of: done..<count) { (piece, _) throws(ImagePackError) in try write(piece) }
    }
}
