import Dispatch
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
final class ChunkCache: Sendable {
    /// A decode in progress, that other requests for the same chunk wait for.
    private final class Pending: Sendable {
        let done = DispatchGroup()
        let result = Mutex<Result<ByteBuffer, ImagePackError>?>(nil)
        init() { done.enter() }
    }

    private struct Entry {
        var buffer: ByteBuffer
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var pending: [Int: Pending] = [:]
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

    /// Chunk `index` if it is decoded already; never waits and never decodes.
    func cached(_ index: Int) -> ByteBuffer? {
        state.withLock { s in
            guard var entry = s.entries[index] else { return nil }
            s.clock += 1
            entry.lastUse = s.clock
            s.entries[index] = entry
            s.hits += 1
            return entry.buffer
        }
    }

    /// Whether chunk `index` is decoded or being decoded.
    func contains(_ index: Int) -> Bool { state.withLock { $0.entries[index] != nil || $0.pending[index] != nil } }

    /// The decoded chunk `index`: from the cache, from a decode already running, or from `load`
    /// run on this thread.
    func chunk(_ index: Int, load: () throws(ImagePackError) -> ByteBuffer) throws(ImagePackError) -> ByteBuffer {
        enum Step { case hit(ByteBuffer), wait(Pending), load(Pending) }
        let step = state.withLock { (s) -> Step in
            s.clock += 1
            if var entry = s.entries[index] {
                entry.lastUse = s.clock
                s.entries[index] = entry
                s.hits += 1
                return .hit(entry.buffer)
            }
            if let pending = s.pending[index] {
                s.hits += 1
                return .wait(pending)
            }
            s.misses += 1
            let pending = Pending()
            s.pending[index] = pending
            return .load(pending)
        }
        switch step {
        case .hit(let buffer):
            return buffer
        case .wait(let pending):
            pending.done.wait()
            return try pending.result.withLock { $0! }.get()
        case .load(let pending):
            let result: Result<ByteBuffer, ImagePackError>
            do throws(ImagePackError) { result = .success(try load()) } catch { result = .failure(error) }
            pending.result.withLock { $0 = result }
            state.withLock { s in
                s.pending[index] = nil
                // A failed chunk is not kept: the next read tries again and fails again (or, if
                // the file was repaired, succeeds).
                if case .success(let buffer) = result { insert(buffer, at: index, into: &s) }
            }
            pending.done.leave()
            return try result.get()
        }
    }

    private func insert(_ buffer: ByteBuffer, at index: Int, into s: inout State) {
        s.entries[index] = Entry(buffer: buffer, lastUse: s.clock)
        s.bytes += buffer.readableBytes
        while s.bytes > capacity, s.entries.count > 1 {
            guard let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
            s.entries[oldest.key] = nil
            s.bytes -= oldest.value.buffer.readableBytes
        }
    }
}
