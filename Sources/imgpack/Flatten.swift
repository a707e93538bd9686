import ArgumentParser
import ImagePack

/// `imgpack flatten`: a delta and its parents in, one full image of the same state out.
struct Flatten: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a delta image as a full image that needs no parent.",
        discussion: """
            Every chunk is read through the delta's parents (given with --parent or \
            --parent-dir, matched by root digest) and verified, then written again with the \
            delta's chunk size, so the full image has the delta's root digest: the same state, \
            stored whole.

            EXAMPLE
              imgpack flatten mon.ipk --parent sun.ipk --parent sat.ipk -o mon-full.ipk
            """)

    @Argument(help: ArgumentHelp("The delta image.", valueName: "image"), completion: .file())
    var image: String

    @OptionGroup(title: "Parents") var parents: ParentOptions

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the full image.", valueName: "file"), completion: .file())
    var output: String

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @Flag(help: "Flush the image to stable storage before publishing it.")
    var sync = false

    @Option(help: "Codec for data chunks.")
    var codec: CodecChoice = .zstd

    @Option(help: ArgumentHelp("Codec level (zstd 1-19, default 3; zlib 1-9, default 6).", valueName: "n"))
    var level: Int?

    @OptionGroup var threads: ThreadOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if image == "-" || output == "-" { throw ValidationError("flatten reads and writes files: the delta needs random access to its parents.") }
        do {
            try WriterOptions(codec: codec.codec, level: level, threads: 1).validate()
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() throws {
        let cancellation = Interrupts.install()
        let reader = try ImageReader(path: image, parents: try parents.open())
        var options = WriterOptions(codec: codec.codec, level: level, chunkSize: Int(reader.chunkSize), threads: threads.threads)
        // The delta's layout: a 1.0 image's catalogue is in its root digest, which must not change.
        options.catalogue = reader.hasCatalogueRecord
        options.cancellation = cancellation
        let bar = ProgressBar("flatten", quiet: global.quiet)
        let summary: WriteSummary
        do {
            defer { bar.finish() }
            summary = try ImageWriter.write(SystemState(image: reader), toFile: output, overwrite: force, sync: sync, options: options, progress: bar.handler)
        }
        let report = FlattenReport(output: output, rootDigest: summary.rootDigest.description, fileLength: summary.fileLength, logicalBytes: summary.logicalBytes)
        if json.json {
            try printJSON(report)
        } else if !global.quiet {
            Terminal.writeError("imgpack: wrote \(output)\n  root digest  \(report.rootDigest) (the delta's)\n  image        \(ByteCount.format(summary.fileLength)) (\(summary.fileLength) bytes) for \(ByteCount.format(summary.logicalBytes))\n")
        }
    }
}

/// `flatten --json`.
struct FlattenReport: Encodable {
    var schema = 1
    var output: String
    var rootDigest: String
    var fileLength: UInt64
    var logicalBytes: UInt64
}
