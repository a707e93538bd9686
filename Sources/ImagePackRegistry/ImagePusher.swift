import Foundation
import ImagePack

/// What ``ImagePusher/push(imageAt:to:client:progress:)`` did.
public struct PushSummary: Sendable {
    public let reference: RegistryReference
    /// The image manifest's digest: `REF@digest` names exactly this image.
    public let manifestDigest: String
    public let rootDigest: Digest
    public let layerCount: Int
    /// Blobs (config and layers) that travelled, and their bytes.
    public let blobsUploaded: Int
    public let bytesUploaded: UInt64
    /// Blobs the registry already had (an earlier version, an interrupted push): nothing travelled.
    public let blobsPresent: Int
    public let bytesPresent: UInt64
    /// The cosign-style tag that holds the image's signatures (spec/REGISTRY.md §6); nil without any.
    public let signatureTag: String?
}

/// Pushes an image file to a registry as spec/REGISTRY.md lays it out.
public enum ImagePusher {
    /// Pushes the image at `path` to `reference` (its tag, `latest` without one).
    ///
    /// Opens the image (every structural rule; chunk payloads are checked by whoever pulls),
    /// cuts it into config and layers, and for each blob, `maxConcurrentTransfers` at a time:
    /// hashes it, skips it if the registry has it, else streams it up. Then stores the manifest
    /// under the tag and, for a signed image, the signature artifact under
    /// `sha256-<manifest hex>.sig`. An interrupted push run again uploads only what is missing.
    /// - Throws: the image's own errors, `.invalidReference` for a reference with a digest,
    ///   the registry's (``RegistryClient``).
    public static func push(
        imageAt path: String, to reference: RegistryReference, client: RegistryClient, progress: TransferProgress? = nil
    ) async throws(ImagePackError) -> PushSummary {
        guard reference.digest == nil else {
            throw ImagePackError(.invalidReference, "push stores a manifest under a tag; \(reference) names a digest, which the registry computes: drop the @sha256:… part", field: "reference")
        }
        let reader = try ImageReader(path: path)
        let file = try ReadableFile(path: path)
        guard file.size == reader.fileLength else {
            throw ImagePackError(.sourceChanged, "the image changed while it was opened; push it again", path: path)
        }
        let layout = RegistryLayout(reader)
        let repository = reference.repository
        var blobs: [FileRangeBody] = [FileRangeBody(file: file, ranges: layout.configRanges, progress: nil)]
        for layer in layout.layers { blobs.append(FileRangeBody(file: file, ranges: [layer.offset..<layer.end], progress: nil)) }
        progress?.add(total: blobs.reduce(0) { $0 + $1.length })

        let results = try await forEachConcurrently(blobs, limit: client.options.maxConcurrentTransfers) { (blob) throws(ImagePackError) -> (Digest, BlobOutcome) in
            let digest = try await offPool { () throws(ImagePackError) in try blob.digest() }
            let counted = FileRangeBody(file: blob.file, ranges: blob.ranges, progress: { progress?.advance($0) })
            let outcome = try await client.putBlob(repository, digest: digest.description, size: Int64(blob.length)) { () throws(ImagePackError) in counted.requestBody }
            if outcome != .uploaded { progress?.advance(blob.length) }
            return (digest, outcome)
        }
        let manifest = layout.manifest(
            configDigest: results[0].0, layerDigests: results.dropFirst().map { $0.0 }, rootDigest: reader.rootDigest, parentDigest: reader.parentDigest)
        let manifestBytes = manifest.encoded()
        let manifestDigest = try await client.putManifest(repository, tag: reference.tag ?? "latest", bytes: manifestBytes, mediaType: MediaType.ociManifest)

        var signatureTag: String?
        if let region = reader.signatureRegion {
            let records = try file.read(at: region.lowerBound, count: Int(region.count))
            let subject = OCIDescriptor(mediaType: MediaType.ociManifest, digest: manifestDigest, size: Int64(manifestBytes.count))
            signatureTag = try await pushSignatures(records, keyIDs: reader.signatures.map(\.keyID), rootDigest: reader.rootDigest, subject: subject, repository: repository, client: client)
        }
        var uploaded = (0, UInt64(0)), present = (0, UInt64(0))
        for (blob, (_, outcome)) in zip(blobs, results) {
            if outcome == .uploaded { uploaded.0 += 1; uploaded.1 += blob.length } else { present.0 += 1; present.1 += blob.length }
        }
        return PushSummary(
            reference: reference.with(tag: reference.tag ?? "latest"), manifestDigest: manifestDigest, rootDigest: reader.rootDigest,
            layerCount: layout.layers.count, blobsUploaded: uploaded.0, bytesUploaded: uploaded.1, blobsPresent: present.0,
            bytesPresent: present.1, signatureTag: signatureTag)
    }

    /// The cosign-style signature tag of a manifest: `sha256-<hex>.sig`.
    public static func signatureTag(ofManifest digest: String) -> String {
        digest.replacingOccurrences(of: ":", with: "-") + ".sig"
    }

    /// Stores the SIGN records as an artifact under the manifest's signature tag (spec/REGISTRY.md §6).
    static func pushSignatures(
        _ records: [UInt8], keyIDs: [Digest], rootDigest: Digest, subject: OCIDescriptor, repository: String, client: RegistryClient
    ) async throws(ImagePackError) -> String {
        _ = try await client.putBlob(repository, bytes: EmptyBlob.bytes)
        let (recordsDigest, _) = try await client.putBlob(repository, bytes: records)
        let manifest = OCIManifest(
            artifactType: MediaType.signatures, config: EmptyBlob.descriptor,
            layers: [OCIDescriptor(mediaType: MediaType.signRecords, digest: recordsDigest, size: Int64(records.count))],
            subject: subject,
            annotations: [AnnotationKey.rootDigest: rootDigest.description, AnnotationKey.keyIDs: keyIDs.map(\.hex).joined(separator: ",")])
        let tag = signatureTag(ofManifest: subject.digest)
        try await client.putManifest(repository, tag: tag, bytes: manifest.encoded(), mediaType: MediaType.ociManifest)
        return tag
    }
}

/// Runs `work` on every element, at most `limit` at once, and returns the results in order; the
/// first failure cancels the rest and is thrown.
func forEachConcurrently<Element: Sendable, Result: Sendable>(
    _ elements: [Element], limit: Int, _ work: @escaping @Sendable (Element) async throws(ImagePackError) -> Result
) async throws(ImagePackError) -> [Result] {
    do {
        return try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: elements.count)
            var next = 0
            while next < min(limit, elements.count) {
                let i = next, element = elements[i]
                group.addTask { (i, try await work(element)) }
                next += 1
            }
            while let (i, result) = try await group.next() {
                results[i] = result
                if next < elements.count {
                    let j = next, element = elements[j]
                    group.addTask { (j, try await work(element)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    } catch let error as ImagePackError {
        throw error
    } catch is CancellationError {
        throw ImagePackError(.cancelled, "cancelled; nothing was left at the destination")
    } catch {
        throw ImagePackError(.registryRequestFailed, "a transfer failed: \(error)", field: "registry")
    }
}
