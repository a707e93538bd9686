import Foundation
import ImagePack

/// An image in a registry, known from its manifest and config alone (spec/REGISTRY.md §3): its
/// metadata, streams, index, root digest and signatures, without one byte of chunk data.
public struct RemoteImage: Sendable {
    public let reference: RegistryReference
    public let manifestDigest: String
    public let manifest: OCIManifest
    /// The config laid out as a sparse file (head at 0, tail at its end) and opened: every
    /// structural rule checked, the root digest recomputed from the index.
    public let skeleton: ImageReader
    public let layout: RegistryLayout
    /// The config blob in the cache (head ‖ tail).
    let configFile: ReadableFile

    /// Fetches and checks the manifest and config of `reference`.
    /// - Throws: `.manifestUnknown`, `.manifestInvalid` (not an ImagePack image, or its layers do
    ///   not match its config), `.blobDigestMismatch`, the config's own errors (a rule of
    ///   FORMAT.md), the registry's.
    public static func open(_ reference: RegistryReference, client: RegistryClient, cache: BlobCache) async throws(ImagePackError) -> RemoteImage {
        let (bytes, _, digest) = try await client.manifest(reference)
        let manifest = try OCIManifest.decode(bytes, reference: reference.description)
        guard manifest.artifactType == MediaType.image || manifest.config.mediaType == MediaType.config else {
            throw ImagePackError(
                .manifestInvalid, "\(reference) is not an ImagePack image (artifactType \(manifest.artifactType ?? "none"), config \(manifest.config.mediaType)); push images with imgpack push",
                field: "artifactType")
        }
        guard manifest.config.mediaType == MediaType.config, manifest.config.size > 0 else {
            throw ImagePackError(.manifestInvalid, "the config of \(reference) has media type \(manifest.config.mediaType), not \(MediaType.config)", field: "config")
        }
        let configDigest = manifest.config.digest
        if try !cache.verifiedCopy(configDigest, size: manifest.config.size) {
            _ = try await cache.download(configDigest, size: manifest.config.size, repository: reference.repository, client: client, progress: nil)
        }
        let configFile = try ReadableFile(path: cache.path(configDigest))
        let skeleton = try openSkeleton(configFile, cache: cache, name: reference.description)
        let layout = RegistryLayout(skeleton)
        try layout.check(manifest, reference: reference.description)
        if let root = manifest.annotations?[AnnotationKey.rootDigest], root != skeleton.rootDigest.description {
            throw ImagePackError(.manifestInvalid, "the manifest of \(reference) says root digest \(root), its config \(skeleton.rootDigest)", field: "annotations")
        }
        return RemoteImage(reference: reference, manifestDigest: digest, manifest: manifest, skeleton: skeleton, layout: layout, configFile: configFile)
    }

    /// Lays the config out as a sparse file of the image's length and opens it.
    /// - Parameter keepWriter: receives a descriptor open for writing on the same (unnamed) file,
    ///   through which chunk records can be filled in later (``LazyRemoteImage``).
    static func openSkeleton(_ config: ReadableFile, cache: BlobCache, name: String, keepWriter: ((BlobFileWriter) -> Void)? = nil) throws(ImagePackError) -> ImageReader {
        guard let configLength = config.size, configLength >= UInt64(64 + 96) else {
            throw ImagePackError(.manifestInvalid, "the config of \(name) is too short to hold an image's header and footer", field: "config")
        }
        let headLength = try headLength(of: config, configLength: configLength, name: name)
        let tailLength = configLength - headLength
        let footer = try config.read(at: configLength - 96, count: 96)
        let fileLength = footer[32..<40].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard fileLength >= configLength else {
            throw ImagePackError(.manifestInvalid, "the config of \(name) says the image is \(fileLength) bytes, shorter than the config itself", field: "config")
        }
        let path = cache.directory + "/skeleton-\(system_getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let writer = try BlobFileWriter(path: path, truncate: true)
        defer { _ = system_unlink(path) }
        do throws(ImagePackError) {
            for (from, to, count) in [(UInt64(0), UInt64(0), headLength), (headLength, fileLength - tailLength, tailLength)] {
                writer.position = to
                try config.forEachPiece(of: from..<(from + count)) { (piece, _) throws(ImagePackError) in try writer.write(piece) }
            }
            if let keepWriter { keepWriter(writer) } else { writer.close() }
        } catch {
            writer.close()
            throw error
        }
        // Opened before the name goes: the reader keeps the sparse file through its descriptor.
        do {
            return try ImageReader(readable: try ReadableFile(path: path))
        } catch {
            throw error.replacing(path: name)
        }
    }

    /// The head's length: the header, then META and STRM (and PRNT when the header's critical
    /// feature `parent` is set), each record as long as its envelope says (spec/REGISTRY.md §3).
    static func headLength(of config: ReadableFile, configLength: UInt64, name: String) throws(ImagePackError) -> UInt64 {
        func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 { bytes[at..<(at + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        let header = try config.read(at: 0, count: 64)
        let parent = u64(header, 16) & 1 != 0
        var position: UInt64 = 64
        for _ in 0..<(parent ? 3 : 2) {
            guard position + 16 <= configLength else {
                throw ImagePackError(.manifestInvalid, "the config of \(name) ends inside its head records", field: "config")
            }
            let envelope = try config.read(at: position, count: 16)
            let (next, overflow) = position.addingReportingOverflow(16 &+ u64(envelope, 8))
            guard !overflow, next <= configLength - 96 else {
                throw ImagePackError(.manifestInvalid, "the config of \(name) has a head record longer than the config", field: "config")
            }
            position = next
        }
        return position
    }
}
