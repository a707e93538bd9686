/// The work budget of spec §10 (rule V46): what reading an image may cost, decided from the
/// stream table and the index before any chunk is decoded.
extension ImageLimits {
    /// Checks that the streams together hold at most `maxLogicalBytes` (V46).
    /// - Parameter offset: the stream table's file offset, for the error.
    func checkLogicalTotal(_ streams: [StreamInfo], at offset: UInt64) throws(ImagePackError) {
        var total: UInt64 = 0
        for s in streams {
            let (sum, overflow) = total.addingReportingOverflow(s.logicalSize)
            total = overflow ? .max : sum
        }
        guard total <= maxLogicalBytes else {
            throw ImagePackError(.limitExceeded, "the streams hold \(total) logical bytes together, more than the limit \(maxLogicalBytes)", rule: .v46, offset: offset, field: "logicalSize")
        }
    }

    /// Most logical bytes of data and fill chunks a file (or a prefix of a stream) of `storedBytes`
    /// may make a reader decode and hash (V46).
    func workAllowed(storedBytes: UInt64) -> UInt64 {
        let (allowed, overflow) = storedBytes.multipliedReportingOverflow(by: maxLogicalBytesPerStoredByte)
        return overflow ? .max : allowed
    }
}

extension ImageIndex {
    /// Logical bytes of the chunks a reader decodes and hashes (data and fill; zero chunks cost
    /// one hash per distinct length, at most maxChunkSize in all).
    var decodeWork: UInt64 {
        entries.reduce(UInt64(0)) { $0 + ($1.kind == .zero ? 0 : UInt64($1.logicalLength)) }
    }

    /// Checks the work budget against a file of `fileLength` bytes before any chunk is decoded
    /// (V46): a small file may not make a reader decode and hash without end.
    func checkBudget(fileLength: UInt64, indexOffset: UInt64, limits: ImageLimits) throws(ImagePackError) {
        let work = decodeWork
        let allowed = limits.workAllowed(storedBytes: fileLength)
        guard work <= allowed else {
            throw ImagePackError(.limitExceeded, "the index lists \(work) logical bytes of data and fill chunks in a file of \(fileLength) bytes, more than the limit of \(limits.maxLogicalBytesPerStoredByte) per stored byte", rule: .v46, offset: indexOffset)
        }
    }
}
