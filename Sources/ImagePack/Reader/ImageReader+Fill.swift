extension ImageReader {
    /// The 8-byte pattern whose repetition is fill chunk `i`'s content, from one read of its
    /// record, checked as a decode checks it (the record agrees with the index, V34; its payload
    /// CRC, V26; its content digest, V28, one hash per distinct pattern and length). For a
    /// server that answers reads of the chunk from a shared buffer of the pattern instead of
    /// allocating the chunk (up to 64 MiB).
    package func verifiedFillPattern(ofEntry i: Int) throws(ImagePackError) -> UInt64 {
        let entry = entries[i]
        precondition(entry.kind == .fill, "entry \(i) is not a fill chunk")
        do throws(ImagePackError) {
            let record = try file.read(at: entry.recordOffset, count: Layout.chunkPrefixSize + Int(entry.payloadLength))
            let header = try ChunkHeader.decodePrefix(Array(record[0..<Layout.chunkPrefixSize]), at: entry.recordOffset, limits: limits)
            guard entry.matches(header) else {
                throw ImagePackError(.indexMismatch, "the chunk record at \(entry.recordOffset) does not say what the index says about it", rule: .v34, offset: entry.recordOffset)
            }
            return try withBytes(record) { (raw) throws(ImagePackError) -> UInt64 in
                try ChunkVerifier.fillPattern(
                    header, payload: UnsafeRawBufferPointer(rebasing: raw[Layout.chunkPrefixSize...]),
                    payloadOffset: entry.recordOffset + UInt64(Layout.chunkPrefixSize))
            }
        } catch {
            throw error.enriched(chunk: i, stream: streams[Int(entry.stream)].name).at(path: path)
        }
    }
}
