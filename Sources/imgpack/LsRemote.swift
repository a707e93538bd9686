import ArgumentParser
import ImagePack
import ImagePackRegistry

/// `imgpack ls-remote`: what an image in a registry is, from its manifest and config alone.
struct LsRemote: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls-remote",
        abstract: "Show an image in a registry (metadata, streams, layers, signatures) without pulling it.",
        discussion: """
            Reads the manifest and the config blob only (the image's head and tail: metadata, \
            stream table, index, signatures), checks them as info checks a file, and shows the \
            image. With --tags, lists the repository's tags instead.
            """)

    @Argument(help: ArgumentHelp("The image: HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST].", valueName: "ref"))
    var reference: String

    @Flag(help: "List the repository's tags.")
    var tags = false

    @OptionGroup var trust: TrustOptions
    @OptionGroup var registry: RegistryOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        _ = try registryReference(reference)
    }

    func run() throws {
        let ref = try registryReference(reference)
        let cancellation = Interrupts.install()
        let policy = try trust.policy()
        let client = try registry.client(for: ref.registry, password: try registry.readPassword())
        if tags {
            let list = try runRegistryWork(cancellation: cancellation, closing: [client]) { () throws(ImagePackError) -> [String] in
                try await client.tags(ref.repository)
            }
            if json.json { try printJSON(list) } else { for tag in list { print(tag) } }
            return
        }
        let cache = try registry.blobCache()
        let remote = try runRegistryWork(cancellation: cancellation, closing: [client]) { () throws(ImagePackError) -> RemoteImage in
            try await RemoteImage.open(ref, client: client, cache: cache)
        }
        let image = remote.skeleton
        let signatures = SignatureReport.list(image.signatures, rootDigest: image.rootDigest, policy: policy)
        let streams = streamReports(streams: image.streams, entries: image.entries)
        let layers = zip(remote.layout.layers, remote.manifest.layers).map { l, d in
            RemoteLayerReport(digest: d.digest, size: l.length, fileOffset: l.offset, entries: "\(l.firstEntry)-\(l.lastEntry)")
        }
        if json.json {
            try printJSON(LsRemoteJSONReport(
                reference: ref.description, manifestDigest: remote.manifestDigest, rootDigest: image.rootDigest.description,
                parentDigest: image.parentDigest?.description, fileLength: image.fileLength, configSize: remote.layout.configLength,
                metadata: image.metadata, streams: streams, layers: layers, signatures: signatures))
        } else {
            print("\(ref)@\(remote.manifestDigest)")
            print("  root digest  \(image.rootDigest)")
            if let parent = image.parentDigest { print("  delta on     \(parent)") }
            print("  file         \(ByteCount.format(image.fileLength)) (config \(ByteCount.format(remote.layout.configLength)), \(layers.count) layers)")
            print("  streams")
            for s in image.streams { print("    \(s.name)  \(s.kind)  \(ByteCount.format(s.logicalSize))") }
            print("  signatures   \(signatures.isEmpty ? "none" : signatures.map { "\($0.keyID.prefix(16))… \($0.status ?? "")" }.joined(separator: ", "))")
        }
        if let policy { _ = try policy.check(image.signatures, rootDigest: image.rootDigest, path: ref.description) }
    }
}

struct RemoteLayerReport: Encodable {
    var digest: String
    var size: UInt64
    var fileOffset: UInt64
    var entries: String
}

/// `ls-remote --json`.
struct LsRemoteJSONReport: Encodable {
    var schema = 1
    var reference: String
    var manifestDigest: String
    var rootDigest: String
    var parentDigest: String?
    var fileLength: UInt64
    var configSize: UInt64
    var metadata: ImageMetadata
    var streams: [StreamReport]
    var layers: [RemoteLayerReport]
    var signatures: [SignatureReport]
}
