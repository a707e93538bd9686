import ArgumentParser
import ImagePack
import ImagePackRegistry

/// `imgpack copy-remote`: an image from one registry reference to another.
///
/// A verb of its own rather than `copy REF1 REF2`: `copy IMAGE -o FILE` takes local paths, and
/// `localhost:5000/team/web:1` is as valid a relative path as a reference, so guessing from the
/// spelling would be ambiguous; `copy-remote` and `ls-remote` say plainly that they talk to a registry.
struct CopyRemote: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy-remote",
        abstract: "Copy an image between registries or repositories; only missing blobs travel.",
        discussion: """
            Blobs the destination already has are skipped; within one registry they are mounted \
            from the source repository; the rest stream from source to destination without \
            touching the disk. The manifest is copied unchanged, so REF2@digest names the same \
            image as REF1@digest; the signature tag comes along. The same credentials options \
            apply to both registries (auth.json entries are looked up per registry).
            """)

    @Argument(help: ArgumentHelp("The image to copy: HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST].", valueName: "ref1"))
    var source: String

    @Argument(help: ArgumentHelp("Where to: HOST[:PORT]/REPOSITORY[:TAG] (the source's tag by default).", valueName: "ref2"))
    var destination: String

    @OptionGroup var registry: RegistryOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        _ = try registryReference(source)
        _ = try registryReference(destination)
    }

    func run() throws {
        let from = try registryReference(source)
        let to = try registryReference(destination)
        let cancellation = Interrupts.install()
        let password = try registry.readPassword()
        let sourceClient = try registry.client(for: from.registry, password: password)
        let destinationClient = from.registry == to.registry ? sourceClient : try registry.client(for: to.registry, password: password)
        let bar = ProgressBar("copy", quiet: global.quiet)
        let progress = transferProgress(bar)
        let summary: RemoteCopySummary
        do {
            defer { bar.finish() }
            summary = try runRegistryWork(cancellation: cancellation, closing: [sourceClient, destinationClient]) { () throws(ImagePackError) -> RemoteCopySummary in
                try await RegistryCopier.copy(from, sourceClient: sourceClient, to: to, destinationClient: destinationClient, progress: progress)
            }
        }
        if json.json {
            try printJSON(CopyRemoteJSONReport(
                source: from.description, destination: to.description, manifestDigest: summary.manifestDigest, blobsCopied: summary.blobsCopied,
                bytesCopied: summary.bytesCopied, blobsMounted: summary.blobsMounted, blobsPresent: summary.blobsPresent, signatureTag: summary.signatureTag))
        } else {
            print("copied \(from) to \(to)@\(summary.manifestDigest)")
            print("  copied \(summary.blobsCopied) blobs (\(ByteCount.format(summary.bytesCopied))), mounted \(summary.blobsMounted), \(summary.blobsPresent) already there")
            if let tag = summary.signatureTag { print("  signatures: \(to.with(tag: tag))") }
        }
    }
}

/// `copy-remote --json`.
struct CopyRemoteJSONReport: Encodable {
    var schema = 1
    var source: String
    var destination: String
    var manifestDigest: String
    var blobsCopied: Int
    var bytesCopied: UInt64
    var blobsMounted: Int
    var blobsPresent: Int
    var signatureTag: String?
}
