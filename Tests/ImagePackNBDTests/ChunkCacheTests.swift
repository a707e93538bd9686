import ImagePack
@testable import ImagePackNBD
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The cache's accounting on its own, decodes run by hand: which chunk goes, which waits.
@Suite("Chunk cache budget")
struct ChunkCacheTests {
    /// Records the decodes the cache asks for, in order.
    final class Starts: Sendable {
        private let started = Mutex<[Int]>([])
        var all: [Int] { started.withLock { $0 } }
        var start: ChunkCache.Start { { [self] index in started.withLock { $0.append(index) } } }
    }

    static func bytes(_ count: Int, _ value: UInt8) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        buffer.writeRepeatingByte(value, count: count)
        return buffer
    }

    @Test("a chunk with a reply outstanding is never evicted; a decode without room waits until a pin comes back")
    func pinnedChunksHoldTheirRoom() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let cache = ChunkCache(capacity: 200, stallTimeout: .hours(1))
        let starts = Starts()
        let first = cache.chunk(1, size: 100, on: loop, start: starts.start)
        cache.finish(1, with: .success(Self.bytes(100, 1)))
        let second = cache.chunk(2, size: 100, on: loop, start: starts.start)
        cache.finish(2, with: .success(Self.bytes(100, 2)))
        #expect(try first.wait().readableBytes == 100 && second.wait().readableBytes == 100)
        // Both are pinned (their replies not sent): the third decode must wait.
        let third = cache.chunk(3, size: 100, on: loop, start: starts.start)
        #expect(starts.all == [1, 2])
        #expect(cache.accounting.bytes == 200 && cache.accounting.deferrals == 1)
        #expect(!cache.claim(4, size: 100), "readahead takes only free room")
        // The first reply went out: its chunk may go, and the waiting decode starts in its room.
        cache.release(1)
        #expect(starts.all == [1, 2, 3])
        #expect(!cache.contains(1) && cache.contains(2))
        cache.finish(3, with: .success(Self.bytes(100, 3)))
        #expect(try third.wait().getBytes(at: 0, length: 1) == [3])
        #expect(cache.accounting.peakBytes == 200 && cache.accounting.overdrafts == 0)
        cache.release(2)
        cache.release(3)
    }

    @Test("a decode waiting for room held by a client that stopped reading starts over budget after the stall timeout")
    func stalledRoomIsOverdrawn() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let cache = ChunkCache(capacity: 100, stallTimeout: .milliseconds(1))
        let starts = Starts()
        let held = cache.chunk(1, size: 100, on: loop, start: starts.start)
        cache.finish(1, with: .success(Self.bytes(100, 1)))
        _ = try held.wait()
        let waiting = cache.chunk(2, size: 100, on: loop, start: { index in
            starts.start(index)
            cache.finish(index, with: .success(Self.bytes(100, 2)))
        })
        #expect(try waiting.wait().getBytes(at: 0, length: 1) == [2])
        #expect(cache.accounting.overdrafts == 1 && cache.accounting.peakBytes == 200)
        cache.release(1)
        cache.release(2)
    }

    @Test("a miss evicts chunks already read before chunks decoded ahead and not read yet")
    func readChunksGoBeforeReadahead() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let cache = ChunkCache(capacity: 200, stallTimeout: .hours(1))
        let starts = Starts()
        // Chunk 10 decoded ahead (never read), then chunk 11 read and its reply sent.
        #expect(cache.claim(10, size: 100))
        cache.finish(10, with: .success(Self.bytes(100, 10)))
        let read = cache.chunk(11, size: 100, on: loop, start: starts.start)
        cache.finish(11, with: .success(Self.bytes(100, 11)))
        _ = try read.wait()
        cache.release(11)
        // Chunk 10 is older, but its decode was not used yet: chunk 11 goes.
        let miss = cache.chunk(12, size: 100, on: loop, start: starts.start)
        #expect(starts.all == [11, 12])
        #expect(cache.contains(10) && !cache.contains(11))
        cache.finish(12, with: .success(Self.bytes(100, 12)))
        _ = try miss.wait()
        cache.release(12)
    }
}
