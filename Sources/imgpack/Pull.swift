import ArgumentParser
import ImagePack
import ImagePackRegistry

/// `imgpack pull`: an image from an OCI registry into a file, byte-identical to the one pushed.
struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pull an image from an OCI registry into a file, verified before it appears.",
        discussion: """
            Every layer is checked against its digest and every chunk of the assembled file is \
            verified (CRC, decode, content digest) before OUTPUT appears; the file is the one that \
            was pushed, byte for byte, signatures included. With --trusted-key or --trust-dir an \
            image no trusted key signed is refused before anything is downloaded (exit 5). With \
            --parent, layers whose chunk records a local image already holds are rebuilt from it \
            instead of downloaded (a delta is also verified with its parents). An interrupted pull \
            keeps its partial downloads in the cache and continues them with HTTP range requests \
            when run again; kept bytes are hashed again.
            """)

    @Argument(help: ArgumentHelp("What to pull: HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST].", valueName: "ref"))
    var reference: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the image.", valueName: "file"), completion: .file())
    var output: String

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @Flag(help: "Keep the downloaded layers in the cache after OUTPUT is written.")
    var keepBlobs = false

    @OptionGroup var parents: ParentOptions
    @OptionGroup var trust: TrustOptions
    @OptionGroup var registry: RegistryOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        _ = try registryReference(reference)
        if output == "-" { throw ValidationError("pull writes a file; to stream the image, pull it and then use imgpack cat.") }
    }

    func run() throws {
        let ref = try registryReference(reference)
        let cancellation = Interrupts.install()
        let policy = try trust.policy()
        let local = try parents.open()
        let client = try registry.client(for: ref.registry, password: try registry.readPassword())
        let cache = try registry.blobCache()
        let bar = ProgressBar("pull", quiet: global.quiet)
        let progress = transferProgress(bar)
        let options = PullOptions(
            overwrite: force, localImages: local, trust: policy, keepBlobs: keepBlobs,
            read: ReadOptions(threads: threads.threads, cancellation: cancellation))
        let output = self.output
        let start = Terminal.now()
        let summary: PullSummary
        do {
            defer { bar.finish() }
            summary = try runRegistryWork(cancellation: cancellation, closing: [client]) { () throws(ImagePackError) -> PullSummary in
                try await ImagePuller.pull(ref, toFile: output, client: client, cache: cache, options: options, progress: progress)
            }
        }
        let seconds = Terminal.now() - start
        if json.json {
            try printJSON(PullJSONReport(
                reference: ref.description, output: output, manifestDigest: summary.manifestDigest, rootDigest: summary.rootDigest.description,
                fileLength: summary.fileLength, layers: summary.layerCount, layersDownloaded: summary.layersDownloaded,
                bytesDownloaded: summary.bytesDownloaded, bytesResumed: summary.bytesResumed, layersRebuilt: summary.layersRebuilt,
                layersFromCache: summary.layersFromCache, signatures: summary.signatureCount, seconds: (seconds * 1000).rounded() / 1000))
        } else {
            // A summary of a written file, as pack's and copy's: standard error, nothing with --quiet.
            guard !global.quiet else { return }
            var parts = ["\(summary.layerCount) layers", "downloaded \(summary.layersDownloaded) (\(ByteCount.format(summary.bytesDownloaded)))"]
            if summary.bytesResumed > 0 { parts.append("resumed \(ByteCount.format(summary.bytesResumed)) kept from an earlier run") }
            if summary.layersRebuilt > 0 { parts.append("rebuilt \(summary.layersRebuilt) from local images") }
            if summary.layersFromCache > 0 { parts.append("\(summary.layersFromCache) from the cache") }
            Terminal.note(
                "pulled \(ref)@\(summary.manifestDigest) to \(output): \(ByteCount.format(summary.fileLength)), every chunk verified\n"
                    + "  " + parts.joined(separator: ", ") + "\n"
                    + "  root \(summary.rootDigest); \(summary.signatureCount) signature\(summary.signatureCount == 1 ? "" : "s")")
        }
    }
}

/// `pull --json`.
struct PullJSONReport: Encodable {
    var schema = 1
    var reference: String
    var output: String
    var manifestDigest: String
    var rootDigest: String
    var fileLength: UInt64
    var layers: Int
    var layersDownloaded: Int
    var bytesDownloaded: UInt64
    var bytesResumed: UInt64
    var layersRebuilt: Int
    var layersFromCache: Int
    var signatures: Int
    var seconds: Double
}
