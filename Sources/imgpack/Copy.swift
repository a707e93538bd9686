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

            --region R gives the copy another region in its catalogue (format 1.2 images: the \
            catalogue is outside the root digest, so the root digest and the signatures stay \
            valid); only the catalogue record and the footer differ from the original.

            With IMAGE - the image is read once from standard input and checked as it streams \
            (every chunk, the index, the root digest, the signatures' structure); with OUTPUT - \
            the bytes are passed to standard output unchanged. The last 96 bytes, the footer, \
            are written only once the whole image checked out: on any error they are withheld, \
            so what was written is an incomplete image that every reader refuses, and the exit \
            status is non-zero. A file OUTPUT appears only on success. A stream is copied \
            verbatim: --codec and --region need a file IMAGE and OUTPUT.

            With --trusted-key or --trust-dir, the image must be signed by a trusted key; \
            otherwise nothing is published (exit status 5), or for OUTPUT - the footer is \
            withheld.
            """)

    @Argument(help: ArgumentHelp("The image file; - for standard input.", valueName: "image"), completion: .file())
    var image: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the copy; - for standard output.", valueName: "file"), completion: .file())
    var output: String

    @Option(help: "Re-encode data chunks with this codec (default: copy them as they are).")
    var codec: CodecChoice?

    @Option(help: ArgumentHelp("Codec level, with --codec (zstd 1-19, zlib 1-9).", valueName: "n"))
    var level: Int?

    @Option(help: ArgumentHelp("The copy's region, set in its catalogue (format 1.2 images).", valueName: "region"))
    var region: String?

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @OptionGroup var trust: TrustOptions
    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if image == "-" || output == "-" {
            // A stream is passed through as it is read: re-encoding or a new catalogue would
            // rewrite bytes already handed on, and the footer that vouches for them.
            if codec != nil { throw ValidationError("--codec needs a file IMAGE and OUTPUT: a stream is copied verbatim, as it is read; copy to a file first, then re-encode that.") }
            if region != nil { throw ValidationError("--region needs a file IMAGE and OUTPUT: a stream is copied verbatim, as it is read; copy to a file first, then give that a region.") }
        }
        if output == "-" && json.json { throw ValidationError("--json prints to standard output, which is the copy with -o -: leave out --json.") }
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
            // Key files are read first: a bad key is a usage error before any long work.
            let policy = try trust.policy()
            let options = ReadOptions(threads: threads.threads, cancellation: cancellation, progress: bar.handler, parents: try parents.open())
            if output == "-" {
                summary = try ImageCopier.copy(streamFrom: image, to: DescriptorSink.standardOutput(), trust: policy, options: options)
            } else if image == "-" {
                summary = try ImageCopier.copy(streamFrom: image, toFile: output, overwrite: force, trust: policy, options: options)
            } else {
                summary = try ImageCopier.copy(
                    imageAt: image, toFile: output, codec: codec?.codec, level: level, region: region, overwrite: force, trust: policy, options: options)
            }
        }
        let seconds = Terminal.now() - start
        if json.json {
            try printJSON(CopyJSONReport(image: image, output: output, rootDigest: summary.rootDigest.description, fileLength: summary.fileLength, reencoded: summary.reencoded, signatures: summary.signatureCount, bytesChecked: summary.bytesChecked, seconds: (seconds * 1000).rounded() / 1000))
        } else {
            let line = "copied \(image == "-" ? "standard input" : image) to \(output == "-" ? "standard output" : output): \(summary.reencoded ? "re-encoded" : "chunks copied verbatim"), \(ByteCount.format(summary.bytesChecked)) checked; root \(summary.rootDigest); \(summary.signatureCount) signature\(summary.signatureCount == 1 ? "" : "s") kept"
            // A summary, as pack's: on standard error (with -o - standard output is the image),
            // nothing with --quiet.
            if !global.quiet { Terminal.note(line) }
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
