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
///
/// A second tier, ``KeptBlocks``, holds what clients read of chunks evicted after sparse reads:
/// every chunk handed out marks the blocks of the read it answers (``ReadBlocks``), and when the
/// chunk goes, its few read blocks are copied out and answered from there without a decode. The
/// two tiers share the one budget: kept blocks count in ``accounting``'s bytes, the tier holds at
/// most half the budget (its oldest chunks go beyond that, so the chunks always have the other
/// half), and a decode that finds no unpinned chunk to evict drops kept blocks, oldest first,
/// before it waits: chunks being decoded and pinned fit exactly as without the tier, and the
/// process's bound (the budget + 64 MiB with 8 clients) still holds. Readahead (``claim(_:size:)``)
/// never drops kept blocks: a guess does not evict what clients read. Only bytes of decoded,
/// verified chunks enter the tier; a failed decode caches nothing and so keeps nothing.
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
        /// The blocks requests were answered from: kept when the chunk is evicted, if few.
        var read: ReadBlocks

        /// Hands the chunk out for a read of `reading`: pinned, most recently used, read.
        mutating func use(clock: UInt64, reading: Range<Int>?) -> ByteBuffer {
            lastUse = clock
            pins += 1
            unread = false
            if let reading { read.insert(bytes: reading) }
            return buffer
        }
    }

    private struct Pending {
        var size: Int
        var waiters: [EventLoopPromise<ByteBuffer>]
        /// The ranges within the chunk the waiters read, marked when it arrives.
        var reads: [Range<Int>] = []
        /// Room is reserved and the decode runs; false while it waits for room in `deferred`.
        var started: Bool
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        /// Blocks kept of evicted chunks; their bytes count in `bytes`.
        var kept: KeptBlocks
        /// Chunks being decoded or waiting for room, with the requests waiting for them.
        var pending: [Int: Pending] = [:]
        /// Decodes waiting for room, oldest first.
        var deferred: [(index: Int, start: Start)] = []
        /// Cached chunks (pinned or not), kept blocks, and the room reserved by the decodes running.
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
    private let state: Mutex<State>
    private let allocator = ByteBufferAllocator()

    /// - Parameter capacity: the budget of both tiers; kept blocks take at most half of it.
    init(capacity: Int, stallTimeout: TimeAmount = .seconds(1)) {
        self.capacity = capacity
        self.stallTimeout = stallTimeout
        state = Mutex(State(kept: KeptBlocks(capacity: capacity / 2)))
    }

    /// Hits and misses so far (tests check that a chunk is decoded once).
    var statistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    /// The most bytes held at once (cached, pinned and being decoded), and how many decodes
    /// started over budget because clients that stopped reading held the room.
    var accounting: (bytes: Int, peakBytes: Int, overdrafts: Int, deferrals: Int) {
        state.withLock { ($0.bytes, $0.peakBytes, $0.overdrafts, $0.deferrals) }
    }

    /// The kept-blocks tier: reads it answered, evicted chunks whose blocks it kept or found too
    /// densely read, and the bytes it holds now and at most.
    var keptStatistics: (hits: Int, keptChunks: Int, denseChunks: Int, chunks: Int, bytes: Int, peakBytes: Int) {
        state.withLock { s in (s.kept.hits, s.kept.keptChunks, s.kept.denseChunks, s.kept.count, s.kept.bytes, s.kept.peakBytes) }
    }

    /// Whether chunk `index` is decoded or being decoded.
    func contains(_ index: Int) -> Bool { state.withLock { $0.entries[index] != nil || $0.pending[index] != nil } }

    /// Chunk `index`, pinned, if it is decoded already; never waits and never decodes.
    /// - Parameter reading: the bytes within the chunk the caller answers a read with.
    func cached(_ index: Int, reading: Range<Int>? = nil) -> ByteBuffer? {
        state.withLock { s in lookup(index, reading: reading, in: &s) }
    }

    /// What ``cachedOrKept(_:reading:)`` found.
    enum Found {
        /// The decoded chunk, pinned.
        case chunk(ByteBuffer)
        /// The bytes read, copied out of the kept blocks (no pin).
        case kept(ByteBuffer)
    }

    /// Chunk `index` pinned if it is cached, else the bytes `reading` (within the chunk) if every
    /// block of them is kept; nil if answering needs a decode. Never waits and never decodes.
    func cachedOrKept(_ index: Int, reading: Range<Int>) -> Found? {
        let found = state.withLock { s -> Found? in
            if let buffer = lookup(index, reading: reading, in: &s) { return .chunk(buffer) }
            s.clock += 1
            return s.kept.read(index, reading, clock: s.clock).map { .kept($0) }
        }
        guard case .kept(let slice) = found else { return found }
        return .kept(copied(slice))
    }

    /// The bytes `reading` of chunk `index`, copied out of the kept blocks, if every block of them
    /// is kept (the decoded chunk is not looked at).
    func kept(_ index: Int, reading: Range<Int>) -> ByteBuffer? {
        guard let slice = state.withLock({ s -> ByteBuffer? in
            s.clock += 1
            return s.kept.read(index, reading, clock: s.clock)
        }) else { return nil }
        return copied(slice)
    }

    /// Kept bytes as a reply takes them: a copy, so that no reply holds a kept chunk's storage
    /// outside the budget.
    private func copied(_ slice: ByteBuffer) -> ByteBuffer {
        var copy = allocator.buffer(capacity: slice.readableBytes)
        copy.writeImmutableBuffer(slice)
        return copy
    }

    private func lookup(_ index: Int, reading: Range<Int>?, in s: inout State) -> ByteBuffer? {
        guard s.entries[index] != nil else { return nil }
        s.clock += 1
        s.hits += 1
        // In place: a copy of the entry would copy its block map on every read.
        return s.entries[index]!.use(clock: s.clock, reading: reading)
    }

    /// Caches `buffer` as chunk `index` with `pins` pins and the blocks `reads` marked, plus the
    /// blocks kept of it before (they move back into the chunk, and stay read if it goes again).
    private func insert(_ index: Int, _ buffer: ByteBuffer, pins: Int, reads: [Range<Int>], in s: inout State) {
        var read = ReadBlocks(chunkLength: buffer.readableBytes)
        for range in reads { read.insert(bytes: range) }
        if let kept = s.kept.remove(index) {
            read.formUnion(kept.blocks)
            s.bytes -= kept.freed
        }
        s.clock += 1
        s.entries[index] = Entry(buffer: buffer, lastUse: s.clock, pins: pins, unread: pins == 0, read: read)
        s.bytes += buffer.readableBytes
        s.peakBytes = max(s.peakBytes, s.bytes)
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
    /// - Parameter reading: the bytes within the chunk the caller answers a read with.
    func chunk(_ index: Int, size: Int, reading: Range<Int>? = nil, on eventLoop: any EventLoop, start: @escaping Start) -> EventLoopFuture<ByteBuffer> {
        enum Step { case hit(ByteBuffer), wait(EventLoopFuture<ByteBuffer>), start(EventLoopFuture<ByteBuffer>), deferred(EventLoopFuture<ByteBuffer>) }
        let step = state.withLock { (s) -> Step in
            if let buffer = lookup(index, reading: reading, in: &s) { return .hit(buffer) }
            let promise = eventLoop.makePromise(of: ByteBuffer.self)
            if s.pending[index] != nil {
                s.hits += 1
                s.pending[index]!.waiters.append(promise)
                if let reading { s.pending[index]!.reads.append(reading) }
                return .wait(promise.futureResult)
            }
            s.misses += 1
            let reads = reading.map { [$0] } ?? []
            if s.deferred.isEmpty, makeRoom(size, in: &s, sparingUnread: false) {
                reserve(size, in: &s)
                s.pending[index] = Pending(size: size, waiters: [promise], reads: reads, started: true)
                return .start(promise.futureResult)
            }
            s.pending[index] = Pending(size: size, waiters: [promise], reads: reads, started: false)
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
                insert(index, buffer, pins: pending.waiters.count, reads: pending.reads, in: &s)
            }
            return (pending.waiters, startDeferred(in: &s))
        }
        for promise in waiters { promise.completeWith(result.mapError { $0 as any Error }) }
        for (index, start) in starts { start(index) }
    }

    /// Chunk `index`, pinned, decoded on this thread if it is not cached (the overlay's reads and
    /// copies of partial blocks, which already run on the pool); a decode in progress elsewhere is
    /// not waited for. A chunk that finds no room is returned unpinned and not cached (nil index).
    /// - Parameter reading: the bytes within the chunk the caller answers a read with.
    func chunkNow(_ index: Int, reading: Range<Int>? = nil, load: () throws(ImagePackError) -> ByteBuffer) throws(ImagePackError) -> (buffer: ByteBuffer, pinned: Int?) {
        if let buffer = cached(index, reading: reading) { return (buffer, index) }
        state.withLock { $0.misses += 1 }
        let buffer = try load()
        return state.withLock { s in
            if let cached = lookup(index, reading: reading, in: &s) { return (cached, index) }
            guard s.pending[index] == nil, s.deferred.isEmpty, makeRoom(buffer.readableBytes, in: &s, sparingUnread: false) else { return (buffer, nil) }
            insert(index, buffer, pins: 1, reads: reading.map { [$0] } ?? [], in: &s)
            return (buffer, index)
        }
    }

    private func reserve(_ size: Int, in s: inout State) {
        s.bytes += size
        s.peakBytes = max(s.peakBytes, s.bytes)
    }

    /// Evicts unpinned entries until `size` more bytes fit (or nothing is held: one chunk always
    /// fits): the oldest that was read first, then (unless `sparingUnread`) the oldest decoded
    /// ahead and not read yet, whose decode would otherwise be lost, then (unless `sparingUnread`)
    /// kept blocks, oldest first. An evicted chunk leaves its sparse read blocks in the tier (less
    /// than an eighth of it, so every eviction frees room). False if pinned or spared entries
    /// leave too little room.
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
            guard let victim else {
                guard !sparingUnread, s.kept.bytes > 0 else { return false }
                s.bytes -= s.kept.evict(atLeast: s.bytes + size - capacity)
                continue
            }
            s.entries[victim.key] = nil
            s.bytes -= victim.value.buffer.readableBytes
            s.clock += 1
            s.bytes += s.kept.keep(victim.key, from: victim.value.buffer, read: victim.value.read, clock: s.clock, allocator: allocator)
            s.peakBytes = max(s.peakBytes, s.bytes)
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
