import ImagePack
import NIOCore
import Synchronization

/// Random access to an image in a registry without pulling it (spec/REGISTRY.md §5): reads fetch
/// only the chunk records they touch, by HTTP range requests on the layers, into a local sparse
/// copy of the file, and every chunk is verified (CRC-32C, decode, SHA-256 against the index,
/// which the config's digest and so the manifest bind) before a byte of it is returned.
///
/// The local copy has the file's layout (head at 0, tail at its end, records where they lie in
/// the file), so the same ``ImageReader`` that reads image files reads it; a record fetched once
/// stays for later reads. The copy is an unnamed file and vanishes with the object.
public final class LazyRemoteImage: Sendable {
    public let remote: RemoteImage
    let client: RegistryClient
    /// The writable side of the sparse copy the reader reads.
    fileprivate let writer: Mutex<BlobFileWriter?>
    /// Index entries whose records are in the local copy.
    fileprivate let fetched = Mutex<Set<Int>>([])
    /// Range requests under way, by the entries they bring: a read that needs a record another
    /// fetch is bringing (a prefetch, another client's read) waits for that request instead of
    /// asking the registry for the same bytes again.
    fileprivate let inFlight = Mutex<[Int: Task<Void, any Error>]>([:])
    /// The most bytes one range request asks for: contiguous records of a layer are fetched
    /// together up to this, so a sequential reader costs the registry one request per few chunks.
    static let maxRangeBytes: UInt64 = 16 << 20
    /// Bytes fetched from the registry so far.
    public var bytesFetched: UInt64 { fetchedBytes.withLock { $0 } }
    fileprivate let fetchedBytes = Mutex<UInt64>(0)

    /// Opens `reference` (manifest and config only).
    public init(_ reference: RegistryReference, client: RegistryClient, cache: BlobCache) async throws(ImagePackError) {
        let base = try await RemoteImage.open(reference, client: client, cache: cache)
        let kept = Mutex<BlobFileWriter?>(nil)
        let skeleton = try RemoteImage.openSkeleton(base.configFile, cache: cache, name: reference.description) { w in kept.withLock { $0 = w } }
        remote = RemoteImage(reference: base.reference, manifestDigest: base.manifestDigest, manifest: base.manifest, skeleton: skeleton, layout: base.layout, configFile: base.configFile)
        self.client = client
        writer = Mutex(kept.withLock { $0 })
    }

    deinit {
        writer.withLock { $0?.close() }
    }

    public var reader: ImageReader { remote.skeleton }

    /// Reads `count` bytes of stream `stream` from `offset`, fetching the chunks it needs.
    /// - Throws: the chunk's own errors if the registry sent bytes that do not verify (V26, V28),
    ///   the registry's errors, `.parentRequired` for a delta's parent chunks.
    public func read(stream: Int, at offset: UInt64, count: Int) async throws(ImagePackError) -> [UInt8] {
        let reader = remote.skeleton
        guard stream >= 0, stream < reader.streams.count else {
            throw ImagePackError(.invalidArgument, "no stream \(stream): the image has \(reader.streams.count)", field: "stream")
        }
        let end = offset + UInt64(count)
        let touched = reader.streamEntries[stream].filter { reader.entries[$0].logicalEnd > offset && reader.entries[$0].logicalOffset < end }
        try await fetch(entries: touched)
        // ImageReader decodes and verifies every chunk it reads.
        return try reader.read(stream: stream, at: offset, count: count)
    }
}

extension LazyRemoteImage {
    /// Makes the records of index entries `indices` present in the local copy, fetching the
    /// missing ones from the registry (several at once), and then the targets of the reference
    /// chunks among them, whose content lives in another record. Bytes are not checked here:
    /// the reader verifies every chunk it decodes, and a record that fails stays failing
    /// (the registry sent it; fetching it again would bring the same bytes).
    /// - Throws: the registry's errors.
    public func fetch(entries indices: [Int]) async throws(ImagePackError) {
        let reader = remote.skeleton
        var round = indices
        // Two rounds at most: a reference's target is a data or fill chunk (spec §7.2, V60).
        for _ in 0..<2 where !round.isEmpty {
            // Records here already or on their way are sorted out by `start`.
            try await fetchRecords(round.filter { reader.entries[$0].storedSize > 0 })
            // Every reference asked for, fetched now or before: a target whose fetch failed
            // earlier is fetched again.
            var targets: [Int] = []
            for i in round where reader.entries[i].kind == .reference {
                if let target = try reader.referenceTarget(ofEntry: i) { targets.append(target) }
            }
            round = targets
        }
    }

    /// Starts fetching the records of `entries` that are neither here nor coming, without
    /// waiting: a reader will ask for them next (the chunks of a read that spans several, or
    /// those ahead of a sequential reader), and asked for together, back-to-back records of a
    /// layer travel in one request. Failures are dropped: the read of a chunk that did not come
    /// fetches it again and reports them.
    public func prefetch(entries: [Int]) {
        let reader = remote.skeleton
        _ = start(entries.filter { reader.entries[$0].storedSize > 0 })
    }

    /// Fetches the records of `missing` into the local copy: those no request is bringing yet by
    /// range requests of their own (contiguous records of one layer in one request, up to
    /// ``maxRangeBytes``), then waits for those and for the requests already bringing the rest.
    /// How many requests run at once is bounded by the client's connection pool (`--jobs`).
    private func fetchRecords(_ missing: [Int]) async throws(ImagePackError) {
        for task in start(missing) {
            do { try await task.value } catch let error as ImagePackError { throw error } catch {
                throw ImagePackError(.registryRequestFailed, "a range read failed: \(error)", field: "registry")
            }
        }
    }

    /// Starts range requests for the records of `missing` that no request is bringing yet, and
    /// returns those requests and the ones already bringing the rest.
    private func start(_ missing: [Int]) -> [Task<Void, any Error>] {
        guard !missing.isEmpty else { return [] }
        return inFlight.withLock { inFlight -> [Task<Void, any Error>] in
            var waits: [Task<Void, any Error>] = []
            var mine: [Int] = []
            // A request that ended since the caller looked has put its records in `fetched`
            // before leaving `inFlight`.
            for i in fetched.withLock({ fetched in missing.filter { !fetched.contains($0) } }) {
                if let task = inFlight[i] { waits.append(task) } else { mine.append(i) }
            }
            for run in runs(of: mine) {
                let task = Task { try await self.fetchRun(run) }
                for i in run { inFlight[i] = task }
                waits.append(task)
            }
            return waits
        }
    }

    /// `entries` (no two the same) cut into runs whose records lie back to back in one layer,
    /// each at most ``maxRangeBytes`` (a larger record alone), in file order.
    private func runs(of entries: [Int]) -> [[Int]] {
        let reader = remote.skeleton
        var runs: [[Int]] = []
        var runBytes: UInt64 = 0
        for i in entries.sorted(by: { reader.entries[$0].recordOffset < reader.entries[$1].recordOffset }) {
            let e = reader.entries[i]
            if let last = runs.last?.last {
                let previous = reader.entries[last]
                if previous.recordOffset + previous.storedSize == e.recordOffset, layer(holding: previous.recordOffset) == layer(holding: e.recordOffset),
                    runBytes + e.storedSize <= Self.maxRangeBytes
                {
                    runs[runs.count - 1].append(i)
                    runBytes += e.storedSize
                    continue
                }
            }
            runs.append([i])
            runBytes = e.storedSize
        }
        return runs
    }

    /// The layer holding file offset `offset`: the last one starting at or before it.
    private func layer(holding offset: UInt64) -> Int {
        let layers = remote.layout.layers
        var low = 0, high = layers.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if layers[mid].offset <= offset { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// One range request for the back-to-back records of `run`, written where they lie in the
    /// local copy; the run's entries leave ``inFlight`` however the request ends.
    private func fetchRun(_ run: [Int]) async throws(ImagePackError) {
        defer {
            inFlight.withLock { inFlight in
                for i in run { inFlight[i] = nil }
            }
        }
        let reader = remote.skeleton
        let first = reader.entries[run.first!], last = reader.entries[run.last!]
        let index = layer(holding: first.recordOffset)
        let layerStart = remote.layout.layers[index].offset
        let range = (first.recordOffset - layerStart)..<(last.recordOffset + last.storedSize - layerStart)
        let bytes = try await client.blobRange(remote.reference.repository, digest: remote.manifest.layers[index].digest, range: range)
        try writer.withLock { (w) throws(ImagePackError) in
            guard let w else { return }
            w.position = first.recordOffset
            try withBytes(bytes) { (raw) throws(ImagePackError) in try w.write(raw) }
        }
        fetched.withLock { fetched in
            for i in run { fetched.insert(i) }
        }
        fetchedBytes.withLock { $0 += UInt64(bytes.count) }
    }
}

extension RegistryClient {
    /// Bytes `range` of a blob, by a `Range` request; the registry must honour it (206).
    func blobRange(_ repository: String, digest: String, range: Range<UInt64>) async throws(ImagePackError) -> [UInt8] {
        let response = try await send(
            .GET, "/v2/\(repository)/blobs/\(digest)", headers: [("Range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")], scopes: Self.pull(repository))
        try await Self.expect(response, [206], "bytes \(range.lowerBound)-\(range.upperBound - 1) of blob \(digest)", registry: registry)
        let body: ByteBuffer
        do { body = try await response.body.collect(upTo: Int(range.count)) } catch {
            throw ImagePackError(.registryUnreachable, "the range read of blob \(digest) from \(registry) failed: \(error)", field: "registry")
        }
        guard body.readableBytes == Int(range.count) else {
            throw ImagePackError(.registryRequestFailed, "\(registry) sent \(body.readableBytes) bytes for a range of \(range.count) of blob \(digest)", field: "registry")
        }
        return Array(buffer: body)
    }
}
