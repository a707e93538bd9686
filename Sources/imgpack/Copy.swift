import ArgumentParser
import ImagePack

/// `imgpack copy`: a checked copy of an image, optionally re-encoded, with the same identity.
struct Copy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy an image, checking every chunk; the root digest and signatures are kept.",
        discussion: """
            Without --codec the image's bytes are copied by the kernel and the copy is then \
            opened and every chunk of it verified (CRC, decode, digest) in parallel before it \
            appears at OUTPUT: about the cost of reading the image once. With --codec (and \
            --level) every chunk is decoded, verified and re-encoded in parallel with the image's \
            chunk size, so the root digest stays the same. Signatures sign the root digest and \
            are carried over unchanged. OUTPUT appears only once complete and verified.

            A delta stays a delta on the same parent. Its parent and zstd-patch chunks are \
            verified too, through its parents (--parent, --parent-dir, matched by root digest): \
            a delta given without them is refused (V49), not copied unchecked.
            """)

    @Argument(help: ArgumentHelp("The image file.", valueName: "image"), completion: .file())
    var image: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the copy.", valueName: "file"), completion: .file())
    var output: String

    @Option(help: "Re-encode data chunks with this codec (default: copy them as they are).")
    var codec: CodecChoice?

    @Option(help: ArgumentHelp("Codec level, with --codec (zstd 1-19, zlib 1-9).", valueName: "n"))
    var level: Int?

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if image == "-" || output == "-" { throw ValidationError("copy reads and writes files; to stream an image, use cat or a pipe with `imgpack verify -`.") }
        if let level {
            guard let codec else { throw ValidationError("--level goes with --codec.") }
            let levels = codec.codec.levels
            guard levels.contains(level) else { throw ValidationError("--level \(level) is not valid for \(codec.rawValue) (\(levels.lowerBound)-\(levels.upperBound)).") }
        }
    }

    func run() throws {
        let cancellation = Interrupts.install()
        let bar = ProgressBar("copy", quiet: global.quiet)
        let start = Terminal.now()
        let summary: CopySummary
        do {
            defer { bar.finish() }
            summary = try ImageCopier.copy(
                imageAt: image, toFile: output, codec: codec?.codec, level: level, overwrite: force,
                options: ReadOptions(threads: threads.threads, cancellation: cancellation, progress: bar.handler, parents: try parents.open()))
        }
        let seconds = Terminal.now() - start
        if json.json {
            try printJSON(CopyJSONReport(image: image, output: output, rootDigest: summary.rootDigest.description, fileLength: summary.fileLength, reencoded: summary.reencoded, signatures: summary.signatureCount, bytesChecked: summary.bytesChecked, seconds: (seconds * 1000).rounded() / 1000))
        } else {
            print("copied \(image) to \(output): \(summary.reencoded ? "re-encoded" : "chunks copied verbatim"), \(ByteCount.format(summary.bytesChecked)) checked; root \(summary.rootDigest); \(summary.signatureCount) signature\(summary.signatureCount == 1 ? "" : "s") kept")
        }
    }
}

/// `copy --json`.
struct CopyJSONReport: Encodable {
    var schema = 1
    var image: String
    var output: String
    var rootDigest: String
    var fileLength: UInt64
    var reencoded: Bool
    var signatures: Int
    var bytesChecked: UInt64
    var seconds: Double
}
