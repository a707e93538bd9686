import ArgumentParser
import ImagePack

/// `imgpack rebase`: a delta on one parent in, the same state as a delta on another parent out.
struct Rebase: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a delta again as a delta on another parent image.",
        discussion: """
            The delta is read through its own parents (--parent, --parent-dir) and written as a \
            delta on --onto: chunks NEW holds at the same place become parent chunks, the others \
            are compressed (against NEW's chunk where that is smaller). The state is the same, so \
            the root digest is the delta's. NEW's own parents come from --parent and --parent-dir \
            too. The chunk size stays the delta's and must be NEW's.

            EXAMPLE
              imgpack rebase tue.ipk --parent mon.ipk --parent sun.ipk --onto sun.ipk -o tue-on-sun.ipk
            """)

    @Argument(help: ArgumentHelp("The delta image.", valueName: "image"), completion: .file())
    var image: String

    @OptionGroup(title: "Parents") var parents: ParentOptions

    @Option(help: ArgumentHelp("The new parent image.", valueName: "file"), completion: .file())
    var onto: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the new delta.", valueName: "file"), completion: .file())
    var output: String

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @OptionGroup var threads: ThreadOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if image == "-" || output == "-" || onto == "-" { throw ValidationError("rebase reads and writes files.") }
    }

    func run() throws {
        let cancellation = Interrupts.install()
        let pool = try parents.open()
        let reader = try ImageReader(path: image, parents: pool)
        let newParent = try ImageReader(path: onto, parents: pool)
        guard newParent.chunkSize == reader.chunkSize else {
            throw ValidationError("--onto \(onto) has \(newParent.chunkSize)-byte chunks and the delta \(reader.chunkSize)-byte ones: a delta's chunks line up with its parent's.")
        }
        var options = WriterOptions(chunkSize: Int(reader.chunkSize), threads: threads.threads)
        // The delta's layout: a 1.0 image's catalogue is in its root digest, which must not change.
        options.catalogue = reader.hasCatalogueRecord
        options.parent = newParent
        options.cancellation = cancellation
        let bar = ProgressBar("rebase", quiet: global.quiet)
        let summary: WriteSummary
        do {
            defer { bar.finish() }
            summary = try ImageWriter.write(SystemState(image: reader), toFile: output, overwrite: force, options: options, progress: bar.handler)
        }
        let report = FlattenReport(output: output, rootDigest: summary.rootDigest.description, fileLength: summary.fileLength, logicalBytes: summary.logicalBytes)
        if json.json {
            try printJSON(report)
        } else if !global.quiet {
            Terminal.writeError("imgpack: wrote \(output), a delta on \(newParent.rootDigest)\n  root digest  \(report.rootDigest) (the delta's)\n  image        \(ByteCount.format(summary.fileLength)) (\(summary.fileLength) bytes)\n")
        }
    }
}
