/// What a streaming reader keeps of the data area it has read, so that it can resolve `reference`
/// chunks from a pipe (spec §7.2, §12.1).
///
/// A reference's target lies at most `maxReferenceDistance` file bytes before it (V60), so the
/// reader keeps the records of only that much of the data area: the payloads of data and fill
/// chunks (the only possible targets), and the headers of the others, so that a reference to a
/// parent or reference chunk is refused by the same rule as the random-access reader refuses it
/// (V34). Memory is at most the distance (256 MiB by default) in stored bytes, however long the
/// input; an image without feature `references` keeps nothing. Stored (encoded) bytes are kept
/// rather than decoded content: a 64 MiB fill chunk costs 8 bytes, and what is kept is bounded by
/// the file, not by what the index claims.
///
/// A window that does not keep content (``ReferenceContent/notNeeded``,
/// ``ReferenceContent/rereadFromOutput``) keeps only the headers: a few dozen bytes per record.
struct ReferenceWindow {
    struct Kept {
        var offset: UInt64
        var header: ChunkHeader
        /// The payload of a data or fill chunk; empty for kinds that cannot be targets.
        var payload: [UInt8]
    }

    let distance: UInt64
    /// Whether payloads are kept; without them a reference is resolved to its target's header only.
    let keepsContent: Bool
    private var kept: [Kept] = []
    /// `kept[first...]` are the live records; the array is compacted when half is dead.
    private var first = 0
    /// Payload bytes held.
    private(set) var bytes = 0
    /// The most payload bytes held at once.
    private(set) var peakBytes = 0

    init(distance: UInt64, keepsContent: Bool = true) {
        self.distance = distance
        self.keepsContent = keepsContent
    }

    /// Keeps the record at `offset` (records arrive in file order).
    mutating func keep(_ header: ChunkHeader, at offset: UInt64, payload: UnsafeRawBufferPointer) {
        let targetable = keepsContent && (header.kind == .data || header.kind == .fill)
        let copy = targetable ? Array(payload) : []
        bytes += copy.count
        peakBytes = max(peakBytes, bytes)
        kept.append(Kept(offset: offset, header: header, payload: copy))
    }

    /// Forgets the records no reference at `offset` or later may name: those more than `distance` before it.
    mutating func forget(before offset: UInt64) {
        guard offset > distance else { return }
        let horizon = offset - distance
        while first < kept.count, kept[first].offset < horizon {
            bytes -= kept[first].payload.count
            kept[first].payload = []
            first += 1
        }
        if first > 64, first * 2 > kept.count {
            kept.removeFirst(first)
            first = 0
        }
    }

    /// The kept record that starts at `offset`, if any.
    func record(at offset: UInt64) -> Kept? {
        var low = first
        var high = kept.count
        while low < high {
            let mid = (low + high) / 2
            if kept[mid].offset < offset { low = mid + 1 } else { high = mid }
        }
        guard low < kept.count, kept[low].offset == offset else { return nil }
        return kept[low]
    }
}
