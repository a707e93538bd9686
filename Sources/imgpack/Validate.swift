import ArgumentParser
import ImagePack

/// `imgpack validate`: does the image follow every rule of the format, and if not, what is wrong?
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an image against every rule of the format and list every problem found.",
        discussion: """
            Unlike verify, which stops at the first structural problem, validate keeps going: a \
            damaged checksum is reported and what it covers is still checked; a bad chunk does \
            not stop the others; when the footer or the index is unusable the records are walked \
            from the start and every chunk record found is still checked. It also checks what a \
            random-access read cannot: that the data area holds exactly the chunk records the \
            index lists. Each problem names its rule of spec/FORMAT.md, byte offset and, where \
            one applies, stream, chunk and field. Memory stays bounded whatever the image claims.

            With --trusted-key or --trust-dir, every signature by one of those keys must verify \
            against the image's root digest (rule V48), as verify checks it. Unlike verify, \
            validate does not require a trusted signature: an unsigned image can still be valid.

            Exit status 0 means valid, 1 invalid, 3 the file could not be read.
            """)

    @Argument(help: ArgumentHelp("The image file.", valueName: "image"), completion: .file())
    var image: String

    @Flag(help: "Check structure, metadata, index and chunk headers, not the chunk payloads.")
    var quick = false

    @Option(help: ArgumentHelp("Stop after this many problems.", valueName: "n"))
    var maxProblems = 1000

    @OptionGroup var trust: TrustOptions
    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if image == "-" { throw ValidationError("validate needs a file: to check a stream, use verify -.") }
        guard maxProblems >= 1 else { throw ValidationError("--max-problems must be at least 1.") }
    }

    func run() throws {
        var options = ValidationOptions(read: ReadOptions(threads: threads.threads, cancellation: Interrupts.install(), parents: try parents.open()), maxProblems: maxProblems, checkChunks: !quick)
        if let policy = try trust.policy() { options.trust = policy }
        let report = try ImageValidator.validate(path: image, options: options)
        if json.json {
            try printJSON(ValidateJSONReport(report: report))
        } else {
            print(report.description)
        }
        if !report.isValid {
            let count = report.truncatedProblemList ? "more than \(report.problems.count)" : "\(report.problems.count)"
            throw CommandFailure(.invalidImage, "\(image): invalid (\(count) problem\(report.problems.count == 1 ? "" : "s"))", reported: true)
        }
    }
}

/// `validate --json`: the library's ValidationReport with the CLI's schema number.
struct ValidateJSONReport: Encodable {
    var report: ValidationReport

    enum CodingKeys: String, CodingKey { case schema }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(1, forKey: .schema)
    }
}
