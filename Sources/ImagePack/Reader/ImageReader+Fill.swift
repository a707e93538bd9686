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
            return try scratch.with { (scratch) throws(ImagePackError) -> UInt64 in
                let (header, record) = try readRecord(entry, using: scratch)
                return try ChunkVerifier.fillPattern(
                    header, payload: UnsafeRawBufferPointer(rebasing: record[Layout.chunkPrefixSize...]),
                    payloadOffset: entry.recordOffset + UInt64(Layout.chunkPrefixSize))
            }
        } catch {
            throw error.enriched(chunk: i, stream: streams[Int(entry.stream)].name).at(path: path)
        }
    }
}
