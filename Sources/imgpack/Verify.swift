import ArgumentParser
import ImagePack

/// `imgpack verify`: is every byte of the image what its digests say?
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an image: structure, metadata, index, every chunk and the root digest.",
        discussion: """
            A file is opened (structure, metadata, stream table, index, footer, root digest \
            recomputed from the index), then every stored chunk is read, decompressed and hashed \
            against its digest. Every failing chunk is reported with its rule of spec/FORMAT.md, \
            stream, chunk index and byte offset. --quick stops after the structure checks.

            With IMAGE - the image is read from standard input in one pass and checked as it \
            streams; the first failure stops the check.

            Exit status 0 means verified; 1 means the image is invalid.
            """)

    @Argument(help: ArgumentHelp("The image file; - for standard input.", valueName: "image"), completion: .file())
    var image: String

    @Flag(help: "Check structure, metadata and index only, not the chunk payloads.")
    var quick = false

    @Option(help: ArgumentHelp("Stop listing failures after this many.", valueName: "n"))
    var maxFailures = 100

    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if quick && image == "-" { throw ValidationError("--quick needs a file: a stream is only checked by reading all of it.") }
        guard maxFailures >= 1 else { throw ValidationError("--max-failures must be at least 1.") }
    }

    func run() throws {
        let cancellation = Interrupts.install()
        var report = VerifyJSONReport(path: image, valid: false, quick: quick, rootDigest: nil, chunksChecked: 0, bytesChecked: 0, failures: [])
        do {
            if image == "-" {
                try verifyStream(&report, cancellation: cancellation)
            } else {
                try verifyFile(&report, cancellation: cancellation)
            }
        } catch let error as ImagePackError where error.code.category == .invalidImage {
            report.failures.append(.init(error))
        }
        report.valid = report.failures.isEmpty
        if json.json {
            try printJSON(report)
        } else {
            for failure in report.failures { Terminal.note("imgpack: invalid: \(failure.description)") }
            if report.valid {
                let what = quick ? "structure, metadata and index" : "\(report.chunksChecked) chunks, \(ByteCount.format(report.bytesChecked))"
                print("verified \(image == "-" ? "standard input" : image): \(what); root \(report.rootDigest ?? "?")")
            }
        }
        if !report.valid {
            let count = report.failures.count
            throw CommandFailure(.invalidImage, "\(image == "-" ? "<stdin>" : image): verification failed (\(count) problem\(count == 1 ? "" : "s"))", reported: json.json)
        }
    }

    func verifyFile(_ report: inout VerifyJSONReport, cancellation: Cancellation) throws {
        let reader = try ImageReader(path: image, parents: try parents.open())
        report.rootDigest = reader.rootDigest.description
        guard !quick else { return }
        let bar = ProgressBar("verify", quiet: global.quiet)
        defer { bar.finish() }
        let result = try reader.verify(ReadOptions(threads: threads.threads, cancellation: cancellation, progress: bar.handler), maxFailures: maxFailures)
        report.chunksChecked = result.chunksChecked
        report.bytesChecked = result.bytesChecked
        report.failures = result.failures.map { .init($0) }
    }

    func verifyStream(_ report: inout VerifyJSONReport, cancellation: Cancellation) throws {
        let reader = try StreamingReader(path: "-", options: ReadOptions(threads: threads.threads, cancellation: cancellation, parents: try parents.open()))
        let bar = ProgressBar("verify", quiet: global.quiet)
        defer { bar.finish() }
        var total: UInt64 = 0
        var done: UInt64 = 0
        var checked: UInt64 = 0
        var chunks = 0
        let summary = try reader.read { event in
            switch event {
            case .begin(_, let streams):
                total = streams.reduce(0) { $0 + $1.logicalSize }
            case .data(_, _, let bytes):
                done += UInt64(bytes.count)
                checked += UInt64(bytes.count)
                chunks += 1
                bar.update(done: done, total: total)
            case .zero(_, _, let length):
                done += length
                bar.update(done: done, total: total)
            }
        }
        report.rootDigest = summary.rootDigest.description
        report.chunksChecked = chunks
        report.bytesChecked = checked
    }
}
