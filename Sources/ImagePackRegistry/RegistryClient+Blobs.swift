import Foundation
import AsyncHTTPClient
import Crypto
import ImagePack
import NIOCore
import NIOHTTP1

/// What ``RegistryClient/putBlob(_:digest:size:mountFrom:body:)`` did.
public enum BlobOutcome: Sendable, Equatable {
    /// The registry had it already (`HEAD`): nothing travelled.
    case present
    /// Mounted from another repository of the same registry: nothing travelled.
    case mounted
    /// Uploaded: `size` bytes travelled.
    case uploaded
}

extension RegistryClient {
    static func pull(_ repository: String) -> [String] { ["repository:\(repository):pull"] }
    static func push(_ repository: String) -> [String] { ["repository:\(repository):pull,push"] }

    /// The blob's size if the repository has it, nil if not (`HEAD /v2/<name>/blobs/<digest>`).
    public func blobSize(_ repository: String, digest: String) async throws(ImagePackError) -> Int64? {
        let response = try await send(.HEAD, "/v2/\(repository)/blobs/\(digest)", scopes: Self.pull(repository))
        _ = try? await response.body.collect(upTo: 1 << 16)
        switch response.status.code {
        case 200: return response.headers.first(name: "Content-Length").flatMap { Int64($0) }
        case 404: return nil
        default:
            throw ImagePackError(.registryRequestFailed, "\(registry) answered HTTP \(response.status.code) for HEAD of blob \(digest) in \(repository)", field: "registry")
        }
    }

    /// Starts `GET` of a blob from byte `offset` (a `Range` request when not 0).
    /// - Returns: the response and the offset its body starts at: `offset` when the registry
    ///   honoured the range (206), 0 when it sent the whole blob (200).
    func getBlob(_ repository: String, digest: String, from offset: UInt64 = 0) async throws(ImagePackError) -> (HTTPClientResponse, UInt64) {
        let headers = offset > 0 ? [("Range", "bytes=\(offset)-")] : []
        let response = try await send(.GET, "/v2/\(repository)/blobs/\(digest)", headers: headers, scopes: Self.pull(repository))
        if offset > 0 && response.status == .partialContent { return (response, offset) }
        if response.status == .rangeNotSatisfiable {
            // The kept part is as long as the blob or longer: start over.
            _ = try? await response.body.collect(upTo: 1 << 16)
            return try await getBlob(repository, digest: digest, from: 0)
        }
        try await Self.expect(response, [200], "blob \(digest) of \(repository)", registry: registry)
        return (response, 0)
    }

    /// A small blob (a config, a signature list) in memory, its digest checked.
    /// - Throws: `.blobDigestMismatch`, `.limitExceeded` over `limit` bytes.
    public func blobBytes(_ repository: String, digest: String, limit: Int) async throws(ImagePackError) -> [UInt8] {
        let (response, _) = try await getBlob(repository, digest: digest)
        let body: ByteBuffer
        do { body = try await response.body.collect(upTo: limit) } catch {
            throw ImagePackError(.limitExceeded, "blob \(digest) of \(repository) is larger than the \(limit) bytes allowed for it, or its download failed: \(error)", field: "blob")
        }
        let bytes = Array(buffer: body)
        let actual = Digest.sha256(bytes).description
        guard actual == digest else {
            throw ImagePackError(.blobDigestMismatch, "blob \(digest) of \(repository) on \(registry) has digest \(actual): the registry (or something between) sent other bytes; nothing was written", field: "blob")
        }
        return bytes
    }

    /// Whether a push can skip the blob: `HEAD` answered 200. A 5xx answer counts as "upload
    /// it": docker-registry 2.8 answers `500 invalid checksum digest format` for a blob whose
    /// repository link is empty, which is what a registry killed while writing that link leaves
    /// (its filesystem driver truncates the file, then writes the digest). Asking again gets the
    /// same 500; uploading the blob rewrites the link. An upload is idempotent (a blob is named
    /// by its digest), so a wrong "upload it" costs bytes, never correctness.
    func blobNeedsNoUpload(_ repository: String, digest: String) async throws(ImagePackError) -> Bool {
        let response = try await send(.HEAD, "/v2/\(repository)/blobs/\(digest)", scopes: Self.pull(repository))
        _ = try? await response.body.collect(upTo: 1 << 16)
        switch response.status.code {
        case 200: return true
        case 404, 500..<600: return false
        default:
            throw ImagePackError(.registryRequestFailed, "\(registry) answered HTTP \(response.status.code) for HEAD of blob \(digest) in \(repository)", field: "registry")
        }
    }

    /// Puts a blob into `repository` unless it is there: `HEAD`, then a cross-repository mount
    /// from `mountFrom` (same registry) if given, then `POST` + monolithic streaming `PUT`.
    /// Uploads are idempotent (a blob is named by its digest), so a push that was interrupted
    /// and started again skips what arrived, and uploads again what the registry cannot vouch
    /// for (``blobNeedsNoUpload(_:digest:)``).
    public func putBlob(_ repository: String, digest: String, size: Int64, mountFrom: String? = nil, body: @escaping BodyMaker) async throws(ImagePackError) -> BlobOutcome {
        if try await blobNeedsNoUpload(repository, digest: digest) { return .present }
        var scopes = Self.push(repository)
        var path = "/v2/\(repository)/blobs/uploads/"
        if let mountFrom {
            scopes += Self.pull(mountFrom)
            path += "?mount=\(digest)&from=\(mountFrom)"
        }
        let started = try await send(.POST, path, headers: [("Content-Length", "0")], scopes: scopes)
        if started.status == .created {
            _ = try? await started.body.collect(upTo: 1 << 16)
            return .mounted
        }
        try await Self.expect(started, [202], "starting an upload to \(repository)", registry: registry)
        _ = try? await started.body.collect(upTo: 1 << 16)
        guard let location = started.headers.first(name: "Location") else {
            throw ImagePackError(.registryRequestFailed, "\(registry) started an upload without a Location header", field: "registry")
        }
        var url = location.hasPrefix("/") ? baseURL + location : location
        url += (url.contains("?") ? "&" : "?") + "digest=\(digest)"
        let put = try await send(
            .PUT, url, headers: [("Content-Type", "application/octet-stream"), ("Content-Length", String(size))], body: body,
            scopes: Self.push(repository))
        try await Self.expect(put, [201], "uploading blob \(digest) (\(size) bytes) to \(repository)", registry: registry)
        _ = try? await put.body.collect(upTo: 1 << 16)
        return .uploaded
    }

    /// Puts a small blob held in memory.
    public func putBlob(_ repository: String, bytes: [UInt8]) async throws(ImagePackError) -> (String, BlobOutcome) {
        let digest = Digest.sha256(bytes).description
        let outcome = try await putBlob(repository, digest: digest, size: Int64(bytes.count)) { () throws(ImagePackError) in .bytes(bytes) }
        return (digest, outcome)
    }

    // MARK: Manifests and tags

    /// A manifest's bytes, media type and digest, by tag or digest; by digest, the bytes are
    /// checked against it.
    public func manifest(_ reference: RegistryReference) async throws(ImagePackError) -> (bytes: [UInt8], mediaType: String, digest: String) {
        let accept = [MediaType.ociManifest, MediaType.dockerManifest, MediaType.ociIndex].joined(separator: ", ")
        let response = try await send(
            .GET, "/v2/\(reference.repository)/manifests/\(reference.manifestReference)", headers: [("Accept", accept)],
            scopes: Self.pull(reference.repository))
        if response.status == .notFound {
            throw ImagePackError(.manifestUnknown, "\(reference) does not exist: no manifest \(reference.manifestReference) in \(reference.repository) on \(registry)", field: "reference")
        }
        try await Self.expect(response, [200], "manifest \(reference)", registry: registry)
        let body: ByteBuffer
        do { body = try await response.body.collect(upTo: 4 << 20) } catch {
            throw ImagePackError(.manifestInvalid, "the manifest of \(reference) is over 4 MiB, or its download failed: \(error)", field: "manifest")
        }
        let bytes = Array(buffer: body)
        let digest = Digest.sha256(bytes).description
        if let wanted = reference.digest, wanted != digest {
            throw ImagePackError(.blobDigestMismatch, "the manifest sent for \(reference) has digest \(digest): the registry sent other bytes", field: "manifest")
        }
        let mediaType = response.headers.first(name: "Content-Type").map { String($0.split(separator: ";").first ?? "") } ?? MediaType.ociManifest
        return (bytes, mediaType, digest)
    }

    /// Whether a manifest exists, without fetching it.
    public func manifestExists(_ reference: RegistryReference) async throws(ImagePackError) -> Bool {
        let accept = [MediaType.ociManifest, MediaType.dockerManifest, MediaType.ociIndex].joined(separator: ", ")
        let response = try await send(
            .HEAD, "/v2/\(reference.repository)/manifests/\(reference.manifestReference)", headers: [("Accept", accept)],
            scopes: Self.pull(reference.repository))
        _ = try? await response.body.collect(upTo: 1 << 16)
        switch response.status.code {
        case 200: return true
        case 404: return false
        default:
            throw ImagePackError(.registryRequestFailed, "\(registry) answered HTTP \(response.status.code) for HEAD of manifest \(reference)", field: "registry")
        }
    }

    /// Stores a manifest under `tag` (or its digest); returns its digest.
    @discardableResult
    public func putManifest(_ repository: String, tag: String, bytes: [UInt8], mediaType: String) async throws(ImagePackError) -> String {
        let response = try await send(
            .PUT, "/v2/\(repository)/manifests/\(tag)", headers: [("Content-Type", mediaType)],
            body: { () throws(ImagePackError) in .bytes(bytes) }, scopes: Self.push(repository))
        try await Self.expect(response, [201], "storing the manifest \(repository):\(tag)", registry: registry)
        _ = try? await response.body.collect(upTo: 1 << 16)
        return Digest.sha256(bytes).description
    }

    /// The repository's tags (`GET /v2/<name>/tags/list`).
    public func tags(_ repository: String) async throws(ImagePackError) -> [String] {
        let response = try await send(.GET, "/v2/\(repository)/tags/list", scopes: Self.pull(repository))
        if response.status == .notFound { return [] }
        try await Self.expect(response, [200], "the tags of \(repository)", registry: registry)
        struct TagList: Decodable { var tags: [String]? }
        guard let body = try? await response.body.collect(upTo: 16 << 20),
            let list = try? JSONDecoder().decode(TagList.self, from: Data(body.readableBytesView))
        else { throw ImagePackError(.registryRequestFailed, "\(registry) sent a tag list that is not JSON", field: "registry") }
        return (list.tags ?? []).sorted()
    }
}
