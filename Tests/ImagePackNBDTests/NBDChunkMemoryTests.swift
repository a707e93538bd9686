import Foundation
import ImagePack
@testable import ImagePackNBD
import Synchronization
import Testing
import TestSupport

/// The cache's budget covers every decoded chunk the server holds, including the chunks that
/// replies not yet sent point into; clients that do not keep up make decodes wait, not memory grow.
@Suite("NBD chunk memory")
struct NBDChunkMemoryTests {
    static let chunkSize = 64 << 10
    static let chunkCount = 48

    /// Chunk `i` of the "wide" disk: compressible and unlike every other chunk (no references).
    static func chunk(_ i: Int) -> [UInt8] {
        var state = UInt32(truncatingIfNeeded: i &* 2_654_435_761 &+ 1)
        return (0..<chunkSize).map { j in
            state = state &* 1_103_515_245 &+ 12345
            return j & 3 == 0 ? UInt8(truncatingIfNeeded: state >> 16) : UInt8(65 + (i + j) % 26)
        }
    }

    /// Every chunk of the disk, made once (the tests compare thousands of replies with them).
    static let chunks = (0..<chunkCount).map(chunk)

    /// The chunk client `c` asks for in its `k`th read: each client walks the chunks in its own order.
    static func order(_ c: Int, _ k: Int) -> Int { (k * 7 + c * 11) % chunkCount }

    /// An image with one disk of ``chunkCount`` distinct stored 64 KiB chunks.
    static func makeImage(in directory: String) throws -> String {
        let disk = Array(chunks.joined())
        let metadata = ImageMetadata(
            name: "wide", description: "distinct chunks", os: .init(family: "linux"), architecture: .x86_64, bootMode: .uefi,
            vcpuCount: 1, memoryMiB: 512, createdAt: "2026-11-30T12:00:00Z", sourceInstanceID: "i-wide", region: "eu-west-1",
            ownerAccount: "111122223333", visibility: .custom, sharedWith: [], tags: [:])
        let path = directory + "/wide.ipk"
        var options = WriterOptions(chunkSize: chunkSize, threads: 2)
        options.deduplicate = false
        _ = try ImageWriter.write(SystemState(metadata: metadata, streams: [StreamSpec(name: "wide", source: BytesSource(disk))]), toFile: path, options: options)
        return path
    }

    @Test("clients that send hundreds of reads before reading any reply never make the server hold more decoded chunks than the cache's budget")
    func slowClientsStayWithinBudget() throws {
        let directory = TestServer.makeDirectory()
        let image = try Self.makeImage(in: directory)
        let budget = 4 * Self.chunkSize
        let t = try TestServer(image: image, directory: directory) {
            $0.cacheBytes = budget
            // Every client reads in the end: a decode never needs to start over budget here.
            $0.stalledReaderTimeout = .seconds(120)
        }
        defer { t.stop() }
        // 6 clients x 250 whole-chunk reads (16 MiB each, more than the sockets buffer), each
        // client walking the chunks in its own order, so that they want different chunks at once.
        let clients = 6, reads = 250
        var connections: [RawNBDClient] = []
        for c in 0..<clients {
            let client = try t.connectedClient("wide", structured: false)
            try client.send((0..<reads).flatMap { k in
                RawNBDClient.requestBytes(0, cookie: UInt64(k), offset: UInt64(Self.order(c, k) * Self.chunkSize), length: UInt32(Self.chunkSize))
            })
            connections.append(client)
        }
        // Only now does anyone read: all at once, each on a thread of its own (a dispatch queue
        // would run only as many as there are cores, and the others would then be clients that
        // stopped reading). Each blocking socket is used by its thread only.
        let wrong = Mutex(0)
        let done = DispatchGroup()
        for client in connections {
            nonisolated(unsafe) let client = client
            let c = connections.firstIndex { $0 === client }!
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                for _ in 0..<reads {
                    guard let reply = try? client.simpleReply(dataLength: Self.chunkSize), reply.error == 0,
                        reply.data == Self.chunks[Self.order(c, Int(reply.cookie))]
                    else {
                        wrong.withLock { $0 += 1 }
                        return
                    }
                }
            }
        }
        done.wait()
        #expect(wrong.withLock { $0 } == 0, "replies missing, failed or wrong")
        let memory = t.server.chunkMemory
        #expect(memory.capacity == budget)
        #expect(memory.peakBytes <= budget, "\(memory.peakBytes) bytes of decoded chunks held against a budget of \(budget)")
        #expect(memory.overdrafts == 0)
        // More reads than chunks fit: the cache was full, so the bound was tested, not idle.
        #expect(memory.peakBytes >= budget - Self.chunkSize)
    }

    @Test("a client that stops reading cannot stall the others: a decode that waited for its room starts over budget")
    func stalledReaderDoesNotStallOthers() throws {
        let directory = TestServer.makeDirectory()
        let image = try Self.makeImage(in: directory)
        // Room for two chunks, which one client that never reads can pin.
        let t = try TestServer(image: image, directory: directory) {
            $0.cacheBytes = 2 * Self.chunkSize
            $0.stalledReaderTimeout = .milliseconds(50)
        }
        defer { t.stop() }
        let stalled = try t.connectedClient("wide", structured: false)
        // Far more than the sockets hold, over two chunks: replies stay unsent, pinning both.
        try stalled.send((0..<600).flatMap { k in
            RawNBDClient.requestBytes(0, cookie: UInt64(k), offset: UInt64((k % 2) * Self.chunkSize), length: UInt32(Self.chunkSize))
        })
        // Wait until its replies fill the socket and then the channel: from then on they stay put.
        var waited = 0
        while t.server.context.peakBufferedReplyBytes < NBDServer.writeBufferWaterMark.high, waited < 2000 {
            usleep(10_000)
            waited += 1
        }
        try #require(t.server.context.peakBufferedReplyBytes >= NBDServer.writeBufferWaterMark.high)
        let other = try t.connectedClient("wide", structured: false)
        for i in 2..<12 {
            try other.request(0, cookie: UInt64(i), offset: UInt64(i * Self.chunkSize), length: UInt32(Self.chunkSize))
            let reply = try other.simpleReply(dataLength: Self.chunkSize)
            #expect(reply.error == 0)
            expectSameBytes(reply.data, Self.chunks[i])
        }
        #expect(t.server.chunkMemory.overdrafts > 0)
        withExtendedLifetime(stalled) {}
    }
}
