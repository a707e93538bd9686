import ArgumentParser
import ImagePack
import ImagePackRegistry

/// `imgpack push`: an image file into an OCI registry (spec/REGISTRY.md).
struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Push an image to an OCI registry; only layers the registry lacks are uploaded.",
        discussion: """
            The image becomes an OCI manifest whose config is the file's head and tail (metadata, \
            stream table, index, signatures) and whose layers are groups of its chunk records, cut \
            by content, so a new version of an image shares every unchanged group with the old \
            one (spec/REGISTRY.md). Zero chunks have no record and are never uploaded. Blobs the \
            registry already has are skipped, so an interrupted push run again continues where it \
            stopped. A signed image's signatures are also published under the cosign-style tag \
            sha256-<manifest digest>.sig.
            """)

    @Argument(help: ArgumentHelp("The image file.", valueName: "image"), completion: .file())
    var image: String

    @Argument(help: ArgumentHelp("Where to push: HOST[:PORT]/REPOSITORY[:TAG] (tag latest by default).", valueName: "ref"))
    var reference: String

    @OptionGroup var registry: RegistryOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        _ = try registryReference(reference)
    }

    func run() throws {
        let ref = try registryReference(reference)
        let cancellation = Interrupts.install()
        let client = try registry.client(for: ref.registry, password: try registry.readPassword())
        let bar = ProgressBar("push", quiet: global.quiet)
        let progress = transferProgress(bar)
        let image = self.image
        let start = Terminal.now()
        let summary: PushSummary
        do {
            defer { bar.finish() }
            summary = try runRegistryWork(cancellation: cancellation, closing: [client]) { () throws(ImagePackError) -> PushSummary in
                try await ImagePusher.push(imageAt: image, to: ref, client: client, progress: progress)
            }
        }
        let seconds = Terminal.now() - start
        if json.json {
            try printJSON(PushJSONReport(
                reference: summary.reference.description, manifestDigest: summary.manifestDigest, rootDigest: summary.rootDigest.description,
                layers: summary.layerCount, blobsUploaded: summary.blobsUploaded, bytesUploaded: summary.bytesUploaded,
                blobsPresent: summary.blobsPresent, bytesPresent: summary.bytesPresent, signatureTag: summary.signatureTag,
                seconds: (seconds * 1000).rounded() / 1000))
        } else {
            print("pushed \(image) to \(summary.reference)@\(summary.manifestDigest)")
            print("  \(summary.layerCount) layers; uploaded \(summary.blobsUploaded) blobs (\(ByteCount.format(summary.bytesUploaded))), \(summary.blobsPresent) already there (\(ByteCount.format(summary.bytesPresent)))")
            print("  root \(summary.rootDigest)")
            if let tag = summary.signatureTag { print("  signatures: \(summary.reference.with(tag: tag))") }
        }
    }
}

/// `push --json`.
struct PushJSONReport: Encodable {
    var schema = 1
    var reference: String
    var manifestDigest: String
    var rootDigest: String
    var layers: Int
    var blobsUploaded: Int
    var bytesUploaded: UInt64
    var blobsPresent: Int
    var bytesPresent: UInt64
    var signatureTag: String?
    var seconds: Double
}
