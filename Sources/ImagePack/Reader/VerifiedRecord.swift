/// Proof, kept by a caller between decodes, that the bytes of one chunk record decoded to content
/// whose SHA-256 matched the index: the SHA-256 of the record as it was read (envelope, chunk
/// header and payload), for chunk `chunk` of the image `image`.
///
/// Why a later decode may trust it instead of hashing the content (spec §12.2, "Decoding a chunk
/// again"): the content is a deterministic function of the record's bytes (zstd and zlib
/// decoding depend on nothing else, and the codec and lengths are in the record). If a later
/// read of the record hashes to the same digest, the bytes are the same (SHA-256 is collision
/// resistant), so they decode to the same content, which matched `contentDigest`; the entry it
/// matched cannot differ either, because equal root digests mean equal indexes (spec §8.3). A
/// record that changed on disk hashes differently and is verified in full again. Hashing the
/// record costs a payload's bytes, not the content's: 305 MB instead of 1.1 GB for the 2 GiB
/// ext4 disk of the benchmarks.
///
/// Only ``ImageReader/decodeChunk(_:into:check:)`` makes one (its initializer is internal), so a
/// caller can keep and hand back proofs but not forge them.
package struct VerifiedRecord: Sendable, Equatable {
    /// The entry number the record belongs to.
    package let chunk: Int
    /// The root digest of the image whose index lists the record.
    package let image: Digest
    /// SHA-256 of the record's bytes as they were decoded.
    package let recordDigest: Digest

    init(chunk: Int, image: Digest, recordDigest: Digest) {
        self.chunk = chunk
        self.image = image
        self.recordDigest = recordDigest
    }
}

/// How ``ImageReader/decodeChunk(_:into:check:)`` checks a chunk: always against the content's
/// SHA-256, except where a ``VerifiedRecord`` for the same bytes says it was done before.
package enum RecordCheck: Sendable {
    /// Hash the content, as every read does: a chunk decoded once costs nothing more.
    case content
    /// Hash the content, and the record too, for a chunk likely to be decoded again: the outcome
    /// carries the ``VerifiedRecord`` to hand back next time.
    case contentAndRecord
    /// Hash the record; if it equals the proof's digest, decode without hashing the content,
    /// otherwise check the content as ``contentAndRecord`` does (and fail as any read would).
    case trusting(VerifiedRecord)
}

/// What ``ImageReader/decodeChunk(_:into:check:)`` did.
package enum RecordCheckOutcome: Sendable, Equatable {
    /// The content's SHA-256 was checked; no proof for later (not asked for, or the chunk is not
    /// one a proof can shorten: only zstd and zlib data chunks have a payload smaller than their
    /// content that decodes without reading anything else).
    case contentChecked
    /// The content's SHA-256 was checked, and the record's digest is the proof for next time.
    case recorded(VerifiedRecord)
    /// The record matched the proof and was decoded without hashing its content.
    case trusted
}
