/// The index's entries as the index stores them (spec §8.2): 64 bytes each, back to back in one
/// buffer, a ``ChunkEntry`` made on each access. Opening a maximal index (4 M entries, 268 MB on
/// disk) took 530-840 MB when every entry was an 80-byte struct in an array next to the record it
/// was parsed from; held this way, the index costs its size on disk and no more (the loaded
/// record is kept as it was read, not copied).
public struct ChunkEntries: RandomAccessCollection, MutableCollection, Sendable, Equatable {
    /// Bytes holding the entries from `start` on (for a loaded index, the whole INDX record).
    private var storage: [UInt8]
    private let start: Int
    public let count: Int

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    /// Entries whose 64-byte forms lie in `storage` from `start` on; each was checked (kind and
    /// codec known) when the index was loaded.
    init(storage: [UInt8], start: Int, count: Int) {
        precondition(start >= 0 && storage.count - start >= count * Layout.indexEntrySize)
        self.storage = storage
        self.start = start
        self.count = count
    }

    init(_ entries: [ChunkEntry]) {
        var w = ByteWriter(capacity: entries.count * Layout.indexEntrySize)
        for e in entries { e.encode(into: &w) }
        self.init(storage: w.bytes, start: 0, count: entries.count)
    }

    public subscript(i: Int) -> ChunkEntry {
        get {
            precondition(i >= 0 && i < count, "index entry \(i) out of range")
            return storage.withUnsafeBytes { raw in
                ChunkEntry(indexForm: UnsafeRawBufferPointer(rebasing: raw[start + i * Layout.indexEntrySize..<start + (i + 1) * Layout.indexEntrySize]))
            }
        }
        set {
            precondition(i >= 0 && i < count, "index entry \(i) out of range")
            var w = ByteWriter(capacity: Layout.indexEntrySize)
            newValue.encode(into: &w)
            let at = start + i * Layout.indexEntrySize
            storage.replaceSubrange(at..<at + Layout.indexEntrySize, with: w.bytes)
        }
    }

    /// Bytes held: the entries and, for a loaded index, the rest of the INDX record they came in.
    var storageByteCount: Int { storage.count }

    /// The entries' bytes, as the index stores them.
    func withIndexForm<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        storage.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[start..<start + count * Layout.indexEntrySize])) }
    }

    public static func == (a: ChunkEntries, b: ChunkEntries) -> Bool {
        a.count == b.count && a.withIndexForm { x in b.withIndexForm { y in x.elementsEqual(y) } }
    }
}

extension ChunkEntry {
    /// Reads the 64-byte index form (spec §8.2) of an entry whose kind and codec were checked.
    init(indexForm e: UnsafeRawBufferPointer) {
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: e.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: e.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        let header = ChunkHeader(
            kind: ChunkKind(rawValue: e[0])!, codec: Codec(rawValue: e[1])!, stream: u32(4), logicalOffset: u64(8),
            logicalLength: u32(16), payloadLength: u32(20), payloadCRC: 0, contentDigest: Digest(bytes: UnsafeRawBufferPointer(rebasing: e[32..<64])))
        self.init(header: header, recordOffset: u64(24))
    }
}
