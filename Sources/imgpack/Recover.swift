import ArgumentParser
import ImagePack

/// `imgpack recover`: salvage the verifiable chunks of a damaged or truncated image.
struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Salvage every verifiable chunk of a damaged or truncated image into raw files.",
        discussion: """
            The records are walked from the start of the image (spec §12.3), as validate walks \
            them; every chunk whose payload decodes and matches its digest is written to \
            DIR/NAME.raw, one sparse file per stream of the stream table. The report lists, for \
            each stream, the ranges no verified chunk covers: their content is UNKNOWN, not \
            zero (without the index, zero chunks cannot be told from lost ones; the files have \
            holes there), the chunks that failed verification, and whether the index and \
            footer were found.

            For a delta, parent and zstd-patch chunks are recovered through its parents \
            (--parent, --parent-dir, matched by root digest); without them their ranges are \
            reported missing.

            The files appear together once the walk is over; an existing file is never \
            replaced without --force. Exit status 0 when every byte was recovered, 1 when \
            ranges are missing.

            EXAMPLE
              imgpack recover cut.ipk -o salvaged
            """)

    @Argument(help: ArgumentHelp("The damaged image file.", valueName: "image"), completion: .file())
    var image: String

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("Directory for the raw files (created if needed).", valueName: "dir"), completion: .directory)
    var directory: String

    @Flag(help: "Replace existing files.")
    var force = false

    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if image == "-" { throw ValidationError("recover needs random access to a file: save standard input to a file first.") }
    }

    func run() throws {
        let created = try Extract.makeDirectory(directory)
        let report: RecoveryReport
        do {
            report = try ImageRecovery.recover(path: image, to: directory, overwrite: force, options: ReadOptions(threads: threads.threads, cancellation: Interrupts.install(), parents: try parents.open()))
        } catch {
            if created { _ = system_rmdir(directory) }
            throw error
        }
        if json.json {
            try printJSON(RecoverJSONReport(report: report))
        } else {
            print(Self.text(report), terminator: "")
        }
        if !report.isComplete {
            let missing = report.streams.reduce(UInt64(0)) { $0 + $1.missingBytes }
            throw CommandFailure(.invalidImage, "\(image): \(ByteCount.format(missing)) (\(missing) bytes) could not be recovered; those ranges are unknown, not zero", reported: json.json)
        }
    }

    static func text(_ r: RecoveryReport) -> String {
        var lines: [String] = []
        lines.append("recovered from \(r.path): index \(r.indexFound ? "found" : "NOT found"), footer \(r.footerFound ? "found" : "NOT found")")
        for s in r.streams {
            let recovered = s.logicalSize - s.missingBytes
            lines.append("  \(s.name) → \(s.path): \(ByteCount.format(recovered)) of \(ByteCount.format(s.logicalSize)) recovered (\(s.chunksRecovered) chunks verified)")
            if !s.missing.isEmpty {
                lines.append("    missing, content UNKNOWN (not zero; holes in the file):")
                for m in s.missing { lines.append("      \(m.offset)..<\(m.offset + m.length) (\(ByteCount.format(m.length)))") }
            }
        }
        if !r.failedChunks.isEmpty {
            lines.append("  chunks that failed verification:")
            for e in r.failedChunks { lines.append("    \(e.description)") }
        }
        lines.append(r.isComplete ? "every byte recovered" : "INCOMPLETE: the ranges above are missing")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `recover --json`: the library's report with the CLI's schema number.
struct RecoverJSONReport: Encodable {
    var report: RecoveryReport

    enum CodingKeys: String, CodingKey { case schema, path, indexFound, footerFound, complete, streams, failedChunks, problems }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(1, forKey: .schema)
        try c.encode(report.path, forKey: .path)
        try c.encode(report.indexFound, forKey: .indexFound)
        try c.encode(report.footerFound, forKey: .footerFound)
        try c.encode(report.isComplete, forKey: .complete)
        try c.encode(report.streams, forKey: .streams)
        try c.encode(report.failedChunks, forKey: .failedChunks)
        try c.encode(report.problems, forKey: .problems)
    }
}
