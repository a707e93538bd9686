import Crypto
import Foundation
import ImagePack

/// Where a client keeps blobs between runs: `blobs/sha256/<hex>` once verified, and
/// `blobs/sha256/<hex>.partial` while one arrives, so that an interrupted download continues
/// from where it stopped (spec/REGISTRY.md §5).
///
/// A complete blob is trusted only after its bytes hash to its name again when it is used; a
/// partial one is hashed again from its first byte when its download resumes.
public struct BlobCache: Sendable {
    public let directory: String

    /// `directory`, created if missing.
    /// - Throws: `.ioFailed` if it cannot be created.
    public init(directory: String) throws(ImagePackError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory + "/blobs/sha256", withIntermediateDirectories: true)
        } catch {
            throw ImagePackError(.ioFailed, "cannot create the blob cache: \(error)", path: directory)
        }
    }

    /// `$IMGPACK_CACHE`, else `$XDG_CACHE_HOME/imgpack`, else `~/.cache/imgpack`.
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let d = environment["IMGPACK_CACHE"], !d.isEmpty { return d }
        if let d = environment["XDG_CACHE_HOME"], !d.isEmpty { return d + "/imgpack" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/imgpack"
    }

    func path(_ digest: String) -> String { directory + "/blobs/sha256/" + digest.replacingOccurrences(of: "sha256:", with: "") }
    func partialPath(_ digest: String) -> String { path(digest) + ".partial" }

    /// How a blob was obtained.
    enum Source: Sendable { case cache, rebuilt, downloaded(resumedFrom: UInt64, bytes: UInt64) }

    /// Whether a complete cached copy of the blob exists and still hashes to its name; a copy
    /// that does not is removed.
    func verifiedCopy(_ digest: String, size: Int64) throws(ImagePackError) -> Bool {
        let p = path(digest)
        guard let status = system_stat(p), status.size == size else { return false }
        let file = try ReadableFile(path: p)
        if try FileRangeBody(file: file, ranges: [0..<UInt64(size)], progress: nil).digest().description == digest { return true }
        _ = system_unlink(p)
        return false
    }

    /// Keeps bytes `range` of the verified file at `path` as the blob `digest` (pull --keep-blobs),
    /// for later pulls of images that share the layer. Best effort: a copy that fails leaves nothing.
    func keep(_ digest: String, from path: String, _ range: Range<UInt64>) {
        let partial = partialPath(digest)
        do throws(ImagePackError) {
            let file = try ReadableFile(path: path)
            let sink = try BlobFileWriter(path: partial, truncate: true)
            defer { sink.close() }
            try file.forEachPiece(of: range) { (piece, _) throws(ImagePackError) in try sink.write(piece) }
            try publish(digest)
        } catch {
            _ = system_unlink(partial)
        }
    }

    /// Downloads a blob into the cache, continuing a partial download with a `Range` request.
    /// The kept bytes are hashed again before the new ones, so the digest covers every byte.
    /// - Throws: `.blobDigestMismatch` (the partial file is removed, so the next run starts over),
    ///   the registry's errors (the partial file is kept for the next run).
    func download(
        _ digest: String, size: Int64, repository: String, client: RegistryClient, progress: TransferProgress?
    ) async throws(ImagePackError) -> Source {
        let partial = partialPath(digest)
        var kept = UInt64(max(0, system_stat(partial)?.size ?? 0))
        if kept > UInt64(size) { kept = 0 }
        var hasher = SHA256()
        if kept > 0 {
            let file = try ReadableFile(path: partial)
            try file.forEachPiece(of: 0..<kept) { (piece, _) in hasher.update(bufferPointer: piece) }
            progress?.advance(kept)
        }
        var received: UInt64 = 0
        if kept < UInt64(size) {
            let (response, start) = try await client.getBlob(repository, digest: digest, from: kept)
            if start == 0 && kept > 0 {
                // The registry ignored the range and sent the whole blob: start over.
                hasher = SHA256()
                kept = 0
            }
            let sink = try BlobFileWriter(path: partial, truncate: kept == 0, at: kept)
            defer { sink.close() }
            do {
                for try await piece in response.body {
                    guard kept + received + UInt64(piece.readableBytes) <= UInt64(size) else {
                        throw ImagePackError(.blobDigestMismatch, "blob \(digest) of \(repository) on \(client.registry) is longer than the \(size) bytes its descriptor says: the registry sent other bytes", field: "blob")
                    }
                    try piece.withUnsafeReadableBytes { (raw) throws(ImagePackError) in
                        hasher.update(bufferPointer: raw)
                        try sink.write(raw)
                    }
                    received += UInt64(piece.readableBytes)
                    progress?.advance(UInt64(piece.readableBytes))
                }
            } catch let error as ImagePackError {
                if error.code == .blobDigestMismatch { _ = system_unlink(partial) }
                throw error
            } catch {
                throw ImagePackError(.registryUnreachable, "the download of blob \(digest) from \(client.registry) stopped after \(kept + received) of \(size) bytes: \(error); run the command again to continue it", field: "registry")
            }
        }
        guard kept + received == UInt64(size) else {
            throw ImagePackError(.registryUnreachable, "the download of blob \(digest) from \(client.registry) ended after \(kept + received) of \(size) bytes; run the command again to continue it", field: "registry")
        }
        let actual = Digest(hasher.finalize()).description
        guard actual == digest else {
            _ = system_unlink(partial)
            throw ImagePackError(.blobDigestMismatch, "blob \(digest) of \(repository) on \(client.registry) has digest \(actual): the registry (or something between) sent other bytes; nothing was written", field: "blob")
        }
        try publish(digest)
        return .downloaded(resumedFrom: kept, bytes: received)
    }

    /// Renames a verified partial file to its final name.
    private func publish(_ digest: String) throws(ImagePackError) {
        guard system_rename(partialPath(digest), path(digest)) == 0 else {
            throw ImagePackError(.ioFailed, "cannot rename the downloaded blob into the cache", cause: Int(system_errno), path: partialPath(digest))
        }
    }
}

/// Appends to a cache file through its descriptor.
final class BlobFileWriter: @unchecked Sendable {
    let path: String
    let descriptor: Int32
    var position: UInt64

    init(path: String, truncate: Bool, at position: UInt64 = 0) throws(ImagePackError) {
        self.path = path
        let flags = _O_WRONLY | _O_CREAT | _O_CLOEXEC | (truncate ? _O_TRUNC : 0)
        descriptor = system_open(path, flags, 0o644)
        guard descriptor >= 0 else {
            throw ImagePackError(.ioFailed, "cannot open the cache file for writing", cause: Int(system_errno), path: path)
        }
        self.position = truncate ? 0 : position
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ImagePackError) {
        try writeAll(descriptor, bytes, at: position, path: path)
        position += UInt64(bytes.count)
    }

    func close() { _ = system_close(descriptor) }
}
