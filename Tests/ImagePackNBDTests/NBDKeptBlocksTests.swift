import Foundation
import ImagePack
@testable import ImagePackNBD
import Testing

/// The blocks clients read of chunks the cache evicted, answered again without a decode, through
/// the server: the same bytes, never a failed chunk's, never over the overlay's writes.
@Suite("NBD kept blocks")
struct NBDKeptBlocksTests {
    typealias Wide = NBDChunkMemoryTests
    static let chunkSize = Wide.chunkSize
    static let block = 4096

    /// A server on the "wide" disk (48 distinct 64 KiB chunks) with room for 4 chunks.
    static func server(overlay: Bool = false) throws -> TestServer {
        let directory = TestServer.makeDirectory()
        let image = try Wide.makeImage(in: directory)
        return try TestServer(image: image, directory: directory) {
            $0.cacheBytes = 4 * chunkSize
            if overlay { $0.overlayPath = directory + "/wide.overlay" }
        }
    }

    static func connect(_ t: TestServer) throws -> RawNBDClient {
        let c = try t.connectedClient("wide", structured: false)
        return c
    }

    static func read(_ c: RawNBDClient, _ offset: Int, _ length: Int) throws -> [UInt8] {
        try c.request(0, cookie: 1, offset: UInt64(offset), length: UInt32(length))
        let reply = try c.simpleReply(dataLength: length)
        #expect(reply.error == 0)
        return reply.data
    }

    /// The disk's bytes `offset..<offset+length`.
    static func disk(_ offset: Int, _ length: Int) -> [UInt8] {
        Array(Wide.chunks.joined().dropFirst(offset).prefix(length))
    }

    /// Reads one block in each of chunks 10..<18: the cache's 4 chunks are all others afterwards.
    static func evict(_ c: RawNBDClient) throws {
        for i in 10..<18 { _ = try read(c, i * chunkSize + 7 * block, block) }
    }

    @Test("a block read of a chunk evicted since is answered again without a decode, with the same bytes; a range partly kept is decoded")
    func sparseReadAnsweredWithoutDecode() throws {
        let t = try Self.server()
        defer { t.stop() }
        let c = try Self.connect(t)
        let first = 2 * Self.chunkSize + 3 * Self.block
        #expect(try Self.read(c, first + 100, 200) == Self.disk(first + 100, 200))
        try Self.evict(c)
        let cache = t.server.context.exports[0].cache
        #expect(!cache.contains(2) && t.server.keptBlocks.keptChunks >= 1)

        let misses = t.server.cacheStatistics.misses
        #expect(try Self.read(c, first, Self.block) == Self.disk(first, Self.block))
        #expect(try Self.read(c, first + 4000, 96) == Self.disk(first + 4000, 96))
        #expect(t.server.cacheStatistics.misses == misses, "no decode")
        #expect(t.server.keptBlocks.hits == 2)
        // One byte more reaches block 4, never read: the normal path decodes the chunk.
        #expect(try Self.read(c, first, Self.block + 1) == Self.disk(first, Self.block + 1))
        #expect(t.server.cacheStatistics.misses == misses + 1 && t.server.keptBlocks.hits == 2)
        #expect(t.server.chunkMemory.peakBytes <= 4 * Self.chunkSize)
    }

    @Test("a read across two chunks whose blocks are both kept is answered without a decode")
    func readAcrossKeptChunks() throws {
        let t = try Self.server()
        defer { t.stop() }
        let c = try Self.connect(t)
        // The last block of chunk 4 and the first of chunk 5, read separately, then evicted.
        let boundary = 5 * Self.chunkSize
        #expect(try Self.read(c, boundary - Self.block, Self.block) == Self.disk(boundary - Self.block, Self.block))
        #expect(try Self.read(c, boundary + 10, 100) == Self.disk(boundary + 10, 100))
        try Self.evict(c)
        let cache = t.server.context.exports[0].cache
        #expect(!cache.contains(4) && !cache.contains(5))
        let misses = t.server.cacheStatistics.misses
        #expect(try Self.read(c, boundary - 1000, 2000) == Self.disk(boundary - 1000, 2000))
        #expect(t.server.cacheStatistics.misses == misses && t.server.keptBlocks.hits == 2)
    }

    @Test("a whole-chunk read, in one request or block by block, keeps nothing when its chunk is evicted")
    func sequentialReadsFillNothing() throws {
        let t = try Self.server()
        defer { t.stop() }
        let c = try Self.connect(t)
        #expect(try Self.read(c, 0, Self.chunkSize) == Self.disk(0, Self.chunkSize))
        for b in 0..<Self.chunkSize / Self.block {
            let offset = Self.chunkSize + b * Self.block
            #expect(try Self.read(c, offset, Self.block) == Self.disk(offset, Self.block))
        }
        // Evicted by whole-chunk reads too: nothing of any of them is kept.
        for i in 20..<26 { _ = try Self.read(c, i * Self.chunkSize, Self.chunkSize) }
        let cache = t.server.context.exports[0].cache
        #expect(!cache.contains(0) && !cache.contains(1))
        let kept = t.server.keptBlocks
        #expect(kept.keptChunks == 0 && kept.bytes == 0 && kept.denseChunks >= 4)
        let misses = t.server.cacheStatistics.misses
        _ = try Self.read(c, 0, Self.block)
        #expect(t.server.cacheStatistics.misses == misses + 1)
    }

    @Test("a corrupt chunk is EIO every time and nothing of it is kept; its neighbours' blocks are")
    func corruptChunkKeepsNothing() throws {
        let directory = TestServer.makeDirectory()
        let image = try Wide.makeImage(in: directory)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: image)))
        let reader = try ImageReader(path: image)
        let chunks = reader.chunks(ofStream: 0)
        let victim = chunks.index(chunks.startIndex, offsetBy: 5)
        let entry = chunks[victim]
        bytes[Int(entry.recordOffset) + Int(entry.storedSize) - Int(entry.payloadLength) / 2] ^= 0x55
        try Data(bytes).write(to: URL(fileURLWithPath: image))
        let t = try TestServer(image: image, directory: directory) { $0.cacheBytes = 4 * Self.chunkSize }
        defer { t.stop() }
        let c = try Self.connect(t)
        let offset = Int(entry.logicalOffset) + Self.block
        try c.request(0, cookie: 1, offset: UInt64(offset), length: UInt32(Self.block))
        #expect(try c.simpleReply().error == 5, "EIO")
        #expect(try Self.read(c, 6 * Self.chunkSize, Self.block) == Self.disk(6 * Self.chunkSize, Self.block))
        try Self.evict(c)
        let cache = t.server.context.exports[0].cache
        #expect(cache.kept(victim, reading: Self.block..<2 * Self.block) == nil)
        #expect(cache.kept(victim + 1, reading: 0..<Self.block) != nil, "chunk 6's block is kept")
        let misses = t.server.cacheStatistics.misses
        try c.request(0, cookie: 2, offset: UInt64(offset), length: UInt32(Self.block))
        #expect(try c.simpleReply().error == 5, "EIO again, from a new decode")
        #expect(t.server.cacheStatistics.misses == misses + 1)
    }

    @Test("with an overlay, a write wins over the kept block it covers; the blocks beside it still come from the tier")
    func overlayWritesWinOverKeptBlocks() throws {
        let t = try Self.server(overlay: true)
        defer { t.stop() }
        let c = try Self.connect(t)
        let base = 3 * Self.chunkSize
        // Blocks 2 and 3 of chunk 3 read, then the chunk evicted.
        #expect(try Self.read(c, base + 2 * Self.block, 2 * Self.block) == Self.disk(base + 2 * Self.block, 2 * Self.block))
        try Self.evict(c)
        #expect(!t.server.context.exports[0].cache.contains(3) && t.server.keptBlocks.keptChunks >= 1)

        // 100 bytes into block 3 written (the rest of the block copied from the image first).
        let written = [UInt8](repeating: 0xA5, count: 100)
        try c.request(1, cookie: 9, offset: UInt64(base + 3 * Self.block + 50), length: 100, payload: written)
        #expect(try c.simpleReply().error == 0)
        let misses = t.server.cacheStatistics.misses
        let hits = t.server.keptBlocks.hits
        var expected = Self.disk(base + 2 * Self.block, 2 * Self.block)
        expected.replaceSubrange(Self.block + 50..<Self.block + 150, with: written)
        #expect(try Self.read(c, base + 2 * Self.block, 2 * Self.block) == expected)
        #expect(try Self.read(c, base + 3 * Self.block + 40, 20) == Array(expected[Self.block + 40..<Self.block + 60]))
        // Block 2 (not written) came from the tier both times, no chunk was decoded.
        #expect(t.server.keptBlocks.hits >= hits + 1 && t.server.cacheStatistics.misses == misses)
    }
}
