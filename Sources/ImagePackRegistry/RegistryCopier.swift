import AsyncHTTPClient
import ImagePack
import NIOCore

/// What ``RegistryCopier/copy(_:sourceClient:to:destinationClient:progress:)`` did.
public struct RemoteCopySummary: Sendable {
    public let manifestDigest: String
    public let blobsCopied: Int
    public let bytesCopied: UInt64
    public let blobsMounted: Int
    public let blobsPresent: Int
    public let signatureTag: String?
}

/// Copies an image between repositories or registries (spec/REGISTRY.md §7): only blobs the
/// destination lacks travel, mounted when source and destination share a registry, else streamed
/// from one connection to the other without touching the disk. The manifest's bytes, and so its
/// digest, are unchanged; the signature tag comes along.
public enum RegistryCopier {
    public static func copy(
        _ source: RegistryReference, sourceClient: RegistryClient, to destination: RegistryReference, destinationClient: RegistryClient,
        progress: TransferProgress? = nil
    ) async throws(ImagePackError) -> RemoteCopySummary {
        guard destination.digest == nil else {
            throw ImagePackError(.invalidReference, "the destination \(destination) names a digest; copy stores the manifest under a tag: drop the @sha256:… part", field: "reference")
        }
        let tag = destination.tag ?? source.tag ?? "latest"
        let (bytes, mediaType, digest) = try await sourceClient.manifest(source)
        let manifest = try OCIManifest.decode(bytes, reference: source.description)
        var stats = try await copyBlobs(of: manifest, from: source, sourceClient, to: destination, destinationClient, progress: progress)
        try await destinationClient.putManifest(destination.repository, tag: tag, bytes: bytes, mediaType: mediaType)

        var signatureTag: String?
        let sigTag = ImagePusher.signatureTag(ofManifest: digest)
        if try await sourceClient.manifestExists(source.with(tag: sigTag)) {
            let (sigBytes, sigType, _) = try await sourceClient.manifest(source.with(tag: sigTag))
            let sig = try OCIManifest.decode(sigBytes, reference: "\(source.repository):\(sigTag)")
            let more = try await copyBlobs(of: sig, from: source, sourceClient, to: destination, destinationClient, progress: nil)
            stats = (stats.0 + more.0, stats.1 + more.1, stats.2 + more.2, stats.3 + more.3)
            try await destinationClient.putManifest(destination.repository, tag: sigTag, bytes: sigBytes, mediaType: sigType)
            signatureTag = sigTag
        }
        return RemoteCopySummary(manifestDigest: digest, blobsCopied: stats.0, bytesCopied: stats.1, blobsMounted: stats.2, blobsPresent: stats.3, signatureTag: signatureTag)
    }

    /// Copies the config and layers of `manifest`; returns (copied, bytes copied, mounted, present).
    static func copyBlobs(
        of manifest: OCIManifest, from source: RegistryReference, _ sourceClient: RegistryClient, to destination: RegistryReference,
        _ destinationClient: RegistryClient, progress: TransferProgress?
    ) async throws(ImagePackError) -> (Int, UInt64, Int, Int) {
        let blobs = [manifest.config] + manifest.layers
        progress?.add(total: blobs.reduce(0) { $0 + UInt64(max(0, $1.size)) })
        let sameRegistry = source.registry == destination.registry
        let outcomes = try await forEachConcurrently(blobs, limit: destinationClient.options.maxConcurrentTransfers) { (blob) throws(ImagePackError) -> BlobOutcome in
            let outcome = try await destinationClient.putBlob(
                destination.repository, digest: blob.digest, size: blob.size, mountFrom: sameRegistry && source.repository != destination.repository ? source.repository : nil
            ) { () throws(ImagePackError) in
                let (response, _) = try await sourceClient.getBlob(source.repository, digest: blob.digest)
                return .stream(CountedBody(body: response.body, progress: progress), length: .known(blob.size))
            }
            if outcome != .uploaded { progress?.advance(UInt64(max(0, blob.size))) }
            return outcome
        }
        var result = (0, UInt64(0), 0, 0)
        for (blob, outcome) in zip(blobs, outcomes) {
            switch outcome {
            case .uploaded: result.0 += 1; result.1 += UInt64(blob.size)
            case .mounted: result.2 += 1
            case .present: result.3 += 1
            }
        }
        return result
    }
}

/// A response body passed on as a request body, counting the bytes for a progress bar.
struct CountedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let body: HTTPClientResponse.Body
    let progress: TransferProgress?

    struct AsyncIterator: AsyncIteratorProtocol {
        var inner: HTTPClientResponse.Body.AsyncIterator
        let progress: TransferProgress?
        mutating func next() async throws -> ByteBuffer? {
            let piece = try await inner.next()
            if let piece { progress?.advance(UInt64(piece.readableBytes)) }
            return piece
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inner: body.makeAsyncIterator(), progress: progress) }
}
