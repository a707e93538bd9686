import ImagePack
import NIOCore
import Synchronization

/// Decoded chunks within one byte budget that covers every decoded chunk the server holds: the
/// cached ones, those being decoded, and those that replies not yet sent still point into.
///
/// Entries are immutable `ByteBuffer`s, so a read answers with slices of them (no copy). A slice
/// keeps its whole chunk alive until the socket took it, so a chunk with replies outstanding is
/// *pinned*: it counts against the budget and is never evicted (it stays findable, which costs
/// nothing more). Every chunk handed out comes with one pin the caller must give back with
/// ``release(_:)``. Without pins, 8 nbdcopy clients (32 connections reading 32 places) held
/// 129-161 MiB of chunks the cache had already dropped, against a 32 MiB budget.
///
/// A decode that finds no room waits, in order, until a pin or a decode gives some back, so the
/// budget holds whatever the number of clients. Clients that stop reading can pin chunks for as
/// long as they like, so a decode that has waited ``stallTimeout`` starts anyway: the budget is
/// then overdrawn by what stalled clients hold (a few chunks per connection, see
/// `NBDConnectionHandler.maxPinnedChunks`), and the others keep being served.
///
/// A few dozen chunks fit the default budget, so eviction scans for the oldest entry instead of
/// keeping a linked list. Requests wait for a decode in progress with a promise, not a blocked
/// thread: with a thread blocked per waiting request, a client with 64 reads in flight over the
/// same chunk held every pool thread, and chunks decoded one at a time.
final class ChunkCache: Sendable {
    typealias Loaded = Result<ByteBuffer, ImagePackError>
    typealias Start = @Sendable (_ index: Int) -> Void

    private struct Entry {
        var buffer: ByteBuffer
        var lastUse: UInt64
        /// Handed out and not released: replies not yet sent, requests being answered.
        var pins: Int
        /// Decoded ahead of a reader and not asked for yet; readahead never evicts these.
        var unread: Bool
    }

    private struct Pending {
        var size: Int
        var waiters: [EventLoopPromise<ByteBuffer>]
        /// Room is reserved and the decode runs; false while it waits for room in `deferred`.
        var started: Bool
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        /// Chunks being decoded or waiting for room, with the requests waiting for them.
        var pending: [Int: Pending] = [:]
        /// Decodes waiting for room, oldest first.
        var deferred: [(index: Int, start: Start)] = []
        /// Cached chunks (pinned or not) plus the room reserved by the decodes running.
        var bytes = 0
        var peakBytes = 0
        /// Decodes started over budget after waiting ``stallTimeout``.
        var overdrafts = 0
        /// Decodes that had to wait for room.
        var deferrals = 0
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    /// The most decoded bytes held; one chunk is always allowed even if larger.
    let capacity: Int
    /// How long a decode waits for room before it starts over budget (clients that stopped
    /// reading hold the room).
    let stallTimeout: TimeAmount
    private let state = Mutex(State())

    init(capacity: Int, stallTimeout: TimeAmount = .seconds(1)) {
        self.capacity = capacity
        self.stallTimeout = stallTimeout
    }

    /// Hits and misses so far (tests check that a chunk is decoded once).
    var statistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    /// The most bytes held at once (cached, pinned and being decoded), and how many decodes
    /// started over budget because clients that stopped reading held the room.
    var accounting: (bytes: Int, peakBytes: Int, overdrafts: Int, deferrals: Int) {
        state.withLock { ($0.bytes, $0.peakBytes, $0.overdrafts, $0.deferrals) }
    }

    /// Whether chunk `index` is decoded or being decoded.
    func contains(_ index: Int) -> Bool { state.withLock { $0.entries[index] != nil || $0.pending[index] != nil } }

    /// Chunk `index`, pinned, if it is decoded already; never waits and never decodes.
    func cached(_ index: Int) -> ByteBuffer? {
        state.withLock { s in lookup(index, in: &s) }
    }

    private func lookup(_ index: Int, in s: inout State) -> ByteBuffer? {
        guard var entry = s.entries[index] else { return nil }
        s.clock += 1
        entry.lastUse = s.clock
        entry.pins += 1
        entry.unread = false
        s.entries[index] = entry
        s.hits += 1
        return entry.buffer
    }

    /// Gives back one pin of chunk `index` (a reply was sent or dropped, or its bytes copied);
    /// an unpinned chunk may be evicted, and decodes waiting for room may start.
    func release(_ index: Int) {
        let starts = state.withLock { s -> [(Int, Start)] in
            guard var entry = s.entries[index] else { preconditionFailure("chunk \(index) released but not cached") }
            precondition(entry.pins > 0, "chunk \(index) released more often than handed out")
            entry.pins -= 1
            s.entries[index] = entry
            return entry.pins == 0 ? startDeferred(in: &s) : []
        }
        for (index, start) in starts { start(index) }
    }

    /// Chunk `index` (of `size` bytes), pinned, completed on `eventLoop`: at once if cached, when
    /// the decode in progress ends, or after `start` has run the decode (on a pool thread) and
    /// ``finish(_:with:)`` was called. Without room, the decode waits for a pin to be released.
    ///
    /// - Parameter start: hands the decode to a thread; called only if nobody decodes the chunk
    ///   yet, maybe later, from the thread that released the room.
    func chunk(_ index: Int, size: Int, on eventLoop: any EventLoop, start: @escaping Start) -> EventLoopFuture<ByteBuffer> {
        enum Step { case hit(ByteBuffer), wait(EventLoopFuture<ByteBuffer>), start(EventLoopFuture<ByteBuffer>), deferred(EventLoopFuture<ByteBuffer>) }
        let step = state.withLock { (s) -> Step in
            if let buffer = lookup(index, in: &s) { return .hit(buffer) }
            let promise = eventLoop.makePromise(of: ByteBuffer.self)
            if s.pending[index] != nil {
                s.hits += 1
                s.pending[index]!.waiters.append(promise)
                return .wait(promise.futureResult)
            }
            s.misses += 1
            if s.deferred.isEmpty, makeRoom(size, in: &s, sparingUnread: false) {
                reserve(size, in: &s)
                s.pending[index] = Pending(size: size, waiters: [promise], started: true)
                return .start(promise.futureResult)
            }
            s.pending[index] = Pending(size: size, waiters: [promise], started: false)
            s.deferred.append((index, start))
            s.deferrals += 1
            return .deferred(promise.futureResult)
        }
        switch step {
        case .hit(let buffer): return eventLoop.makeSucceededFuture(buffer)
        case .wait(let future): return future
        case .start(let future):
            start(index)
            return future
        case .deferred(let future):
            eventLoop.scheduleTask(in: stallTimeout) { [self] in startStalled(index) }
            return future
        }
    }

    /// Starts every decode still waiting for room (at shutdown, so that the pool fails them and
    /// no request is left waiting for a decode that never comes).
    func startAllDeferred() {
        let starts = state.withLock { s in
            defer { s.deferred = [] }
            return s.deferred.map { waiting in
                reserve(s.pending[waiting.index]!.size, in: &s)
                s.pending[waiting.index]!.started = true
                return waiting
            }
        }
        for (index, start) in starts { start(index) }
    }

    /// Starts the decode of chunk `index` over budget if it still waits for room.
    private func startStalled(_ index: Int) {
        let start = state.withLock { s -> Start? in
            guard let position = s.deferred.firstIndex(where: { $0.index == index }), let size = s.pending[index]?.size else { return nil }
            let start = s.deferred.remove(at: position).start
            // Whatever can go goes; the rest is held by clients that do not read.
            _ = makeRoom(size, in: &s, sparingUnread: false)
            reserve(size, in: &s)
            s.pending[index]!.started = true
            s.overdrafts += 1
            return start
        }
        start?(index)
    }

    /// Starts decoding chunk `index` (of `size` bytes) unless it is cached or being decoded, or
    /// its room would have to come from chunks pinned, read ahead and unread, or wanted by
    /// waiting decodes (readahead).
    /// - Returns: true if the caller must now run the decode and call ``finish(_:with:)``.
    func claim(_ index: Int, size: Int) -> Bool {
        state.withLock { s in
            guard s.entries[index] == nil, s.pending[index] == nil, s.deferred.isEmpty, makeRoom(size, in: &s, sparingUnread: true) else { return false }
            s.misses += 1
            reserve(size, in: &s)
            s.pending[index] = Pending(size: size, waiters: [], started: true)
            return true
        }
    }

    /// Ends the decode of chunk `index`: caches it with a pin for each request waiting (a failure
    /// is not kept, so the next read tries again) and completes them.
    func finish(_ index: Int, with result: Loaded) {
        let (waiters, starts) = state.withLock { s in
            guard let pending = s.pending.removeValue(forKey: index) else { preconditionFailure("chunk \(index) finished but not started") }
            s.bytes -= pending.size
            if case .success(let buffer) = result {
                s.clock += 1
                s.entries[index] = Entry(buffer: buffer, lastUse: s.clock, pins: pending.waiters.count, unread: pending.waiters.isEmpty)
                s.bytes += buffer.readableBytes
                s.peakBytes = max(s.peakBytes, s.bytes)
            }
            return (pending.waiters, startDeferred(in: &s))
        }
        for promise in waiters { promise.completeWith(result.mapError { $0 as any Error }) }
        for (index, start) in starts { start(index) }
    }

    /// Chunk `index`, pinned, decoded on this thread if it is not cached (the overlay's reads and
    /// copies of partial blocks, which already run on the pool); a decode in progress elsewhere is
    /// not waited for. A chunk that finds no room is returned unpinned and not cached (nil index).
    func chunkNow(_ index: Int, load: () throws(ImagePackError) -> ByteBuffer) throws(ImagePackError) -> (buffer: ByteBuffer, pinned: Int?) {
        if let buffer = cached(index) { return (buffer, index) }
        state.withLock { $0.misses += 1 }
        let buffer = try load()
        return state.withLock { s in
            if let cached = lookup(index, in: &s) { return (cached, index) }
            guard s.pending[index] == nil, s.deferred.isEmpty, makeRoom(buffer.readableBytes, in: &s, sparingUnread: false) else { return (buffer, nil) }
            s.clock += 1
            s.entries[index] = Entry(buffer: buffer, lastUse: s.clock, pins: 1, unread: false)
            s.bytes += buffer.readableBytes
            s.peakBytes = max(s.peakBytes, s.bytes)
            return (buffer, index)
        }
    }

    private func reserve(_ size: Int, in s: inout State) {
        s.bytes += size
        s.peakBytes = max(s.peakBytes, s.bytes)
    }

    /// Evicts unpinned entries until `size` more bytes fit (or nothing is held: one chunk always
    /// fits): the oldest that was read first, then (unless `sparingUnread`) the oldest decoded
    /// ahead and not read yet, whose decode would otherwise be lost. False if pinned or spared
    /// entries leave too little room.
    private func makeRoom(_ size: Int, in s: inout State, sparingUnread: Bool) -> Bool {
        while s.bytes + size > capacity, s.bytes > 0 {
            var victim: (key: Int, value: Entry)?
            for candidate in s.entries where candidate.value.pins == 0 && !(sparingUnread && candidate.value.unread) {
                guard let current = victim else {
                    victim = candidate
                    continue
                }
                // Read entries go before unread ones; among equals, the oldest.
                let better = current.value.unread != candidate.value.unread ? current.value.unread : candidate.value.lastUse < current.value.lastUse
                if better { victim = candidate }
            }
            guard let victim else { return false }
            s.entries[victim.key] = nil
            s.bytes -= victim.value.buffer.readableBytes
        }
        return true
    }

    /// The waiting decodes that fit now, in order, their room reserved; the caller starts them.
    private func startDeferred(in s: inout State) -> [(Int, Start)] {
        var starts: [(Int, Start)] = []
        while let first = s.deferred.first, let size = s.pending[first.index]?.size, makeRoom(size, in: &s, sparingUnread: false) {
            s.deferred.removeFirst()
            reserve(size, in: &s)
            s.pending[first.index]!.started = true
            starts.append(first)
        }
        return starts
    }
}
