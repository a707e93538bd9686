import NIOCore

/// The chunk cache's second tier: of each chunk it evicts after sparse reads, the blocks clients
/// read, copied out of the decoded (so verified) chunk and answered later without a decode.
///
/// Why: many instances boot from one image, and a guest reads a few scattered 4 KiB blocks of
/// most chunks it touches. Keeping whole 4 MiB chunks for those spends the budget a thousandfold:
/// fio's 2,000 random 4 KiB reads of the 2 GiB ext4 disk touch all 262 stored chunks, so with
/// the default cache (8 chunks) a second pass decoded and hashed a 4 MiB chunk per 4 KiB read
/// (p50 5-8 ms). Kept, the 2,000 blocks take 8 MiB and a repeated read costs a 4 KiB copy.
///
/// Policy: a chunk's read blocks are kept only if they are at most ``densityLimit``th of its
/// blocks (128 of a 4 MiB chunk's 1024). A sequential reader (nbdcopy, qemu-img) reads every
/// block of a chunk: its chunks never qualify, so it neither churns the tier nor pays the copy,
/// and a chunk read densely is better decoded again than kept in pieces. The bound also caps the
/// copy made under the cache's lock at an eviction to 512 KiB of a 4 MiB chunk.
///
/// Only ``ChunkCache`` changes this, under its lock: the tier's bytes count against the cache's
/// one budget (see ``ChunkCache``). Kept blocks of a chunk are stored together, in block order,
/// and dropped together, oldest-used first.
struct KeptBlocks {
    static let blockSize = ReadBlocks.blockSize
    /// Blocks are kept only of chunks read in at most this fraction (1/8) of their blocks.
    static let densityLimit = 8

    private struct Chunk {
        /// Block numbers within the chunk, ascending; their bytes follow one another in `bytes`
        /// (only a chunk's last block can be short, and it comes last).
        var blocks: [Int32]
        var bytes: ByteBuffer
        var lastUse: UInt64
        /// What the entry holds in memory: its bytes and its block list.
        var cost: Int { bytes.capacity + blocks.capacity * MemoryLayout<Int32>.stride }
    }

    /// The most bytes the tier holds; over it, the oldest kept chunks go.
    let capacity: Int
    private var chunks: [Int: Chunk] = [:]
    /// Bytes held (``Chunk/cost`` summed).
    private(set) var bytes = 0
    private(set) var peakBytes = 0
    /// Reads answered from the tier.
    private(set) var hits = 0
    /// Evicted chunks whose read blocks were kept.
    private(set) var keptChunks = 0
    /// Evicted chunks with reads too dense to keep (a sequential reader's).
    private(set) var denseChunks = 0

    init(capacity: Int) { self.capacity = capacity }

    /// Chunks with blocks kept now.
    var count: Int { chunks.count }

    /// Whether the blocks `read` marks are few enough to keep (see ``densityLimit``).
    static func keeps(_ read: ReadBlocks) -> Bool {
        let n = read.count
        return n > 0 && n <= read.blockCount / densityLimit
    }

    /// Keeps the blocks `read` marks of chunk `index` (its decoded bytes `chunk`) if they are
    /// sparse; then, over ``capacity``, drops the oldest kept chunks.
    /// - Returns: the change in bytes held, for the cache's budget.
    mutating func keep(_ index: Int, from chunk: ByteBuffer, read: ReadBlocks, clock: UInt64, allocator: ByteBufferAllocator) -> Int {
        let before = bytes
        if let old = chunks.removeValue(forKey: index) { bytes -= old.cost }
        guard read.count > 0 else { return bytes - before }
        guard Self.keeps(read) else {
            denseChunks += 1
            return bytes - before
        }
        let blocks = read.blocks
        let length = chunk.readableBytes
        var copy = allocator.buffer(capacity: blocks.count * Self.blockSize)
        for block in blocks {
            let start = block * Self.blockSize
            copy.writeImmutableBuffer(chunk.getSlice(at: chunk.readerIndex + start, length: min(Self.blockSize, length - start))!)
        }
        let entry = Chunk(blocks: blocks.map { Int32($0) }, bytes: copy, lastUse: clock)
        guard entry.cost <= capacity else { return bytes - before }
        chunks[index] = entry
        bytes += entry.cost
        keptChunks += 1
        if bytes > capacity { _ = evict(atLeast: bytes - capacity * 7 / 8) }
        peakBytes = max(peakBytes, bytes)
        return bytes - before
    }

    /// The kept bytes `range` of chunk `index` (a slice: copy it before the lock is released if it
    /// must outlive the tier's entry), or nil unless every block of the range is kept.
    mutating func read(_ index: Int, _ range: Range<Int>, clock: UInt64) -> ByteBuffer? {
        guard let blocks = ReadBlocks.blocks(of: range), var entry = chunks[index] else { return nil }
        let first = Int32(blocks.lowerBound), last = Int32(blocks.upperBound)
        // The first kept block at or after `first`; blocks are unique and ascending, so the range
        // is all there if the block `last - first` places on is `last`.
        var low = 0, high = entry.blocks.count
        while low < high {
            let mid = (low + high) / 2
            if entry.blocks[mid] < first { low = mid + 1 } else { high = mid }
        }
        let end = low + Int(last - first)
        guard low < entry.blocks.count, entry.blocks[low] == first, end < entry.blocks.count, entry.blocks[end] == last else { return nil }
        let at = low * Self.blockSize + range.lowerBound - blocks.lowerBound * Self.blockSize
        guard let slice = entry.bytes.getSlice(at: entry.bytes.readerIndex + at, length: range.count) else { return nil }
        entry.lastUse = clock
        chunks[index] = entry
        hits += 1
        return slice
    }

    /// Removes chunk `index`'s kept blocks (it is being cached whole again).
    /// - Returns: the blocks and the bytes freed, nil if none were kept.
    mutating func remove(_ index: Int) -> (blocks: [Int], freed: Int)? {
        guard let entry = chunks.removeValue(forKey: index) else { return nil }
        bytes -= entry.cost
        return (entry.blocks.map { Int($0) }, entry.cost)
    }

    /// Drops the oldest-used kept chunks until `needed` bytes are freed or none is left: in one
    /// pass, sorted once, since a 100 GiB disk can have 25,000 kept chunks and a scan per victim
    /// under the lock would cost more than the reads it saves.
    /// - Returns: the bytes freed.
    mutating func evict(atLeast needed: Int) -> Int {
        guard needed > 0 else { return 0 }
        var freed = 0
        for (index, entry) in chunks.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
            guard freed < needed else { break }
            chunks[index] = nil
            bytes -= entry.cost
            freed += entry.cost
        }
        return freed
    }
}
