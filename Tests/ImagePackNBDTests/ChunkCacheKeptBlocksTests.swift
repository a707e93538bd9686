import ImagePack
@testable import ImagePackNBD
import NIOCore
import NIOPosix
import Testing

/// The cache's second tier on its own, decodes run by hand: which blocks are kept, what they
/// answer, and that they share the one budget with the decoded chunks.
@Suite("Chunk cache kept blocks")
struct ChunkCacheKeptBlocksTests {
    static let chunkSize = 128 << 10
    static let block = ReadBlocks.blockSize

    /// Every block unlike the others (made once: the tests make hundreds of chunks).
    static let pattern: [UInt8] = (0..<chunkSize).map { j in UInt8(truncatingIfNeeded: j &* 7 &+ j >> 12) }

    /// Chunk `index`'s bytes: ``pattern`` with the index in each block, unlike every other chunk's.
    static func chunk(_ index: Int) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: chunkSize)
        buffer.writeBytes(pattern)
        for b in 0..<chunkSize / block { buffer.setInteger(UInt32(index), at: b * block + 8) }
        return buffer
    }

    /// Reads `range` of chunk `index` through the cache as a request does (decoding on a miss),
    /// then gives the pin back as a sent reply does.
    static func read(_ cache: ChunkCache, _ index: Int, _ range: Range<Int>, on loop: any EventLoop) throws -> [UInt8] {
        let future = cache.chunk(index, size: chunkSize, reading: range, on: loop) { cache.finish($0, with: .success(Self.chunk($0))) }
        let buffer = try future.wait()
        defer { cache.release(index) }
        return buffer.getBytes(at: buffer.readerIndex + range.lowerBound, length: range.count)!
    }

    /// The bytes the tier answers for `range` of chunk `index`, or nil.
    static func kept(_ cache: ChunkCache, _ index: Int, _ range: Range<Int>) -> [UInt8]? {
        guard case .kept(let bytes) = cache.cachedOrKept(index, reading: range) else { return nil }
        return Array(bytes.readableBytesView)
    }

    @Test("an evicted chunk read sparsely answers its read blocks again, the same bytes, without a decode; a range not all kept needs one")
    func sparseReadsAreKept() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let cache = ChunkCache(capacity: 2 * Self.chunkSize, stallTimeout: .hours(1))
        let original = Array(Self.chunk(1).readableBytesView)
        _ = try Self.read(cache, 1, 3 * Self.block + 10..<3 * Self.block + 110, on: loop)
        _ = try Self.read(cache, 1, 9 * Self.block..<11 * Self.block, on: loop)
        _ = try Self.read(cache, 2, 0..<Self.block, on: loop)
        #expect(cache.keptStatistics.keptChunks == 0, "nothing evicted yet")
        _ = try Self.read(cache, 3, 0..<Self.block, on: loop)
        // Chunk 3 took the room of both: the budget holds chunk 1's three kept blocks, not two chunks more.
        #expect(!cache.contains(1) && !cache.contains(2) && cache.keptStatistics.keptChunks == 2 && cache.keptStatistics.chunks == 2)
        let misses = cache.statistics.misses

        // The blocks read (3, 9 and 10) answer any range inside them, across 9 and 10 too.
        #expect(Self.kept(cache, 1, 3 * Self.block..<4 * Self.block) == Array(original[3 * Self.block..<4 * Self.block]))
        #expect(Self.kept(cache, 1, 3 * Self.block + 4000..<3 * Self.block + 4096) == Array(original[3 * Self.block + 4000..<3 * Self.block + 4096]))
        #expect(Self.kept(cache, 1, 9 * Self.block + 5..<11 * Self.block) == Array(original[9 * Self.block + 5..<11 * Self.block]))
        #expect(cache.statistics.misses == misses && cache.keptStatistics.hits == 3)
        // Block 4 was never read, block 11 neither: a range reaching into them is not answered.
        #expect(cache.cachedOrKept(1, reading: 3 * Self.block..<4 * Self.block + 1) == nil)
        #expect(cache.cachedOrKept(1, reading: 10 * Self.block..<12 * Self.block) == nil)
        #expect(cache.cachedOrKept(1, reading: 0..<Self.block) == nil)
        #expect(cache.keptStatistics.hits == 3)
    }

    @Test("a chunk read densely (a sequential reader's) keeps nothing; one decoded ahead and never read neither")
    func denseReadsAreNotKept() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let cache = ChunkCache(capacity: 2 * Self.chunkSize, stallTimeout: .hours(1))
        // Chunk 1 read in 4 KiB pieces front to back; chunk 2 read in 5 blocks: over 1/8 of 32.
        for b in 0..<32 { _ = try Self.read(cache, 1, b * Self.block..<(b + 1) * Self.block, on: loop) }
        _ = try Self.read(cache, 2, 0..<5 * Self.block, on: loop)
        // Chunk 3 decoded ahead (in chunk 1's room), then evicted unread: chunk 4 is read, and
        // while its reply is unsent chunk 5 needs room.
        #expect(cache.claim(3, size: Self.chunkSize))
        cache.finish(3, with: .success(Self.chunk(3)))
        let four = cache.chunk(4, size: Self.chunkSize, reading: 0..<Self.block, on: loop) { cache.finish($0, with: .success(Self.chunk($0))) }
        _ = try four.wait()
        _ = try Self.read(cache, 5, 0..<Self.block, on: loop)
        cache.release(4)
        #expect(!cache.contains(1) && !cache.contains(2) && !cache.contains(3))
        let kept = cache.keptStatistics
        #expect(kept.denseChunks == 2 && kept.keptChunks == 0 && kept.bytes == 0)
        #expect(cache.cachedOrKept(1, reading: 0..<Self.block) == nil && cache.cachedOrKept(2, reading: 0..<Self.block) == nil)
        #expect(cache.cachedOrKept(3, reading: 0..<Self.block) == nil)
        #expect(cache.accounting.bytes == 2 * Self.chunkSize)
    }

    @Test("kept blocks count against the budget: the tier holds at most half, and decodes drop kept blocks rather than wait; readahead never drops them")
    func keptBlocksShareTheBudget() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let capacity = 4 * Self.chunkSize
        let cache = ChunkCache(capacity: capacity, stallTimeout: .hours(1))
        // 100 chunks, 2 blocks read of each: 800 KiB of blocks would be kept without a bound.
        for i in 0..<100 {
            _ = try Self.read(cache, i, 0..<Self.block, on: loop)
            _ = try Self.read(cache, i, 5 * Self.block..<6 * Self.block, on: loop)
            #expect(cache.accounting.bytes <= capacity && cache.keptStatistics.bytes <= capacity / 2)
        }
        var kept = cache.keptStatistics
        let held = cache.accounting.bytes
        #expect((held - kept.bytes) % Self.chunkSize == 0, "chunks plus kept blocks, nothing else")
        let cached = (held - kept.bytes) / Self.chunkSize
        #expect(cached >= 1 && (0..<100).filter(cache.contains).count == cached)
        #expect(kept.keptChunks == 100 - cached && kept.bytes > capacity / 4 && kept.bytes <= capacity / 2)
        #expect(cache.accounting.peakBytes <= capacity && cache.accounting.deferrals == 0)

        // Four chunks pinned at once (replies not sent) need the whole budget: the kept blocks
        // go, and no decode waits.
        var pinned: [EventLoopFuture<ByteBuffer>] = []
        for i in 200..<204 {
            pinned.append(cache.chunk(i, size: Self.chunkSize, reading: 0..<Self.block, on: loop) { cache.finish($0, with: .success(Self.chunk($0))) })
        }
        for future in pinned { _ = try future.wait() }
        kept = cache.keptStatistics
        #expect(kept.bytes == 0 && kept.chunks == 0)
        #expect(cache.accounting.bytes == capacity && cache.accounting.deferrals == 0 && cache.accounting.overdrafts == 0)
        for i in 200..<204 { cache.release(i) }
    }

    @Test("readahead does not drop kept blocks for a guess; a read that needs their room does, without waiting")
    func readaheadSparesKeptBlocks() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let cache = ChunkCache(capacity: 2 * Self.chunkSize, stallTimeout: .hours(1))
        for i in 1...3 { _ = try Self.read(cache, i, 0..<Self.block, on: loop) }
        // Chunks 1 and 2 went for chunk 3 (the kept block of 1 left too little room for two chunks).
        #expect(cache.keptStatistics.chunks == 2 && !cache.contains(2) && cache.contains(3))
        #expect(cache.accounting.bytes == Self.chunkSize + cache.keptStatistics.bytes)
        let pinned = try #require(cache.cached(3))
        #expect(!cache.claim(4, size: Self.chunkSize), "no room but the kept blocks'")
        #expect(cache.keptStatistics.chunks == 2)
        #expect(try Self.read(cache, 4, 0..<Self.block, on: loop) == Array(Self.chunk(4).readableBytesView.prefix(Self.block)))
        #expect(cache.keptStatistics.chunks == 0 && cache.accounting.deferrals == 0 && cache.accounting.bytes == 2 * Self.chunkSize)
        _ = pinned
        cache.release(3)
    }

    @Test("a failed decode keeps nothing; a chunk decoded again takes its kept blocks back and keeps them when it goes again")
    func onlyVerifiedChunksAreKept() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let cache = ChunkCache(capacity: 2 * Self.chunkSize, stallTimeout: .hours(1))
        let failed = cache.chunk(7, size: Self.chunkSize, reading: 0..<Self.block, on: loop) { index in
            cache.finish(index, with: .failure(ImagePackError(.chunkHashMismatch, "the chunk's SHA-256 differs")))
        }
        let error = #expect(throws: ImagePackError.self) { try failed.wait() }
        #expect(error?.code == .chunkHashMismatch)
        #expect(!cache.contains(7) && cache.accounting.bytes == 0)
        for i in 1...3 { _ = try Self.read(cache, i, 0..<Self.block, on: loop) }
        #expect(cache.kept(7, reading: 0..<Self.block) == nil && cache.keptStatistics.keptChunks == 2)

        // Chunk 1's block 0 is kept; a read of its block 2 decodes it again, and the kept block
        // moves back into the chunk (not held twice).
        let before = cache.statistics.misses
        #expect(try Self.read(cache, 1, 2 * Self.block..<3 * Self.block, on: loop) == Array(Array(Self.chunk(1).readableBytesView)[2 * Self.block..<3 * Self.block]))
        #expect(cache.statistics.misses == before + 1 && cache.contains(1) && cache.kept(1, reading: 0..<Self.block) == nil)
        for i in 4...5 { _ = try Self.read(cache, i, 0..<Self.block, on: loop) }
        // Evicted again: both blocks, 0 and 2, are kept.
        #expect(!cache.contains(1))
        #expect(Self.kept(cache, 1, 0..<Self.block) == Array(Array(Self.chunk(1).readableBytesView)[0..<Self.block]))
        #expect(Self.kept(cache, 1, 2 * Self.block..<3 * Self.block) != nil)
    }
}

