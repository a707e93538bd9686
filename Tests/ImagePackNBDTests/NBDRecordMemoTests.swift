import Foundation
import ImagePack
@testable import ImagePackNBD
import Testing
import TestSupport

/// A chunk the server decodes again (evicted from its cache) is checked against the record it
/// verified before instead of its content; a record changed under the running server is caught.
@Suite("NBD verified records")
struct NBDRecordMemoTests {
    static let chunkSize = NBDChunkMemoryTests.chunkSize

    /// Reads chunk `k` of the "wide" disk whole and returns the reply's error and bytes.
    static func readChunk(_ client: RawNBDClient, _ k: Int, cookie: UInt64) throws -> (error: UInt32, data: [UInt8]) {
        try client.request(0, cookie: cookie, offset: UInt64(k * chunkSize), length: UInt32(chunkSize))
        let reply = try client.simpleReply(dataLength: chunkSize)
        #expect(reply.cookie == cookie)
        return (reply.error, reply.data)
    }

    @Test("with a cache of one chunk, the third decode of a chunk trusts the record verified at the second and gives the same bytes")
    func thirdDecodeTrustsRecord() throws {
        let directory = TestServer.makeDirectory()
        let image = try NBDChunkMemoryTests.makeImage(in: directory)
        let t = try TestServer(image: image, directory: directory) { $0.cacheBytes = Self.chunkSize }
        defer { t.stop() }
        let client = try t.connectedClient("wide", structured: false)
        // Chunks 0 and 5 in turn (not adjacent: no read-ahead), each evicting the other.
        for (n, k) in [0, 5, 0, 5, 0, 5].enumerated() {
            let reply = try Self.readChunk(client, k, cookie: UInt64(n))
            #expect(reply.error == 0)
            expectSameBytes(reply.data, NBDChunkMemoryTests.chunks[k], "read \(n) of chunk \(k)")
        }
        #expect(t.server.cacheStatistics.misses == 6, "every read decoded")
        let memo = t.server.recordMemoStatistics
        #expect(memo.recorded == 2, "the second decode of each chunk recorded its proof")
        #expect(memo.trusted == 2, "the third decode of each chunk trusted it")
    }

    @Test("a payload rewritten under the running server fails the next read of its chunk with EIO and a log naming chunk and rule; other chunks are still served")
    func payloadChangedUnderServer() throws {
        let directory = TestServer.makeDirectory()
        let image = try NBDChunkMemoryTests.makeImage(in: directory)
        let t = try TestServer(image: image, directory: directory) { $0.cacheBytes = Self.chunkSize }
        defer { t.stop() }
        let client = try t.connectedClient("wide", structured: false)
        for (n, k) in [0, 5, 0, 5].enumerated() { #expect(try Self.readChunk(client, k, cookie: UInt64(n)).error == 0) }
        #expect(t.server.recordMemoStatistics.recorded == 2)

        // Flip a byte in the middle of chunk 0's payload, in place: the server's descriptor sees it.
        let entry = try ImageReader(path: image).entries[0]
        let at = entry.recordOffset + UInt64(entry.storedSize) - UInt64(entry.payloadLength) / 2
        let handle = try #require(FileHandle(forUpdatingAtPath: image))
        try handle.seek(toOffset: at)
        let original = try #require(try handle.read(upToCount: 1))
        try handle.seek(toOffset: at)
        try handle.write(contentsOf: Data([original[0] ^ 0x5A]))
        try handle.close()

        #expect(try Self.readChunk(client, 0, cookie: 10).error == 5, "EIO for the changed chunk")
        let logged = t.log.all.filter { $0.contains("failed") }
        #expect(logged.contains { $0.contains("chunk 0,") && $0.contains("rule V26") }, "\(logged)")
        let other = try Self.readChunk(client, 5, cookie: 11)
        #expect(other.error == 0 && other.data == NBDChunkMemoryTests.chunks[5], "the other chunk is still served")
        #expect(try Self.readChunk(client, 0, cookie: 12).error == 5, "and the changed one still refused")
    }
}
