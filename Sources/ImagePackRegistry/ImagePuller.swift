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
    /// image before any layer moves. Then obtains every layer (cache, local records, or the
    /// registry with resume), each checked against its digest; writes head, layers and tail;
    /// opens what it wrote and verifies every chunk; and only then publishes the file.
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
        do throws(ImagePackError) {
            // Head and tail first, so the file can be opened as an image while the layers arrive:
            // each layer is verified (every chunk decoded and hashed) as soon as it is in place,
            // in parallel with the downloads still running.
            let assembly = output.readablePath
            try copy(remote.configFile, 0..<layout.headLength, to: assembly, at: 0)
            try copy(remote.configFile, layout.headLength..<layout.configLength, to: assembly, at: layout.tailOffset)
            try output.truncate(to: layout.fileLength)
            let copy = try ImageReader(readable: try ReadableFile(path: assembly), limits: options.read.limits, parents: options.localImages)
            guard copy.rootDigest == skeleton.rootDigest, copy.fileLength == skeleton.fileLength else {
                throw ImagePackError(.ioFailed, "the file being assembled differs from the image's config: was the cache changed meanwhile?", path: destination)
            }
            sources = try await forEachConcurrently(layers, limit: client.options.maxConcurrentTransfers) { (pair) throws(ImagePackError) -> BlobCache.Source in
                let (layer, descriptor) = pair
                let source: BlobCache.Source
                if try await offPool({ () throws(ImagePackError) in try cache.verifiedCopy(descriptor.digest, size: descriptor.size) }) {
                    progress?.advance(layer.length)
                    source = .cache
                } else if let pieces = local.pieces(for: layer, entries: entries),
                    try await offPool({ () throws(ImagePackError) in try cache.rebuild(descriptor.digest, from: pieces) })
                {
                    progress?.advance(layer.length)
                    source = .rebuilt
                } else {
                    source = try await cache.download(descriptor.digest, size: descriptor.size, repository: repository, client: client, progress: progress)
                }
                let cancellation = options.read.cancellation
                try await offPool { () throws(ImagePackError) in
                    try Self.copy(try ReadableFile(path: cache.path(descriptor.digest)), 0..<layer.length, to: assembly, at: layer.offset)
                    try Self.verify(copy, entries: layer.firstEntry...layer.lastEntry, reference: reference, cancellation: cancellation)
                }
                return source
            }
            if let problem = copy.dataAreaGapProblem() { throw problem.replacing(path: reference.description) }
            try output.commit()
        } catch {
            output.abandon()
            throw error
        }
        if !options.keepBlobs { for (_, d) in layers { cache.remove(d.digest) } }
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

    /// Decodes and checks every stored chunk among `entries` of the file being assembled.
    static func verify(_ image: ImageReader, entries: ClosedRange<Int>, reference: RegistryReference, cancellation: Cancellation?) throws(ImagePackError) {
        var buffer = [UInt8]()
        for i in entries where image.entries[i].kind != .zero {
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

    /// Writes `range` of `file` at `offset` of the file at `path` (the output being assembled,
    /// through its own descriptor, so that layers land concurrently).
    static func copy(_ file: ReadableFile, _ range: Range<UInt64>, to path: String, at offset: UInt64) throws(ImagePackError) {
        let output = try BlobFileWriter(path: path, truncate: false, at: offset)
        defer { output.close() }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var at = range.lowerBound
        while at < range.upperBound {
            let n = Int(min(UInt64(buffer.count), range.upperBound - at))
            try withMutableBuffer(&buffer) { (raw) throws(ImagePackError) in
                let part = UnsafeMutableRawBufferPointer(rebasing: raw[0..<n])
                try file.read(at: at, into: part)
                try output.write(UnsafeRawBufferPointer(part))
            }
            at += UInt64(n)
        }
    }
}

/// The chunk records of local images, found by what their index says about them, to rebuild a
/// layer without downloading it (spec/REGISTRY.md §5).
struct LocalRecords: Sendable {
    struct Key: Hashable {
        var kind: ChunkKind
        var codec: Codec
        var stream: UInt32
        var logicalOffset: UInt64
        var logicalLength: UInt32
        var payloadLength: UInt32
        var contentDigest: Digest
        init(_ e: ChunkEntry) {
            kind = e.kind
            codec = e.codec
            stream = e.stream
            logicalOffset = e.logicalOffset
            logicalLength = e.logicalLength
            payloadLength = e.payloadLength
            contentDigest = e.contentDigest
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
