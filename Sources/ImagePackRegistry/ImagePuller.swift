import Foundation
import ImagePack

/// How ``ImagePuller/pull(_:toFile:client:options:)`` works.
public struct PullOptions: Sendable {
    /// Replace the destination if it exists.
    public var overwrite = false
    /// Local images whose chunk records may rebuild layers without downloading them (a parent,
    /// an earlier version); also the parents a delta image is verified with.
    public var localImages: [ImageReader] = []
    /// Refuse, before writing anything, an image no trusted key signed (exit 5).
    public var trust: TrustPolicy?
    /// Keep the verified layer blobs in the cache after the file is published (default: remove them).
    public var keepBlobs = false
    /// Threads, cancellation and progress of the final verification.
    public var read = ReadOptions()

    public init(overwrite: Bool = false, localImages: [ImageReader] = [], trust: TrustPolicy? = nil, keepBlobs: Bool = false, read: ReadOptions = .init()) {
        self.overwrite = overwrite
        self.localImages = localImages
        self.trust = trust
        self.keepBlobs = keepBlobs
        self.read = read
    }
}

/// What a pull did.
public struct PullSummary: Sendable {
    public let manifestDigest: String
    public let rootDigest: Digest
    public let fileLength: UInt64
    public let layerCount: Int
    /// Layers downloaded (wholly or in part), and the bytes that travelled.
    public let layersDownloaded: Int
    public let bytesDownloaded: UInt64
    /// Bytes of partial downloads an earlier run had kept (hashed again, not downloaded again).
    public let bytesResumed: UInt64
    /// Layers rebuilt from local images' records, and layers found complete in the cache.
    public let layersRebuilt: Int
    public let layersFromCache: Int
    public let signatureCount: Int
}

/// Pulls an image from a registry into a file, byte-identical to the one pushed (spec/REGISTRY.md §5).
public enum ImagePuller {
    /// Pulls `reference` into `destination`.
    ///
    /// Fetches and checks the manifest and config; with a trust policy, refuses an untrusted
    /// image before any layer moves. Then obtains every layer (what an earlier run kept, the
    /// cache, local records, or the registry with resume), each written once, straight to its
    /// place in the file being assembled (``PullAssembly``), hashed as it arrives and checked
    /// against its digest; verifies every chunk of each layer as soon as the layer is complete,
    /// while other layers still arrive; and only then publishes the file.
    /// - Throws: `.untrustedImage` (exit 5), `.blobDigestMismatch`, `.manifestInvalid`, the image's
    ///   own errors, `.destinationExists`, the registry's. Nothing is published on any error.
    public static func pull(
        _ reference: RegistryReference, toFile destination: String, client: RegistryClient, cache: BlobCache,
        options: PullOptions = .init(), progress: TransferProgress? = nil
    ) async throws(ImagePackError) -> PullSummary {
        let remote = try await RemoteImage.open(reference, client: client, cache: cache)
        let skeleton = remote.skeleton
        if let trust = options.trust { _ = try trust.check(skeleton.signatures, rootDigest: skeleton.rootDigest, path: reference.description) }
        // Refuse an existing destination now, not after the download.
        let output = try OutputFile(path: destination, overwrite: options.overwrite)
        let layout = remote.layout
        let local = LocalRecords(options.localImages)
        let layers = Array(zip(layout.layers, remote.manifest.layers))
        progress?.add(total: layers.reduce(0) { $0 + $1.0.length })
        let repository = reference.repository
        let entries = skeleton.entries
        let sources: [BlobCache.Source]
        let assembly: PullAssembly
        do throws(ImagePackError) {
            assembly = try PullAssembly(cache: cache, manifestDigest: remote.manifestDigest, fileLength: layout.fileLength)
        } catch {
            output.abandon()
            throw error
        }
        do throws(ImagePackError) {
            // Head and tail first, so the file can be opened as an image while the layers arrive.
            try copy(remote.configFile, 0..<layout.headLength, into: assembly, at: 0)
            try copy(remote.configFile, layout.headLength..<layout.configLength, into: assembly, at: layout.tailOffset)
            let copy = try ImageReader(readable: try ReadableFile(path: assembly.path), limits: options.read.limits, parents: options.localImages)
            guard copy.rootDigest == skeleton.rootDigest, copy.fileLength == skeleton.fileLength else {
                throw ImagePackError(.ioFailed, "the file being assembled differs from the image's config: was the cache changed meanwhile?", path: assembly.path)
            }
            let cancellation = options.read.cancellation
            let indexed = Array(layers.enumerated())
            sources = try await forEachConcurrently(indexed, limit: client.options.maxConcurrentTransfers) { (item) throws(ImagePackError) -> BlobCache.Source in
                let (index, (layer, descriptor)) = item
                let writer = PullAssembly.LayerWriter(assembly: assembly, index: index, layer: layer)
                let source = try await obtain(
                    descriptor.digest, into: writer, cache: cache, local: local.pieces(for: layer, entries: entries), repository: repository, client: client,
                    progress: progress)
                try await offPool { () throws(ImagePackError) in
                    try Self.verify(copy, entries: layer.firstEntry...layer.lastEntry, references: false, reference: reference, cancellation: cancellation)
                }
                return source
            }
            // A reference chunk's target may lie in any layer: checked once all are in place.
            if entries.count > 0 { try await offPool { () throws(ImagePackError) in
                try Self.verify(copy, entries: 0...(entries.count - 1), references: true, reference: reference, cancellation: cancellation)
            } }
            if let problem = copy.dataAreaGapProblem() { throw problem.replacing(path: reference.description) }
            try assembly.publish(to: destination, overwrite: options.overwrite, output: output)
        } catch {
            output.abandon()
            assembly.close()
            throw error
        }
        if options.keepBlobs {
            for (layer, descriptor) in layers { cache.keep(descriptor.digest, from: destination, layer.offset..<layer.end) }
        }
        var downloaded = 0, bytes: UInt64 = 0, resumed: UInt64 = 0, rebuilt = 0, cached = 0
        for source in sources {
            switch source {
            case .cache: cached += 1
            case .rebuilt: rebuilt += 1
            case .downloaded(let from, let n): downloaded += 1; bytes += n; resumed += from
            }
        }
        return PullSummary(
            manifestDigest: remote.manifestDigest, rootDigest: skeleton.rootDigest, fileLength: skeleton.fileLength, layerCount: layers.count,
            layersDownloaded: downloaded, bytesDownloaded: bytes, bytesResumed: resumed, layersRebuilt: rebuilt, layersFromCache: cached,
            signatureCount: skeleton.signatures.count)
    }

    /// Puts one layer into the assembly through `writer` and checks its digest. In order: what an
    /// earlier run of this pull kept in the assembly (or a partial blob an earlier version kept in
    /// the cache), a complete blob in the cache, the records of local images, the registry (from
    /// the first byte not kept, by a `Range` request). Kept and local bytes are hashed with the
    /// rest, so the digest covers every byte, whatever its origin.
    /// - Throws: `.blobDigestMismatch` (the layer's journal entry is set back to nothing, so the
    ///   next run downloads it again), the registry's errors (what arrived stays, for the next run).
    static func obtain(
        _ digest: String, into writer: PullAssembly.LayerWriter, cache: BlobCache, local: [(ReadableFile, Range<UInt64>)]?, repository: String,
        client: RegistryClient, progress: TransferProgress?
    ) async throws(ImagePackError) -> BlobCache.Source {
        let length = writer.layer.length
        let held = min(writer.assembly.kept[writer.index] ?? 0, length)
        let legacy = cache.partialPath(digest)
        var resumed: UInt64 = 0
        if held > 0 {
            try await offPool { () throws(ImagePackError) in try writer.rehashKept(held) }
            resumed = held
        } else if let kept = system_stat(legacy)?.size, kept > 0, UInt64(kept) <= length,
            let file = try? ReadableFile(path: legacy)
        {
            try await offPool { () throws(ImagePackError) in try writer.append(from: file, 0..<UInt64(kept)) }
            resumed = UInt64(kept)
        } else {
            let complete = cache.path(digest)
            if system_stat(complete)?.size == Int64(length) {
                let matched = try await offPool { () throws(ImagePackError) -> Bool in
                    try writer.append(from: try ReadableFile(path: complete), 0..<length)
                    try writer.flush()
                    return writer.digest == digest
                }
                if matched {
                    progress?.advance(length)
                    return .cache
                }
                _ = system_unlink(complete)
                writer.reset()
            }
            if let local {
                let matched = try await offPool { () throws(ImagePackError) -> Bool in
                    for (file, range) in local { try writer.append(from: file, range) }
                    try writer.flush()
                    return writer.digest == digest
                }
                if matched {
                    progress?.advance(length)
                    return .rebuilt
                }
                writer.reset()
            }
        }
        progress?.advance(resumed)
        var received: UInt64 = 0
        if writer.position < length {
            let (response, start) = try await client.getBlob(repository, digest: digest, from: writer.position)
            if start == 0 && writer.position > 0 {
                // The registry ignored the range and sent the whole blob: start over.
                writer.reset()
                resumed = 0
            }
            do {
                for try await piece in response.body {
                    try piece.withUnsafeReadableBytes { (raw) throws(ImagePackError) in try writer.append(raw) }
                    received += UInt64(piece.readableBytes)
                    progress?.advance(UInt64(piece.readableBytes))
                }
                try writer.flush()
            } catch let error as ImagePackError {
                if error.code == .blobDigestMismatch {
                    writer.reset()
                    _ = system_unlink(legacy)
                    throw ImagePackError(.blobDigestMismatch, "blob \(digest) of \(repository) on \(client.registry) is longer than the \(length) bytes its descriptor says: the registry sent other bytes", field: "blob")
                }
                try? writer.flush()
                throw error
            } catch {
                try? writer.flush()
                throw ImagePackError(.registryUnreachable, "the download of blob \(digest) from \(client.registry) stopped after \(writer.position) of \(length) bytes: \(error); run the command again to continue it", field: "registry")
            }
        }
        guard writer.position == length else {
            throw ImagePackError(.registryUnreachable, "the download of blob \(digest) from \(client.registry) ended after \(writer.position) of \(length) bytes; run the command again to continue it", field: "registry")
        }
        let actual = writer.digest
        _ = system_unlink(legacy)
        guard actual == digest else {
            writer.reset()
            throw ImagePackError(.blobDigestMismatch, "blob \(digest) of \(repository) on \(client.registry) has digest \(actual): the registry (or something between), or a byte kept from an interrupted run, differs; nothing was published, and the next run downloads this layer again", field: "blob")
        }
        return .downloaded(resumedFrom: resumed, bytes: received)
    }

    /// Decodes and checks every stored chunk among `entries` of the file being assembled.
    /// - Parameter references: check the reference chunks among `entries` (true), or every other
    ///   stored chunk (false).
    static func verify(_ image: ImageReader, entries: ClosedRange<Int>, references: Bool, reference: RegistryReference, cancellation: Cancellation?) throws(ImagePackError) {
        var buffer = [UInt8]()
        for i in entries where image.entries[i].kind != .zero && (image.entries[i].kind == .reference) == references {
            if cancellation?.isCancelled == true { throw ImagePackError(.cancelled, "cancelled; nothing was left at the destination") }
            let length = Int(image.entries[i].logicalLength)
            if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
            do throws(ImagePackError) {
                try withMutableBuffer(&buffer) { (raw) throws(ImagePackError) in
                    try image.decodeChunk(i, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<length]), contentNeeded: false)
                }
            } catch {
                throw error.replacing(path: reference.description)
            }
        }
    }

    /// Writes `range` of `file` at `offset` of the assembly (the config's head and tail).
    static func copy(_ file: ReadableFile, _ range: Range<UInt64>, into assembly: PullAssembly, at offset: UInt64) throws(ImagePackError) {
        try file.forEachPiece(of: range) { (piece, at) throws(ImagePackError) in
            try assembly.write(piece, at: offset + at - range.lowerBound)
        }
    }
}

/// The chunk records of local images, found by what their index says about them, to rebuild a
/// layer without downloading it (spec/REGISTRY.md §5).
struct LocalRecords: Sendable {
    /// A record's identity: everything its index entry says but where it lies in its file. Two
    /// records equal in all of it hold the same content; a layer rebuilt from them is still
    /// checked against the layer's digest.
    struct Key: Hashable {
        let entry: ChunkEntry
        init(_ e: ChunkEntry) {
            var placeless = e
            placeless.recordOffset = 0
            entry = placeless
        }
    }
    let files: [ReadableFile]
    let records: [Key: (file: Int, offset: UInt64)]

    init(_ images: [ImageReader]) {
        var files: [ReadableFile] = []
        var records: [Key: (Int, UInt64)] = [:]
        for image in images {
            guard let file = try? ReadableFile(path: image.path) else { continue }
            files.append(file)
            for e in image.entries where e.kind != .zero && records[Key(e)] == nil {
                records[Key(e)] = (files.count - 1, e.recordOffset)
            }
        }
        self.files = files
        self.records = records
    }

    /// The local byte ranges that make `layer`, or nil unless every record in it is local and
    /// the layer is exactly its records, back to back (no optional records between them).
    func pieces(for layer: LayerRange, entries: ChunkEntries) -> [(ReadableFile, Range<UInt64>)]? {
        guard !records.isEmpty else { return nil }
        var pieces: [(ReadableFile, Range<UInt64>)] = []
        var position = layer.offset
        for i in layer.firstEntry...layer.lastEntry {
            let e = entries[i]
            guard e.kind != .zero else { continue }
            guard e.recordOffset == position, let (f, offset) = records[Key(e)] else { return nil }
            pieces.append((files[f], offset..<(offset + e.storedSize)))
            position += e.storedSize
        }
        return position == layer.end ? pieces : nil
    }
}
