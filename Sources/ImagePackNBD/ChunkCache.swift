import ImagePack
import NIOCore
import Synchronization

/// Decoded chunks, least recently used first out, within a byte budget; each chunk is decoded
/// once however many requests want it at the same time.
///
/// Entries are immutable `ByteBuffer`s, so a read answers with slices of them (no copy) and an
/// evicted chunk lives on only as long as a reply still being written holds it. A few dozen
/// chunks fit the default budget, so eviction scans for the oldest entry instead of keeping a
/// linked list.
///
/// Requests wait for a decode in progress with a promise, not a blocked thread: with a thread
/// blocked per waiting request, a client with 64 reads in flight over the same chunk held every
/// pool thread, and chunks decoded one at a time.
final class ChunkCache: Sendable {
    typealias Loaded = Result<ByteBuffer, ImagePackError>

    private struct Entry {
        var buffer: ByteBuffer
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        /// Chunks being decoded, with the requests waiting for them.
        var pending: [Int: [EventLoopPromise<ByteBuffer>]] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    /// The most decoded bytes kept; one chunk is always kept even if larger.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    /// Hits and misses so far (tests check that a chunk is decoded once).
    var statistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    /// Whether chunk `index` is decoded or being decoded.
    func contains(_ index: Int) -> Bool { state.withLock { $0.entries[index] != nil || $0.pending[index] != nil } }

    /// Chunk `index` if it is decoded already; never waits and never decodes.
    func cached(_ index: Int) -> ByteBuffer? {
        state.withLock { s in lookup(index, in: &s) }
    }

    private func lookup(_ index: Int, in s: inout State) -> ByteBuffer? {
        guard var entry = s.entries[index] else { return nil }
        s.clock += 1
        entry.lastUse = s.clock
        s.entries[index] = entry
        s.hits += 1
        return entry.buffer
    }

    /// Chunk `index`, completed on `eventLoop`: at once if cached, when the decode in progress
    /// ends, or after `start` has run `decode` (on a pool thread) and `finish` was called.
    ///
    /// - Parameter start: hands the decode to a thread; called only if nobody decodes the chunk yet.
    func chunk(_ index: Int, on eventLoop: any EventLoop, start: (_ index: Int) -> Void) -> EventLoopFuture<ByteBuffer> {
        enum Step { case hit(ByteBuffer), wait(EventLoopFuture<ByteBuffer>), start(EventLoopFuture<ByteBuffer>) }
        let step = state.withLock { (s) -> Step in
            if let buffer = lookup(index, in: &s) { return .hit(buffer) }
            let promise = eventLoop.makePromise(of: ByteBuffer.self)
            if s.pending[index] != nil {
                s.hits += 1
                s.pending[index]!.append(promise)
                return .wait(promise.futureResult)
            }
            s.misses += 1
            s.pending[index] = [promise]
            return .start(promise.futureResult)
        }
        switch step {
        case .hit(let buffer): return eventLoop.makeSucceededFuture(buffer)
        case .wait(let future): return future
        case .start(let future):
            start(index)
            return future
        }
    }

    /// Starts decoding chunk `index` unless it is cached or being decoded (readahead).
    /// - Returns: true if the caller must now run the decode and call ``finish(_:with:)``.
    func claim(_ index: Int) -> Bool {
        state.withLock { s in
            guard s.entries[index] == nil, s.pending[index] == nil else { return false }
            s.misses += 1
            s.pending[index] = []
            return true
        }
    }

    /// Ends the decode of chunk `index`: caches it (a failure is not kept, so the next read tries
    /// again) and completes every request waiting for it.
    func finish(_ index: Int, with result: Loaded) {
        let waiters = state.withLock { s in
            let waiters = s.pending.removeValue(forKey: index) ?? []
            if case .success(let buffer) = result { insert(buffer, at: index, into: &s) }
            return waiters
        }
        for promise in waiters { promise.completeWith(result.mapError { $0 as any Error }) }
    }

    /// Chunk `index` decoded on this thread if it is not cached (the overlay's copy of a partial
    /// block, which already runs on the pool); a decode in progress elsewhere is not waited for.
    func chunkNow(_ index: Int, load: () throws(ImagePackError) -> ByteBuffer) throws(ImagePackError) -> ByteBuffer {
        if let buffer = cached(index) { return buffer }
        let buffer = try load()
        state.withLock { s in if s.entries[index] == nil { insert(buffer, at: index, into: &s) } }
        return buffer
    }

    private func insert(_ buffer: ByteBuffer, at index: Int, into s: inout State) {
        s.clock += 1
        if let old = s.entries[index] { s.bytes -= old.buffer.readableBytes }
        s.entries[index] = Entry(buffer: buffer, lastUse: s.clock)
        s.bytes += buffer.readableBytes
        while s.bytes > capacity, s.entries.count > 1 {
            guard let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
            s.entries[oldest.key] = nil
            s.bytes -= oldest.value.buffer.readableBytes
        }
    }
}
