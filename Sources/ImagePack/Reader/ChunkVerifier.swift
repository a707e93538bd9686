/// Decoding and checking one chunk's payload: the part both readers share (rules V26-V28).
enum ChunkVerifier {
    /// When the payload's CRC-32C is computed.
    enum PayloadCRC {
        /// Before anything else: what verify and validate do, so that a damaged payload is found
        /// even where its content would still come out right.
        case first
        /// Only when decoding or the content digest fails, to name the failure as before (V26 for
        /// damaged stored bytes): for a data chunk whose content SHA-256 is checked anyway, the
        /// CRC adds no guarantee (spec §7.3: "redundant with contentDigest"), and it cost 2 % of
        /// `imgpack serve`'s CPU. Other kinds and unchecked digests still check it first.
        case onFailure
    }

    /// Checks the payload CRC, decodes into `output` (exactly the chunk's length) and, when asked,
    /// checks the content digest. `payloadOffset` is the payload's file offset, for errors.
    /// - Parameter contentNeeded: false when only the check matters (verify, validate): a fill
    ///   chunk's digest then comes from ``FillDigests`` and its content is never written out.
    static func decode(
        _ header: ChunkHeader, payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        decoder: PayloadDecoder, verifyDigest: Bool, contentNeeded: Bool = true, payloadOffset: UInt64,
        parents: ParentChain, streamName: String, payloadCRC: PayloadCRC = .first
    ) throws(ImagePackError) {
        precondition(output.count == Int(header.logicalLength))
        let crcOnFailure = payloadCRC == .onFailure && verifyDigest && header.kind == .data && header.codec != .zstdPatch
        /// The CRC's verdict where it was deferred: a damaged payload is reported as such (V26),
        /// whatever decoding or the digest made of it.
        func checkDeferredCRC() throws(ImagePackError) {
            guard crcOnFailure else { return }
            try checkCRC(header, payload: payload, payloadOffset: payloadOffset)
        }
        if !crcOnFailure { try checkCRC(header, payload: payload, payloadOffset: payloadOffset) }
        switch header.kind {
        case .data where header.codec == .zstdPatch:
            // The parent's chunk at exactly this range is the history the frame was compressed
            // against (spec §7.3, V50); it is verified by the parent's own digest as it is read.
            var prefix = [UInt8](repeating: 0, count: output.count)
            do throws(ImagePackError) {
                try withMutableBytes(&prefix) { (raw) throws(ImagePackError) in
                    try parents.read(stream: streamName, at: header.logicalOffset, into: raw, wholeChunk: true)
                }
            } catch {
                throw error.located(at: payloadOffset - UInt64(Layout.chunkPrefixSize))
            }
            do throws(ImagePackError) {
                try withBytes(prefix) { (raw) throws(ImagePackError) in try decoder.decode(header.codec, payload, into: output, prefix: raw) }
            } catch {
                throw error.located(at: payloadOffset)
            }
        case .data:
            do throws(ImagePackError) { try decoder.decode(header.codec, payload, into: output) } catch {
                try checkDeferredCRC()
                throw error.located(at: payloadOffset)
            }
        case .fill:
            let pattern = try checkedPattern(header, payload: payload, verifyDigest: verifyDigest, payloadOffset: payloadOffset)
            guard contentNeeded else { return }
            var i = 0
            while i < output.count {
                output.storeBytes(of: pattern, toByteOffset: i, as: UInt64.self)
                i += 8
            }
            return
        case .zero:
            output.initializeMemory(as: UInt8.self, repeating: 0)
        case .parent:
            do throws(ImagePackError) {
                try parents.read(stream: streamName, at: header.logicalOffset, into: output, wholeChunk: false)
            } catch {
                throw error.located(at: payloadOffset - UInt64(Layout.chunkPrefixSize))
            }
            // Checked here, where a wrong or damaged parent shows (V28), unless the parent's own
            // index lists this very range with this digest: then the parent's read has checked the
            // bytes against it (at whichever image of the chain stores them), and hashing them
            // again at every level made a 5-deep chain's extract hash each chunk 6 times.
            guard parents.vouches(stream: streamName, offset: header.logicalOffset, length: header.logicalLength, digest: header.contentDigest)
                || Digest.sha256(UnsafeRawBufferPointer(output)) == header.contentDigest
            else {
                throw ImagePackError(.chunkHashMismatch, "the parent image's content at \(header.logicalOffset)..<\(header.logicalOffset + UInt64(header.logicalLength)) does not match the delta's SHA-256: the parent supplied is not the image this delta was made on, or it is damaged", rule: .v28, offset: payloadOffset - UInt64(Layout.chunkPrefixSize), field: "contentDigest")
            }
            return
        case .reference:
            // Its content is its target's: each reader finds the target its own way (the index,
            // the streaming window) and decodes that record here instead.
            preconditionFailure("a reference chunk is decoded through its target (ImageReader.decodeReference, ReferenceWindow)")
        }
        if verifyDigest {
            guard Digest.sha256(UnsafeRawBufferPointer(output)) == header.contentDigest else {
                try checkDeferredCRC()
                throw ImagePackError(.chunkHashMismatch, "decoded chunk does not match its SHA-256: the content is not what was written", rule: .v28, offset: payloadOffset, field: "contentDigest")
            }
        }
    }

    /// The 8-byte pattern of a fill chunk, its payload checked (V26) and its content digest
    /// checked against the pattern (V28): a server answers reads of the chunk from the pattern,
    /// never writing out its up to 64 MiB of content.
    static func fillPattern(_ header: ChunkHeader, payload: UnsafeRawBufferPointer, payloadOffset: UInt64) throws(ImagePackError) -> UInt64 {
        precondition(header.kind == .fill)
        try checkCRC(header, payload: payload, payloadOffset: payloadOffset)
        return try checkedPattern(header, payload: payload, verifyDigest: true, payloadOffset: payloadOffset)
    }

    /// V26: the payload's bytes against the header's CRC-32C.
    static func checkCRC(_ header: ChunkHeader, payload: UnsafeRawBufferPointer, payloadOffset: UInt64) throws(ImagePackError) {
        guard CRC32C.checksum(payload) == header.payloadCRC else {
            throw ImagePackError(.chunkChecksumMismatch, "stored bytes of the chunk do not match their CRC-32C: the payload is damaged", rule: .v26, offset: payloadOffset, field: "payload")
        }
    }

    /// One hash per distinct pattern and length (``FillDigests``), not per chunk.
    private static func checkedPattern(_ header: ChunkHeader, payload: UnsafeRawBufferPointer, verifyDigest: Bool, payloadOffset: UInt64) throws(ImagePackError) -> UInt64 {
        let pattern = payload.loadUnaligned(as: UInt64.self)
        if verifyDigest {
            guard FillDigests.digest(pattern: pattern, length: header.logicalLength) == header.contentDigest else {
                throw ImagePackError(.chunkHashMismatch, "the fill chunk's content does not match its SHA-256: the content is not what was written", rule: .v28, offset: payloadOffset, field: "contentDigest")
            }
        }
        return pattern
    }
}
