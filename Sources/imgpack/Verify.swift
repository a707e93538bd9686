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

            With --trusted-key or --trust-dir, the signatures are checked too: the image must \
            carry a signature by a trusted key that verifies against its root digest.

            Exit status 0 means verified (and, with keys, signed by a trusted key); 1 means the \
            image is invalid, a signature by a trusted key that does not verify included (rule \
            V48); 5 means the image is intact but not signed by any trusted key.
            """)

    @Argument(help: ArgumentHelp("The image file; - for standard input.", valueName: "image"), completion: .file())
    var image: String

    @Flag(help: "Check structure, metadata and index only, not the chunk payloads.")
    var quick = false

    @Option(help: ArgumentHelp("Stop listing failures after this many.", valueName: "n"))
    var maxFailures = 100

    @OptionGroup var trust: TrustOptions
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
        // Key files are read first: a bad key is a usage error before any long work.
        let policy = try trust.policy()
        var untrusted: ImagePackError?
        do {
            let signed = image == "-" ? try verifyStream(&report, cancellation: cancellation) : try verifyFile(&report, cancellation: cancellation)
            if report.failures.isEmpty, let policy, let root = signed.root {
                report.signatures = SignatureReport.list(signed.signatures, rootDigest: root, policy: policy)
                untrusted = try Self.untrusted(policy, signed.signatures, root: root, path: image == "-" ? "<stdin>" : image)
                report.trusted = untrusted == nil
            } else if let root = signed.root {
                report.signatures = SignatureReport.list(signed.signatures, rootDigest: root, policy: nil)
            }
        } catch let error as ImagePackError where error.code.category == .invalidImage {
            report.failures.append(.init(error))
        }
        report.valid = report.failures.isEmpty
        if json.json {
            try printJSON(report)
        } else {
            for failure in report.failures { Terminal.note("imgpack: invalid: \(failure.description)") }
            if report.valid && untrusted == nil {
                // The words of `validate` ("N chunks checked": every chunk), then what was decoded.
                let what = quick ? "structure, metadata and index" : "\(report.chunks) chunks checked (\(report.chunksChecked) stored chunks decoded, \(ByteCount.format(report.bytesChecked)))"
                let signers = report.trusted == true ? "; signed by trusted key \(report.signatures.filter { $0.status == SignatureStatus.verifiedTrusted.rawValue }.map(\.keyID).joined(separator: ", "))" : ""
                print("verified \(image == "-" ? "standard input" : image): \(what); root \(report.rootDigest ?? "?")\(signers)")
            }
        }
        if let untrusted, report.valid {
            throw CommandFailure(.untrusted, untrusted.displayed.description, reported: json.json)
        }
        if !report.valid {
            let count = report.failures.count
            throw CommandFailure(.invalidImage, "\(image == "-" ? "<stdin>" : image): verification failed (\(count) problem\(count == 1 ? "" : "s"))", reported: json.json)
        }
    }

    /// The untrusted-image error of `policy` for these signatures, nil when a trusted key
    /// signed; a signature by a trusted key that does not verify (V48) is thrown.
    static func untrusted(_ policy: TrustPolicy, _ signatures: [ImageSignature], root: Digest, path: String) throws -> ImagePackError? {
        do {
            try policy.check(signatures, rootDigest: root, path: path)
            return nil
        } catch where error.code == .untrustedImage {
            return error
        }
    }

    /// What the trust check needs: the signatures and the root they must sign.
    typealias Signed = (signatures: [ImageSignature], root: Digest?)

    func verifyFile(_ report: inout VerifyJSONReport, cancellation: Cancellation) throws -> Signed {
        let reader = try ImageReader(path: image, parents: try parents.open())
        report.rootDigest = reader.rootDigest.description
        report.chunks = reader.entries.count
        let signed: Signed = (reader.signatures, reader.rootDigest)
        guard !quick else { return signed }
        let bar = ProgressBar("verify", quiet: global.quiet)
        defer { bar.finish() }
        let result = try reader.verify(ReadOptions(threads: threads.threads, cancellation: cancellation, progress: bar.handler), maxFailures: maxFailures)
        report.chunksChecked = result.chunksChecked
        report.bytesChecked = result.bytesChecked
        report.failures = result.failures.map { .init($0) }
        return signed
    }

    func verifyStream(_ report: inout VerifyJSONReport, cancellation: Cancellation) throws -> Signed {
        let reader = try StreamingReader(path: "-", options: ReadOptions(threads: threads.threads, cancellation: cancellation, parents: try parents.open()))
        let bar = ProgressBar("verify", quiet: global.quiet)
        defer { bar.finish() }
        var total: UInt64 = 0
        var done: UInt64 = 0
        var checked: UInt64 = 0
        var chunks = 0
        var zeroChunks = 0
        // A reference's content was checked when its target was read (spec §7.2 (d)), so verify
        // keeps no window of the input.
        let summary = try reader.read(references: .notNeeded) { event in
            switch event {
            case .reference(let content):
                done += content.length
                checked += content.length
                chunks += 1
                bar.update(done: done, total: total)
            case .begin(_, let streams):
                total = streams.reduce(0) { $0 + $1.logicalSize }
            case .data(_, _, let bytes):
                done += UInt64(bytes.count)
                checked += UInt64(bytes.count)
                chunks += 1
                bar.update(done: done, total: total)
            case .zero(_, _, let length):
                zeroChunks += 1
                done += length
                bar.update(done: done, total: total)
            }
        }
        report.rootDigest = summary.rootDigest.description
        report.chunks = chunks + zeroChunks
        report.chunksChecked = chunks
        report.bytesChecked = checked
        return (summary.signatures, summary.rootDigest)
    }
}
