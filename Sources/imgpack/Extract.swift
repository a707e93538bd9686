import ArgumentParser
import Foundation
import ImagePack

/// `imgpack extract`: streams of an image back to raw files (sparse) or to standard output.
struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract disks of an image to raw files or to standard output.",
        discussion: """
            Every stream (or each --disk NAME) is written to DIR/NAME.raw; zero chunks become \
            holes, so the files are as sparse as the image. Each file appears only once complete \
            and verified; an existing file is never replaced without --force.

            With IMAGE - the image is read from standard input in one pass: chunks are written \
            where they belong in temporary files, and the files are published only after the \
            whole image (index and root digest included) has verified.

            With --stdout the one selected disk is written to standard output, zeros included. \
            Output to a pipe cannot be taken back: if the image turns out damaged the command \
            exits 1 and what was written must be discarded.

            EXAMPLES
              imgpack extract web-1.ipk -o disks
              curl -s https://example.com/web-1.ipk | imgpack extract - --disk root -o disks
              imgpack extract web-1.ipk --disk data --stdout | dd of=/dev/vdb bs=4M
            """)

    @Argument(help: ArgumentHelp("The image file; - for standard input.", valueName: "image"), completion: .file())
    var image: String

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("Directory for the raw files (created if needed; default: the current directory).", valueName: "dir"), completion: .directory)
    var directory: String?

    @Option(name: .customLong("disk"), help: ArgumentHelp("Extract only this stream; repeat for several (default: all).", valueName: "name"))
    var names: [String] = []

    @Flag(help: "Write the one selected disk to standard output instead of a file.")
    var stdout = false

    @Flag(help: "Replace existing files.")
    var force = false

    @OptionGroup var trust: TrustOptions
    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if stdout && image == "-" && trust.isRequested {
            throw ValidationError("A stream's signatures are known only at its end, after --stdout has written the disk: extract to files (-o DIR) to check trust before anything is published.")
        }
        for name in names { try validateStreamName(name, option: "--disk") }
        if Set(names).count != names.count { throw ValidationError("A --disk is named twice.") }
        if stdout {
            guard directory == nil else { throw ValidationError("--stdout and --output are alternatives: choose one.") }
            guard names.count <= 1 else { throw ValidationError("--stdout writes one disk: give at most one --disk.") }
            guard !Terminal.standardOutputIsTerminal else {
                throw ValidationError("Refusing to write a raw disk to a terminal: redirect standard output or use -o DIR.")
            }
        }
    }

    var outputDirectory: String { directory ?? "." }

    func run() throws {
        let cancellation = Interrupts.install()
        let policy = try trust.policy()
        let created = stdout ? false : try Self.makeDirectory(outputDirectory)
        do {
            if image == "-" {
                try extractStream(cancellation: cancellation, policy: policy)
            } else {
                try extractFile(cancellation: cancellation, policy: policy)
            }
        } catch {
            // A refused or failed extract leaves the file system as it found it: a directory it
            // created is removed again when nothing was published into it (rmdir fails otherwise).
            if created { _ = system_rmdir(outputDirectory) }
            throw error
        }
    }

    // MARK: From a file (random access)

    func extractFile(cancellation: Cancellation, policy: TrustPolicy?) throws {
        let reader = try ImageReader(path: image, parents: try parents.open())
        // Signatures sign the root digest, which opening has checked: refuse before writing anything.
        try policy?.check(reader)
        let selected = try select(in: reader.streams)
        if stdout {
            let bar = ProgressBar("extract \(reader.streams[selected[0]].name)", quiet: global.quiet)
            defer { bar.finish() }
            try reader.extract(stream: selected[0], to: DescriptorSink.standardOutput(), options: ReadOptions(threads: threads.threads, cancellation: cancellation, progress: bar.handler))
            return
        }
        let destinations = try selected.map { try destination(for: reader.streams[$0].name) }
        try checkDestinations(destinations)
        // The library writes and verifies every disk before publishing any: all appear, or none.
        let bar = ProgressBar("extract", quiet: global.quiet)
        do {
            defer { bar.finish() }
            try reader.extract(
                toFiles: Dictionary(uniqueKeysWithValues: zip(selected, destinations)), overwrite: force,
                options: ReadOptions(threads: threads.threads, cancellation: cancellation, progress: bar.handler))
        }
        for (stream, path) in zip(selected, destinations) { report(reader.streams[stream], path: path) }
    }

    // MARK: From standard input (one pass, publish at the end)

    func extractStream(cancellation: Cancellation, policy: TrustPolicy?) throws {
        let bar = ProgressBar("extract", quiet: global.quiet)
        let reader = try StreamingReader(path: "-", options: ReadOptions(threads: threads.threads, cancellation: cancellation, progress: bar.handler, parents: try parents.open()))
        if stdout {
            try extractStreamToStandardOutput(reader, bar: bar)
            return
        }
        // The library writes every disk to a temporary file and publishes them all only once the
        // whole image has verified (spec §12.1).
        var streams: [StreamInfo] = []
        let result: (summary: StreamingSummary, paths: [Int: String])
        do {
            defer { bar.finish() }
            result = try reader.extract(overwrite: force) { all in
                streams = all
                let selected = try select(in: all)
                let paths = try selected.map { try destination(for: all[$0].name) }
                try checkDestinations(paths)
                return Dictionary(uniqueKeysWithValues: zip(selected, paths))
            } approve: { summary in
                try policy?.check(summary.signatures, rootDigest: summary.rootDigest, path: "<stdin>")
            }
        }
        for i in result.paths.keys.sorted() { report(streams[i], path: result.paths[i]!) }
        if !global.quiet { Terminal.note("imgpack: verified standard input, root \(result.summary.rootDigest)") }
    }

    /// `extract - --stdout`: the one selected disk to standard output, zeros included, as it arrives.
    func extractStreamToStandardOutput(_ reader: StreamingReader, bar: ProgressBar) throws {
        var chosen = -1
        let sink = DescriptorSink.standardOutput()
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let summary: StreamingSummary
        do {
            defer { bar.finish() }
            // Standard output cannot be read back, so a reference's content comes from the window.
            summary = try reader.read(references: .keepWindow) { event in
                switch event {
                case .reference:
                    break  // not sent with .keepWindow
                case .begin(_, let all):
                    chosen = try select(in: all)[0]
                case .data(let stream, _, let bytes):
                    guard stream == chosen else { return }
                    try sink.write(bytes)
                case .zero(let stream, _, let length):
                    guard stream == chosen else { return }
                    var left = length
                    while left > 0 {
                        let n = Int(min(left, UInt64(zeros.count)))
                        try zeros.withUnsafeBytes { raw in try sink.write(UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
                        left -= UInt64(n)
                    }
                }
            }
        }
        if !global.quiet { Terminal.note("imgpack: verified standard input, root \(summary.rootDigest)") }
    }

    // MARK: Helpers

    /// Indices of the streams to extract, in image order; for --stdout exactly one.
    func select(in streams: [StreamInfo]) throws(ImagePackError) -> [Int] {
        var selected: [Int] = []
        for name in names {
            guard let i = streams.firstIndex(where: { $0.name == name }) else {
                throw ImagePackError(.noSuchStream, "no stream named \"\(name)\"; the image has: \(streams.map(\.name).joined(separator: ", "))", path: image)
            }
            selected.append(i)
        }
        if names.isEmpty { selected = Array(streams.indices) }
        if stdout && selected.count != 1 {
            throw ImagePackError(.invalidArgument, "the image has \(streams.count) streams (\(streams.map(\.name).joined(separator: ", "))); choose one with --disk NAME", path: image)
        }
        return selected.sorted()
    }

    /// `DIR/NAME.raw`, refusing any name that could leave DIR (the library validated the names
    /// when it read the stream table; this checks again, because a path is at stake).
    func destination(for name: String) throws(ImagePackError) -> String {
        let safe = (try? StreamName.validate(name)) != nil
        guard safe, !name.contains("/"), !name.contains("\0"), !name.hasPrefix("."), name != ".." else {
            throw ImagePackError(.invalidStreamName, "stream name \"\(name)\" would not stay inside \(outputDirectory); refusing to extract it", rule: .v15, stream: name, path: image)
        }
        let dir = outputDirectory.hasSuffix("/") ? String(outputDirectory.dropLast()) : outputDirectory
        return (dir.isEmpty ? "/" : dir + "/") + name + ".raw"
    }

    /// Refuses before writing anything when any destination is taken: a file, a symbolic link
    /// (even one that points nowhere) or a directory; with --force files and links are replaced
    /// (a link by the file, never followed), a directory never. Every disk appears, or none.
    func checkDestinations(_ paths: [String]) throws(ImagePackError) {
        for path in paths { try OutputFile.checkDestination(path, overwrite: force) }
    }

    /// Creates the output directory `outputDirectory` if needed (recover shares it); true when
    /// this run created it.
    static func makeDirectory(_ outputDirectory: String) throws -> Bool {
        if let status = system_stat(outputDirectory) {
            guard status.kind == .directory else { throw CommandFailure(.usage, "\(outputDirectory) exists and is not a directory; -o names the directory the raw files go to") }
            return false
        }
        // mkdir -p by hand, so a failure names the directory that could not be made and why in
        // the system's words (Foundation said "The operation could not be completed").
        var prefix = outputDirectory.hasPrefix("/") ? "/" : ""
        for component in outputDirectory.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            if system_mkdir(prefix, 0o777) != 0 {
                let code = system_errno
                if code == _EEXIST, system_stat(prefix)?.kind == .directory { continue }
                let which = prefix == outputDirectory ? "" : " (at \(prefix))"
                throw CommandFailure(.io, "cannot create the directory \(outputDirectory)\(which): \(system_strerror(code))")
            }
        }
        return true
    }

    func report(_ stream: StreamInfo, path: String) {
        guard !global.quiet else { return }
        let allocated = system_stat(path).map { ", \(ByteCount.format(UInt64($0.allocatedBytes))) allocated" } ?? ""
        Terminal.note("imgpack: extracted \(stream.name) to \(path) (\(ByteCount.format(stream.logicalSize))\(allocated))")
    }
}
