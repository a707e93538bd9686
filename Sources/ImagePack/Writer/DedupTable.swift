import Synchronization

/// The data chunks of one write by content, for in-image deduplication (spec §7.2, `reference`
/// chunks; ``WriterOptions/deduplicate``).
///
/// Two sides use it. Workers, which hash chunks out of order, ``claim(_:job:)`` a content as
/// they hash it and learn whether an earlier job holds the same content: that chunk will most
/// likely be written as a reference, so its compression is put off (the only work dedup saves,
/// and the reason it never costs more than the hash the writer computes anyway plus a lookup).
/// The writer, which emits chunks in order, decides from ``target(of:)`` alone, so the output
/// never depends on which worker got there first; a chunk whose compression was put off but that
/// must be stored after all (its earlier copy is farther back than maxReferenceDistance) is
/// compressed then, by the same encoder settings, so it comes out the same bytes.
///
/// Memory: one entry per distinct data chunk, about 100 bytes with the dictionary's overhead;
/// at most one per chunk, so bounded by ImageLimits.maxChunks (2^22) like the index the writer
/// holds anyway: 512 Ki entries (about 50 MB) for a 2 TiB disk of 4 MiB chunks.
final class DedupTable: Sendable {
    struct Key: Hashable {
        var digest: Digest
        var length: UInt32
    }

    private struct Seen {
        /// The lowest job number that claimed this content.
        var firstJob: Int
        /// Where the latest data record with this content was written, once it was.
        var recordOffset: UInt64?
    }

    private let table = Mutex<[Key: Seen]>([:])

    /// Records that job `job` holds content `key`; true when an earlier job holds it too.
    func claim(_ key: Key, job: Int) -> Bool {
        table.withLock { table in
            guard let seen = table[key] else {
                table[key] = Seen(firstJob: job)
                return false
            }
            if seen.firstJob < job { return true }
            table[key]!.firstJob = job
            return false
        }
    }

    /// The offset of the latest data record written with content `key`, if any.
    func target(of key: Key) -> UInt64? {
        table.withLock { $0[key]?.recordOffset }
    }

    /// Records that a data record with content `key` was written at `offset`.
    func written(_ key: Key, at offset: UInt64) {
        table.withLock { table in
            if table[key] == nil { table[key] = Seen(firstJob: .max) }
            table[key]!.recordOffset = offset
        }
    }
}
