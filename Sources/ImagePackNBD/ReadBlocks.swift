/// The blocks of one decoded chunk that requests were answered from: a bitmap at the preferred
/// block size the server advertises (``NBDProtocol/preferredBlockSize``), block `k` being the
/// chunk's bytes `k * blockSize ..< (k + 1) * blockSize` (the last one may be shorter).
///
/// The chunk cache marks the range of every read it hands a chunk out for, so that when the chunk
/// is evicted it knows which few blocks are worth keeping (``KeptBlocks``). A 4 MiB chunk has 1024
/// blocks: 16 words, marked with word masks (a 256 KiB read of nbdcopy sets 64 bits in 1 or 2 words).
struct ReadBlocks: Sendable, Equatable {
    static let blockSize = NBDProtocol.preferredBlockSize

    /// Blocks in the chunk.
    let blockCount: Int
    private var words: [UInt64]

    /// No block read yet, in a chunk of `chunkLength` bytes.
    init(chunkLength: Int) {
        blockCount = (chunkLength + Self.blockSize - 1) / Self.blockSize
        words = Array(repeating: 0, count: (blockCount + 63) / 64)
    }

    /// The blocks that hold any byte of `bytes` (a range within the chunk).
    static func blocks(of bytes: Range<Int>) -> ClosedRange<Int>? {
        bytes.isEmpty ? nil : bytes.lowerBound / blockSize...(bytes.upperBound - 1) / blockSize
    }

    /// Marks the blocks that hold any byte of `bytes`.
    mutating func insert(bytes: Range<Int>) {
        guard let blocks = Self.blocks(of: bytes) else { return }
        insert(blocks: blocks)
    }

    /// Marks `blocks` (each must lie inside the chunk).
    mutating func insert(blocks: ClosedRange<Int>) {
        precondition(blocks.upperBound < blockCount, "block \(blocks.upperBound) past the chunk's \(blockCount)")
        var block = blocks.lowerBound
        while block <= blocks.upperBound {
            let bit = block & 63
            let run = min(64 - bit, blocks.upperBound - block + 1)
            let mask: UInt64 = run == 64 ? ~0 : ((1 << UInt64(run)) - 1) << UInt64(bit)
            words[block >> 6] |= mask
            block += run
        }
    }

    /// Marks `blocks` (block numbers inside the chunk).
    mutating func formUnion(_ blocks: some Sequence<Int>) {
        for block in blocks { insert(blocks: block...block) }
    }

    func contains(_ block: Int) -> Bool { words[block >> 6] & (1 << UInt64(block & 63)) != 0 }

    /// How many blocks are marked.
    var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The marked blocks, ascending.
    var blocks: [Int] {
        var result: [Int] = []
        for (w, word) in words.enumerated() {
            var rest = word
            while rest != 0 {
                result.append(w << 6 + rest.trailingZeroBitCount)
                rest &= rest - 1
            }
        }
        return result
    }
}
