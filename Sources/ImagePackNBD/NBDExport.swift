import ImagePack
import NIOCore
import NIOPosix
import Synchronization

/// One disk of the image as an NBD export: verified reads through the chunk cache, block status
/// from the chunk kinds, and writes into the overlay when there is one.
///
/// Every method blocks (decoding, file I/O) and runs on the server's thread pool.
final class NBDExport: Sendable {
    /// A stretch of a read's answer, in order.
    enum Piece: Sendable {
        /// Bytes of their own: the overlay's, or copied out of a chunk.
        case data(ByteBuffer)
        /// A slice of cached chunk `index`, which holds a pin on it (``ChunkCache/release(_:)``
        /// once the reply is sent or dropped).
        case chunk(ByteBuffer, index: Int)
        /// Zeros that nothing stores: a zero chunk of the image.
        case zero(Int)
        /// `count` bytes of a fill chunk, whose content is `pattern` (8 bytes, little-endian as
        /// stored) repeated from the chunk's start; the piece starts at byte `phase` of it. Sent
        /// from a shared buffer of the pattern, as zeros are: nothing is allocated per chunk.
        case fill(pattern: UInt64, phase: Int, count: Int)

        var count: Int {
            switch self {
            case .data(let b), .chunk(let b, _): b.readableBytes
            case .zero(let n), .fill(_, _, let n): n
            }
        }

        var isZero: Bool {
            if case .zero = self { return true }
            return false
        }
    }

    let name: String
    let size: UInt64
    let reader: ImageReader
    let stream: Int
    /// The stream's chunks; indices are those of `reader.entries`, the cache's keys.
    let chunks: Slice<ChunkEntries>
    let cache: ChunkCache
    let overlay: Overlay?
    /// Brings a chunk's record before it is decoded, when the image is not all local (a
    /// registry image served lazily); nil for an image file.
    let source: (any ChunkSource)?
    let threadPool: NIOThreadPool
    let allocator = ByteBufferAllocator()
    let log: @Sendable (String) -> Void
    /// Proofs that chunks decoded before were verified, for decoding them again at less cost;
    /// the server's, shared by its exports (keyed by entry number, as the cache).
    let memo: RecordMemo
    /// Where the last few reads ended: a read starting at one of them is sequential.
    private let recentEnds = Mutex<[UInt64]>([])
    /// With a ``ChunkSource``: the end of the chunks whose records were asked for ahead of a
    /// sequential reader.
    private let fetchedAhead = Mutex<(upTo: Int, window: Int)>((0, NBDExport.readAheadChunks))
    /// The patterns of the fill chunks checked so far, by chunk index (8 bytes each, once per chunk).
    private let fillPatterns = Mutex<[Int: UInt64]>([:])

    init(
        reader: ImageReader, stream: Int, cache: ChunkCache, memo: RecordMemo? = nil, overlay: Overlay?, source: (any ChunkSource)? = nil,
        threadPool: NIOThreadPool, log: @escaping @Sendable (String) -> Void
    ) {
        self.reader = reader
        self.stream = stream
        name = reader.streams[stream].name
        size = reader.streams[stream].logicalSize
        chunks = reader.chunks(ofStream: stream)
        self.memo = memo ?? RecordMemo(chunks: chunks.startIndex..<chunks.endIndex)
        self.cache = cache
        self.overlay = overlay
        self.source = source
        self.threadPool = threadPool
        self.log = log
    }

    var isWritable: Bool { overlay != nil }

    /// What NBD_OPT_LIST and NBD_INFO_DESCRIPTION say about the export.
    var description: String { description(writable: isWritable) }

    func description(writable: Bool) -> String { "disk \"\(name)\" of \(size) bytes" + (writable ? ", writable through an overlay" : ", read-only") }

    var transmissionFlags: UInt16 { Self.transmissionFlags(writable: isWritable) }

    /// NBD transmission flags: read-only without an overlay; several connections may share the
    /// export because they share this object (one cache, one overlay, one flush for all).
    static func transmissionFlags(writable: Bool) -> UInt16 {
        var flags = NBDProtocol.flagHasFlags | NBDProtocol.flagCanMultiConn | NBDProtocol.flagSendDF
        if writable {
            flags |= NBDProtocol.flagSendFlush | NBDProtocol.flagSendFUA | NBDProtocol.flagSendTrim | NBDProtocol.flagSendWriteZeroes
        } else {
            flags |= NBDProtocol.flagReadOnly
        }
        return flags
    }

    // MARK: Reading

    /// The chunk holding `offset` (a binary search over the stream's chunks).
    func chunkIndex(containing offset: UInt64) -> Int {
        var range = chunks.startIndex..<chunks.endIndex
        while range.count > 1 {
            let mid = range.lowerBound + range.count / 2
            if chunks[mid].logicalOffset <= offset { range = mid..<range.upperBound } else { range = range.lowerBound..<mid }
        }
        return range.lowerBound
    }

    /// Decodes chunk `index` whole, through the reader, which checks its SHA-256, or from the
    /// second decode of a chunk on, the SHA-256 of its unchanged record (``RecordMemo``).
    private func decode(_ index: Int) throws(ImagePackError) -> ByteBuffer {
        let length = Int(chunks[index].logicalLength)
        var buffer = allocator.buffer(capacity: length)
        let check = memo.check(for: index)
        var outcome: Result<RecordCheckOutcome, ImagePackError> = .success(.contentChecked)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
            do throws(ImagePackError) {
                outcome = .success(try reader.decodeChunk(index, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<length]), check: check))
            } catch { outcome = .failure(error) }
            return length
        }
        memo.note(try outcome.get(), for: index)
        return buffer
    }

    /// `count` bytes of fill chunk `index` from disk offset `position`, if its pattern was checked.
    private func knownFill(_ index: Int, at position: UInt64, count: Int) -> Piece? {
        fillPatterns.withLock { $0[index] }.map { .fill(pattern: $0, phase: Int((position - chunks[index].logicalOffset) & 7), count: count) }
    }

    /// `count` bytes of fill chunk `index` from `position`, its record checked now if it was not
    /// yet (on a pool thread: it reads the file, and a registry image fetches the record first).
    private func fillNow(_ index: Int, at position: UInt64, count: Int) throws(NBDRequestFailure) -> Piece {
        if let piece = knownFill(index, at: position, count: count) { return piece }
        do throws(ImagePackError) {
            try source?.makePresentBlocking(entry: index)
            let pattern = try reader.verifiedFillPattern(ofEntry: index)
            fillPatterns.withLock { $0[index] = pattern }
        } catch {
            log("imgpack serve: export \"\(name)\": read at \(position) failed: \(error)")
            throw NBDRequestFailure(error, at: chunks[index].logicalOffset)
        }
        return knownFill(index, at: position, count: count)!
    }

    /// The bytes `offset..<offset+length` (checked by the caller to lie inside the disk).
    func read(offset: UInt64, length: Int) throws(NBDRequestFailure) -> [Piece] {
        guard let overlay else { return try readImage(offset: offset, length: length) }
        var pieces: [Piece] = []
        for run in overlay.runs(offset: offset, length: length) {
            if run.inOverlay {
                do throws(NBDServerError) {
                    pieces.append(.data(try overlay.read(offset: run.offset, length: run.length, allocator: allocator)))
                } catch {
                    release(pieces)
                    log("imgpack serve: overlay read failed: \(error)")
                    throw NBDRequestFailure(.io, error.description, offset: run.offset)
                }
            } else {
                do throws(NBDRequestFailure) { pieces += try readImage(offset: run.offset, length: run.length) } catch {
                    release(pieces)
                    throw error
                }
            }
        }
        return pieces
    }

    /// Gives back the pins of `pieces` (a reply that will not be sent, or bytes already copied).
    func release(_ pieces: [Piece]) {
        for case .chunk(_, let index) in pieces { cache.release(index) }
    }

    /// The bytes `offset..<offset+length` if answering needs no decoding and no file I/O (every
    /// chunk in range is cached, zero, or has every block of its part kept; and there is no
    /// overlay); nil otherwise.
    ///
    /// Runs on the event loop: most reads of a sequential copy land in a chunk an earlier read
    /// decoded, and answering them there saves two thread hand-offs per request, which on a busy
    /// machine cost more than the copy itself (nbdcopy of a 1.3 GiB disk to null: went from a median
    /// of 3.2 s to 1.9 s over 4 runs on 2 busy cores, server CPU time unchanged at ~1.3 s).
    func cachedRead(offset: UInt64, length: Int) -> [Piece]? {
        guard overlay == nil else { return nil }
        var pinned: [Piece] = []
        let walked = walk(offset: offset, length: length, fill: { i, position, count in knownFill(i, at: position, count: count) }) { i, _, within -> Piece? in
            switch cache.cachedOrKept(i, reading: within) {
            case .chunk(let buffer):
                pinned.append(.chunk(buffer, index: i))
                return .chunk(buffer.getSlice(at: buffer.readerIndex + within.lowerBound, length: within.count)!, index: i)
            case .kept(let bytes): return .data(bytes)
            case nil: return nil
            }
        }
        guard let (pieces, next) = walked else {
            release(pinned)
            return nil
        }
        readAhead(from: offset, to: offset + UInt64(length), next: next)
        return pieces
    }

    /// The image's bytes `offset..<offset+length`, decoded on this (pool) thread where not cached:
    /// the overlay's reads and partial-block copies, which run on the pool already.
    func readImage(offset: UInt64, length: Int) throws(NBDRequestFailure) -> [Piece] {
        var pinned: [Piece] = []
        var unpinned: Set<Int> = []
        do throws(NBDRequestFailure) {
            let walked = try walk(offset: offset, length: length, fill: { (i, position, count) throws(NBDRequestFailure) -> Piece? in
                try fillNow(i, at: position, count: count)
            }) { (i, entry, within) throws(NBDRequestFailure) -> Piece? in
                // Reads here come after the overlay's runs: kept blocks never hide its writes.
                if let kept = cache.kept(i, reading: within) { return .data(kept) }
                do throws(ImagePackError) {
                    let (buffer, pin) = try cache.chunkNow(i, reading: within) { () throws(ImagePackError) in
                        try source?.makePresentBlocking(entry: i)
                        return try decode(i)
                    }
                    if let pin { pinned.append(.chunk(buffer, index: pin)) } else { unpinned.insert(i) }
                    return .chunk(buffer.getSlice(at: buffer.readerIndex + within.lowerBound, length: within.count)!, index: i)
                } catch {
                    log("imgpack serve: export \"\(name)\": read at \(entry.logicalOffset + UInt64(within.lowerBound)) failed: \(error)")
                    throw NBDRequestFailure(error, at: entry.logicalOffset)
                }
            }
            // A chunk that found no room in the cache is this read's own: its slices hold no pin.
            return (walked?.pieces ?? []).map { piece in
                if case .chunk(let bytes, let index) = piece, unpinned.contains(index) { return .data(bytes) }
                return piece
            }
        } catch {
            release(pinned)
            throw error
        }
    }

    /// Walks the chunks that cover `offset..<offset+length`: zero chunks become zero pieces (runs of
    /// them merged), the others the piece that `chunk` gives for (index, entry, the range's bytes
    /// within the chunk): a pinned slice of the decoded chunk, or kept bytes. Nil when `chunk` has
    /// none (the cached read then goes to the pool); otherwise the pieces and the index of the
    /// chunk after the range.
    private func walk<E: Error>(
        offset: UInt64, length: Int, fill: (Int, UInt64, Int) throws(E) -> Piece?, chunk: (Int, ChunkEntry, Range<Int>) throws(E) -> Piece?
    ) throws(E) -> (pieces: [Piece], next: Int)? {
        let end = offset + UInt64(length)
        var pieces: [Piece] = []
        var position = offset
        var i = chunkIndex(containing: offset)
        while position < end {
            let entry = chunks[i]
            let take = Int(min(entry.logicalEnd, end) - position)
            if entry.kind == .zero {
                if case .zero(let n) = pieces.last { pieces[pieces.count - 1] = .zero(n + take) } else { pieces.append(.zero(take)) }
            } else if entry.kind == .fill {
                guard let piece = try fill(i, position, take) else { return nil }
                pieces.append(piece)
            } else {
                let within = Int(position - entry.logicalOffset)
                guard let piece = try chunk(i, entry, within..<within + take) else { return nil }
                pieces.append(piece)
            }
            position += UInt64(take)
            i += 1
        }
        return (pieces, i)
    }

    /// The bytes `offset..<offset+length`, completed on `loop`: chunks not cached are decoded on
    /// the pool, several at once; requests for a chunk being decoded wait without a thread.
    ///
    /// A read within one stored chunk answers with a pinned slice of it. A read over several
    /// copies each chunk's part out as it arrives and gives its pin back at once: holding the
    /// first chunks while later ones wait for room in the cache could wait on itself.
    func read(offset: UInt64, length: Int, on loop: any EventLoop) -> EventLoopFuture<[Piece]> {
        if overlay != nil {
            return threadPool.runIfActive(eventLoop: loop) { try self.read(offset: offset, length: length) }
        }
        if length == 0 { return loop.makeSucceededFuture([]) }
        let end = offset + UInt64(length)
        let first = chunkIndex(containing: offset)
        var lastChunk = first
        while chunks[lastChunk].logicalEnd < end { lastChunk += 1 }
        let last = lastChunk
        let storedCount = (first...last).reduce(0) { $0 + (chunks[$1].needsDecoding ? 1 : 0) }
        if let source, storedCount > 1 {
            // Asked for together, the records of one read travel in as few requests as can be.
            source.prefetch(entries: (first...last).filter { chunks[$0].needsDecoding && !cache.contains($0) })
        }
        var futures: [EventLoopFuture<Piece>] = []
        var position = offset
        for i in first...last {
            let entry = chunks[i]
            let take = Int(min(entry.logicalEnd, end) - position)
            let within = Int(position - entry.logicalOffset)
            if entry.kind == .zero {
                futures.append(loop.makeSucceededFuture(.zero(take)))
            } else if entry.kind == .fill {
                let at = position
                if let piece = knownFill(i, at: at, count: take) {
                    futures.append(loop.makeSucceededFuture(piece))
                } else {
                    futures.append(threadPool.runIfActive(eventLoop: loop) { () throws(NBDRequestFailure) -> Piece in try self.fillNow(i, at: at, count: take) })
                }
            } else if storedCount > 1, let kept = cache.kept(i, reading: within..<within + take) {
                // cachedRead looked already, but only as far as the first chunk it could not answer.
                futures.append(loop.makeSucceededFuture(.data(kept)))
            } else {
                futures.append(cache.chunk(i, size: Int(entry.logicalLength), reading: within..<within + take, on: loop, start: { self.decodeOnPool($0) }).map { [cache, allocator] chunk -> Piece in
                    let slice = chunk.getSlice(at: chunk.readerIndex + within, length: take)!
                    if storedCount == 1 { return .chunk(slice, index: i) }
                    var copy = allocator.buffer(capacity: take)
                    copy.writeImmutableBuffer(slice)
                    cache.release(i)
                    return .data(copy)
                })
            }
            position += UInt64(take)
        }
        readAhead(from: offset, to: end, next: last + 1)
        return EventLoopFuture.whenAllComplete(futures, on: loop).flatMapThrowing { [self] results in
            var pieces: [Piece] = []
            var failure: NBDRequestFailure?
            for (result, i) in zip(results, first...last) {
                switch result {
                case .success(.zero(let n)):
                    if case .zero(let m) = pieces.last { pieces[pieces.count - 1] = .zero(m + n) } else { pieces.append(.zero(n)) }
                case .success(let piece):
                    pieces.append(piece)
                case .failure(let error as ImagePackError):
                    failure = failure ?? NBDRequestFailure(error, at: chunks[i].logicalOffset)
                case .failure(let error as NBDRequestFailure):
                    failure = failure ?? error
                case .failure(let error):
                    failure = failure ?? NBDRequestFailure(.shutdown, "\(error)", offset: chunks[i].logicalOffset)
                }
            }
            if let failure {
                release(pieces)
                throw failure
            }
            return pieces
        }
    }

    /// Decodes chunk `index` on a pool thread and hands the result to the cache (and its waiters);
    /// with a ``ChunkSource``, once the source has brought the chunk's record, so that no pool
    /// thread waits on the network.
    private func decodeOnPool(_ index: Int) {
        guard let source else { return submitDecode(index) }
        Task { [self] in
            do throws(ImagePackError) {
                try await source.makePresent(entry: index)
                submitDecode(index)
            } catch {
                log("imgpack serve: export \"\(name)\": fetching the chunk at \(chunks[index].logicalOffset) failed: \(error)")
                cache.finish(index, with: .failure(error))
            }
        }
    }

    private func submitDecode(_ index: Int) {
        threadPool.submit { [self] state in
            let result: ChunkCache.Loaded
            if state != .active {
                result = .failure(ImagePackError(.cancelled, "the server is shutting down"))
            } else {
                do throws(ImagePackError) { result = .success(try decode(index)) } catch {
                    log("imgpack serve: export \"\(name)\": chunk at \(chunks[index].logicalOffset) failed: \(error)")
                    result = .failure(error)
                }
            }
            cache.finish(index, with: result)
        }
    }

    /// Stored chunks decoded ahead of a sequential reader, so that the pool has chunks queued
    /// while the event loop waits for the CPU: on a busy machine the threads spent more time
    /// runnable than running, and with one chunk ahead the pool went idle between them. nbdcopy
    /// of the 2 GiB ext4 disk at load 12, interleaved: 3.8-5.9 s with 2 ahead, 2.9-3.9 s with 4
    /// (decodes +3 %); 8 clients at once peaked at 161 MiB resident instead of 148 MiB.
    static let readAheadChunks = 4
    /// The most chunks whose records a ``ChunkSource`` brings ahead of a sequential reader:
    /// records land in the source's file, not in memory, and one range request for several of
    /// them costs the registry less than one each. The window starts at ``readAheadChunks`` and
    /// doubles while the reader stays sequential, so a short run (a boot reading a file) fetches
    /// little beyond what it reads, and a whole-disk copy fetches in large batches: with a fixed
    /// window of 16 the first 64 MiB of the ext4 disk fetched 37.9 MB instead of 13.0 MB.
    static let fetchAheadChunks = 16

    /// Decodes the stored chunks among the next ``readAheadChunks`` in the background if this
    /// read continues an earlier one.
    private func readAhead(from offset: UInt64, to end: UInt64, next: Int) {
        let sequential = recentEnds.withLock { ends in
            let hit = ends.firstIndex(of: offset)
            if let hit { ends.remove(at: hit) }
            ends.append(end)
            if ends.count > 16 { ends.removeFirst() }
            return hit != nil
        }
        guard sequential else { return }
        if let source {
            // In batches: a window that slid one chunk per read would ask for one record at a
            // time; asking again once half the window is used makes each request carry several.
            let window = fetchedAhead.withLock { state -> Range<Int>? in
                // Near the end of what was asked for already: the same stream, which earns a
                // wider window (a read may be larger than the window, so it may start past it).
                let continuing = next + state.window >= state.upTo && next <= state.upTo + state.window
                let size = continuing ? state.window : Self.readAheadChunks
                let end = min(next + size, chunks.endIndex)
                let from = continuing ? max(state.upTo, next) : next
                guard end - from >= size / 2 || (end == chunks.endIndex && from < end) else { return nil }
                state = (end, continuing ? min(size * 2, Self.fetchAheadChunks) : size)
                return from..<end
            }
            if let window { source.prefetch(entries: window.filter { chunks[$0].kind != .zero }) }
        }
        for index in next..<min(next + Self.readAheadChunks, chunks.endIndex)
        where chunks[index].needsDecoding && cache.claim(index, size: Int(chunks[index].logicalLength)) {
            decodeOnPool(index)
        }
    }

    /// `base:allocation` of `offset..<offset+length`: (length, flags) runs, zero chunks as hole+zero.
    func blockStatus(offset: UInt64, length: UInt64, onlyOne: Bool) -> [(length: UInt32, flags: UInt32)] {
        var runs: [(length: UInt32, flags: UInt32)] = []
        func add(_ count: UInt64, _ flags: UInt32) -> Bool {
            var count = count
            if let last = runs.last, last.flags == flags, UInt64(last.length) + count <= UInt64(UInt32.max) {
                runs[runs.count - 1].length += UInt32(count)
                return true
            }
            if onlyOne && !runs.isEmpty { return false }
            count = min(count, UInt64(UInt32.max) / 4096 * 4096)
            runs.append((UInt32(count), flags))
            return runs.count < 65536
        }
        let overlayRuns = overlay?.runs(offset: offset, length: Int(length)) ?? [(offset, Int(length), false)]
        outer: for run in overlayRuns {
            if run.inOverlay {
                if !add(UInt64(run.length), 0) { break }
                continue
            }
            var position = run.offset
            let runEnd = run.offset + UInt64(run.length)
            var i = chunkIndex(containing: position)
            while position < runEnd {
                let entry = chunks[i]
                let take = min(entry.logicalEnd, runEnd) - position
                let flags = entry.kind == .zero ? NBDProtocol.stateHole | NBDProtocol.stateZero : 0
                if !add(take, flags) { break outer }
                position += take
                i += 1
            }
        }
        return runs
    }

    // MARK: Writing

    /// Fills `buffer` with the image's bytes at `offset` (a partial block copied into the overlay).
    private func baseBytes(_ offset: UInt64, _ buffer: UnsafeMutableRawBufferPointer) throws(NBDRequestFailure) {
        var done = 0
        for piece in try readImage(offset: offset, length: buffer.count) {
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + piece.count])
            switch piece {
            case .zero: target.initializeMemory(as: UInt8.self, repeating: 0)
            case .fill(let pattern, let phase, _):
                withUnsafeBytes(of: pattern) { p in
                    for k in target.indices { target[k] = p[(phase + k) & 7] }
                }
            case .data(let b): b.withUnsafeReadableBytes { target.copyMemory(from: $0) }
            case .chunk(let b, let index):
                b.withUnsafeReadableBytes { target.copyMemory(from: $0) }
                cache.release(index)
            }
            done += piece.count
        }
    }

    func write(offset: UInt64, data: ByteBuffer) throws(NBDRequestFailure) {
        guard let overlay else { throw NBDRequestFailure(.permission, "the export is read-only (serve with --overlay to write)") }
        var failure: NBDRequestFailure?
        data.withUnsafeReadableBytes { raw in
            do throws(NBDRequestFailure) {
                try overlay.write(at: offset, raw, base: baseBytes)
            } catch { failure = error }
        }
        if let failure { throw failure }
    }

    func writeZeroes(offset: UInt64, length: Int) throws(NBDRequestFailure) {
        guard let overlay else { throw NBDRequestFailure(.permission, "the export is read-only (serve with --overlay to write)") }
        try overlay.writeZeroes(at: offset, length: length, base: baseBytes)
    }

    func flush() throws(NBDRequestFailure) {
        guard let overlay else { return }
        do throws(NBDServerError) { try overlay.flush() } catch {
            log("imgpack serve: overlay flush failed: \(error)")
            throw NBDRequestFailure(.io, error.description)
        }
    }
}

extension ChunkEntry {
    /// Whether serving the chunk takes a decoded buffer: zero and fill chunks are answered from
    /// shared buffers instead.
    var needsDecoding: Bool { kind != .zero && kind != .fill }
}
