import Foundation
import ImagePack

/// An OCI content descriptor (image-spec `descriptor.md`): what a manifest says about a blob.
public struct OCIDescriptor: Codable, Sendable, Equatable {
    public var mediaType: String
    public var digest: String
    public var size: Int64
    public var annotations: [String: String]?
    public var artifactType: String?

    public init(mediaType: String, digest: String, size: Int64, annotations: [String: String]? = nil, artifactType: String? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.artifactType = artifactType
    }
}

/// An OCI image manifest (image-spec 1.1 `manifest.md`), as far as ImagePack writes and reads one.
public struct OCIManifest: Codable, Sendable, Equatable {
    public var schemaVersion = 2
    public var mediaType: String? = MediaType.ociManifest
    public var artifactType: String?
    public var config: OCIDescriptor
    public var layers: [OCIDescriptor]
    public var subject: OCIDescriptor?
    public var annotations: [String: String]?

    public init(artifactType: String?, config: OCIDescriptor, layers: [OCIDescriptor], subject: OCIDescriptor? = nil, annotations: [String: String]? = nil) {
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.subject = subject
        self.annotations = annotations
    }

    /// The manifest's bytes: keys sorted, no whitespace, so that the same image always gives the
    /// same manifest digest (spec/REGISTRY.md §2).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain structs cannot fail.
        return Array(try! encoder.encode(self))
    }

    /// Parses a manifest the registry sent.
    /// - Throws: `.manifestInvalid` naming what is wrong.
    public static func decode(_ bytes: [UInt8], reference: String) throws(ImagePackError) -> OCIManifest {
        do {
            return try JSONDecoder().decode(OCIManifest.self, from: Data(bytes))
        } catch {
            throw ImagePackError(.manifestInvalid, "the manifest of \(reference) is not an OCI image manifest ImagePack can read: \(error)", field: "manifest")
        }
    }
}

/// The media types and annotation keys of spec/REGISTRY.md.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let ociEmpty = "application/vnd.oci.empty.v1+json"
    public static let image = "application/vnd.imagepack.image.v1"
    public static let config = "application/vnd.imagepack.config.v1"
    public static let chunks = "application/vnd.imagepack.chunks.v1"
    public static let signatures = "application/vnd.imagepack.signatures.v1"
    public static let signRecords = "application/vnd.imagepack.sign-records.v1"
}

public enum AnnotationKey {
    public static let rootDigest = "org.imagepack.root-digest"
    public static let fileLength = "org.imagepack.file-length"
    public static let parentDigest = "org.imagepack.parent-digest"
    public static let fileOffset = "org.imagepack.file-offset"
    public static let entries = "org.imagepack.entries"
    public static let keyIDs = "org.imagepack.key-ids"
}

/// The OCI empty blob `{}`, the config of an artifact that needs none (image-spec 1.1).
enum EmptyBlob {
    static let bytes: [UInt8] = Array("{}".utf8)
    static var digest: String { Digest.sha256(bytes).description }
    static var descriptor: OCIDescriptor { OCIDescriptor(mediaType: MediaType.ociEmpty, digest: digest, size: 2) }
}

extension RegistryLayout {
    /// The image manifest for this layout, given the blobs' digests (spec/REGISTRY.md §2).
    func manifest(configDigest: Digest, layerDigests: [Digest], rootDigest: Digest, parentDigest: Digest?) -> OCIManifest {
        var annotations = [AnnotationKey.rootDigest: rootDigest.description, AnnotationKey.fileLength: String(fileLength)]
        if let parentDigest { annotations[AnnotationKey.parentDigest] = parentDigest.description }
        let layerDescriptors = zip(layers, layerDigests).map { layer, digest in
            OCIDescriptor(
                mediaType: MediaType.chunks, digest: digest.description, size: Int64(layer.length),
                annotations: [AnnotationKey.fileOffset: String(layer.offset), AnnotationKey.entries: "\(layer.firstEntry)-\(layer.lastEntry)"])
        }
        return OCIManifest(
            artifactType: MediaType.image,
            config: OCIDescriptor(mediaType: MediaType.config, digest: configDigest.description, size: Int64(configLength)),
            layers: layerDescriptors, annotations: annotations)
    }

    /// Checks that `manifest`'s layers are exactly this layout's (spec/REGISTRY.md §5, step 3).
    /// - Throws: `.manifestInvalid` naming the first disagreement.
    func check(_ manifest: OCIManifest, reference: String) throws(ImagePackError) {
        func fail(_ why: String) -> ImagePackError {
            ImagePackError(.manifestInvalid, "the manifest of \(reference) does not match its config: \(why); it was not pushed by imgpack push, or was altered", field: "layers")
        }
        guard manifest.layers.count == layers.count else { throw fail("\(manifest.layers.count) layers where the index makes \(layers.count)") }
        for (i, (d, l)) in zip(manifest.layers, layers).enumerated() {
            guard d.mediaType == MediaType.chunks else { throw fail("layer \(i) has media type \(d.mediaType)") }
            guard d.size == Int64(l.length) else { throw fail("layer \(i) is \(d.size) bytes where the index makes \(l.length)") }
            if let a = d.annotations {
                if let o = a[AnnotationKey.fileOffset], o != String(l.offset) { throw fail("layer \(i) says file offset \(o), the index \(l.offset)") }
                if let e = a[AnnotationKey.entries], e != "\(l.firstEntry)-\(l.lastEntry)" { throw fail("layer \(i) says entries \(e), the index \(l.firstEntry)-\(l.lastEntry)") }
            }
            guard Digest(hex: d.digest) != nil, d.digest.hasPrefix("sha256:") else { throw fail("layer \(i) has digest \(d.digest), not sha256:HEX") }
        }
    }
}
