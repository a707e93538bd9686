extension OutputFile {
    /// Reads back up to `buffer.count` bytes written at `offset`, for content that appears twice
    /// in what is being written (a reference chunk, spec §7.2): returns the count read, short only
    /// at the end of the file.
    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(ImagePackError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = system_pread(descriptor, buffer.baseAddress! + done, buffer.count - done, Int64(offset) + Int64(done))
            if n == 0 { break }
            if n < 0 {
                let code = system_errno
                if code == _EINTR { continue }
                throw ImagePackError(.ioFailed, "cannot read back what was written at \(offset + UInt64(done)): \(errnoText(code))", cause: Int(code), path: path)
            }
            done += n
        }
        return done
    }
}
