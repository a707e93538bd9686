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
            let missing = round.filter { i in
                reader.entries[i].storedSize > 0 && !fetched.withLock { $0.contains(i) }
            }
            try await fetchRecords(missing)
            // Every reference asked for, fetched now or before: a target whose fetch failed
            // earlier is fetched again.
            var targets: [Int] = []
            for i in round where reader.entries[i].kind == .reference {
                if let target = try reader.referenceTarget(ofEntry: i) { targets.append(target) }
            }
            round = targets
        }
    }

    /// Fetches the records of `missing` by range requests on their layers into the local copy.
    private func fetchRecords(_ missing: [Int]) async throws(ImagePackError) {
        let reader = remote.skeleton
        let layers = remote.layout.layers
        let manifestLayers = remote.manifest.layers
        let repository = remote.reference.repository
        let client = self.client
        _ = try await forEachConcurrently(missing, limit: client.options.maxConcurrentTransfers) { (i) throws(ImagePackError) -> Void in
            let e = reader.entries[i]
            // The layer holding the record: the last one starting at or before it.
            var low = 0, high = layers.count - 1
            while low < high {
                let mid = (low + high + 1) / 2
                if layers[mid].offset <= e.recordOffset { low = mid } else { high = mid - 1 }
            }
            let start = e.recordOffset - layers[low].offset
            let bytes = try await client.blobRange(repository, digest: manifestLayers[low].digest, range: start..<(start + e.storedSize))
            try self.writer.withLock { (w) throws(ImagePackError) in
                guard let w else { return }
                w.position = e.recordOffset
                try withBytes(bytes) { (raw) throws(ImagePackError) in try w.write(raw) }
            }
            self.fetched.withLock { _ = $0.insert(i) }
            self.fetchedBytes.withLock { $0 += e.storedSize }
        }
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
