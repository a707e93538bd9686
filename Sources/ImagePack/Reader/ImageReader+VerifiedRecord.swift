extension ImageReader {
    /// Decodes chunk `i` into `output` (exactly its length) as ``decodeChunk(_:into:verifyDigest:contentNeeded:scratch:parents:)``
    /// does, for a caller that decodes the same chunks again and again (`imgpack serve` evicts a
    /// chunk and decodes it at the next read): a ``VerifiedRecord`` from an earlier decode spares
    /// hashing the content when the record's bytes are unchanged (see ``VerifiedRecord`` for why
    /// that is as strong as hashing the content).
    ///
    /// The payload's CRC-32C is computed only to name a failure (``ChunkVerifier/PayloadCRC/onFailure``):
    /// a damaged payload is still reported as damaged (V26) with its chunk, and never served.
    /// - Parameter check: what to hash; a proof for another chunk or image counts for nothing
    ///   (the content is then checked and recorded).
    /// - Returns: what was checked, with the proof to keep when one was made.
    package func decodeChunk(_ i: Int, into output: UnsafeMutableRawBufferPointer, check: RecordCheck) throws(ImagePackError) -> RecordCheckOutcome {
        let entry = entries[i]
        guard entry.kind == .data, entry.codec == .zstd || entry.codec == .zlib else {
            // Nothing to spare: a stored payload is the content, a fill chunk's digest is known
            // from its pattern, and the others take their content from other records.
            try decodeChunk(i, into: output)
            return .contentChecked
        }
        return try scratch.with { (scratch) throws(ImagePackError) -> RecordCheckOutcome in
            do throws(ImagePackError) {
                let (header, record) = try readRecord(entry, using: scratch)
                let payloadOffset = entry.recordOffset + UInt64(Layout.chunkPrefixSize)
                let payload = UnsafeRawBufferPointer(rebasing: record[Layout.chunkPrefixSize...])
                var recordDigest: Digest?
                if case .trusting(let proof) = check, proof.chunk == i, proof.image == rootDigest {
                    let digest = Digest.sha256(record)
                    if digest == proof.recordDigest {
                        do throws(ImagePackError) { try scratch.decoder.decode(header.codec, payload, into: output) } catch {
                            throw error.located(at: payloadOffset)
                        }
                        return .trusted
                    }
                    recordDigest = digest
                }
                try ChunkVerifier.decode(
                    header, payload: payload, into: output, decoder: scratch.decoder, verifyDigest: true, payloadOffset: payloadOffset,
                    parents: parents, streamName: streams[Int(entry.stream)].name, payloadCRC: .onFailure)
                if case .content = check { return .contentChecked }
                // The bytes just decoded and checked, still in the buffer: not a second read of the file.
                return .recorded(VerifiedRecord(chunk: i, image: rootDigest, recordDigest: recordDigest ?? Digest.sha256(record)))
            } catch {
                throw error.enriched(chunk: i, stream: streams[Int(entry.stream)].name).at(path: path)
            }
        }
    }
}
