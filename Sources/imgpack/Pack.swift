import ArgumentParser
import ImagePack
import ImagePackSimulation

/// `imgpack pack`: raw disk files (or a simulated instance) and metadata in, one image out.
struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pack raw disk files and metadata into one image.",
        discussion: """
            Each --disk NAME=PATH becomes a stream of the image, in the order given; holes of \
            sparse files are never read. Stream names become file names on extraction, so they \
            are letters, digits, '.', '_' and '-', not starting with '.'.

            The image appears at OUTPUT only once complete; an existing file is never replaced \
            without --force. With -o - the image goes to standard output (never to a terminal).

            The same inputs, metadata and options always give the same bytes, for any --threads. \
            Set SOURCE_DATE_EPOCH (or pass --created-at) to make the creation time reproducible too.

            --simulate SIZE packs a deterministic simulated instance instead of files, with \
            metadata derived from --seed (flags still override it): for tests and benchmarks.

            EXAMPLES
              imgpack pack --disk root=root.raw --disk data=data.raw \\
                  --name web-1 --os linux:debian:12 --tag team=web -o web-1.ipk
              imgpack pack --disk root=root.raw --metadata meta.json -o - \\
                  | ssh host imgpack extract - -o disks
              imgpack pack --simulate 3G --seed 7 -o sim.ipk
            """)

    @OptionGroup(title: "Input")
    var input: PackInput

    @OptionGroup(title: "Metadata")
    var metadata: MetadataOptions

    @OptionGroup var output: OutputOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        let disks = input.disks, sections = input.sections
        if let size = input.simulate {
            guard disks.isEmpty && sections.isEmpty && input.blockSizes.isEmpty else { throw ValidationError("--simulate replaces --disk, --section and --block-size: give one or the other.") }
            guard size.bytes >= 8192 else { throw ValidationError("--simulate needs at least 8K, got \(size.bytes).") }
            if let g = input.generation, !(0...100_000).contains(g) { throw ValidationError("--generation must be 0 to 100000, got \(g).") }
        } else {
            guard input.seed == nil, input.profile == nil, input.generation == nil else { throw ValidationError("--seed, --profile and --generation go with --simulate SIZE.") }
            guard !disks.isEmpty || !sections.isEmpty else {
                throw ValidationError("Nothing to pack: give at least one --disk NAME=PATH, or --simulate SIZE.")
            }
            try input.validateBlockSizes()
        }
        var names = Set<String>()
        for (name, option) in disks.map({ ($0.name, "--disk") }) + sections.map({ ($0.name, "--section") }) {
            try validateStreamName(name, option: option)
            guard names.insert(name).inserted else { throw ValidationError("Stream name \"\(name)\" is used twice.") }
        }
        try checkOutput()
    }

    /// Shared with `pack --simulate`: where the image goes and how the summary is printed.
    func checkOutput() throws {
        if output.output == "-" {
            guard !Terminal.standardOutputIsTerminal else {
                throw ValidationError("Refusing to write a binary image to a terminal: redirect standard output or use -o FILE.")
            }
            guard !json.json else { throw ValidationError("--json prints to standard output, which -o - already uses for the image.") }
        }
    }

    func run() throws {
        let cancellation = Interrupts.install()
        if let simulated = input.simulatedState() {
            try write(SystemState(metadata: try metadata.resolve(base: simulated.metadata, output: output.output), streams: simulated.streams), cancellation: cancellation)
            return
        }
        var streams: [StreamSpec] = []
        for disk in input.disks {
            streams.append(StreamSpec(name: disk.name, kind: .disk, blockSize: input.blockSize(of: disk.name, default: 512), source: try FileSource(path: disk.path)))
        }
        for section in input.sections {
            streams.append(StreamSpec(name: section.name, kind: section.kind.streamKind, blockSize: input.blockSize(of: section.name, default: section.kind.blockSize), source: try FileSource(path: section.path)))
        }
        let state = SystemState(metadata: try metadata.resolve(base: nil, output: output.output), streams: streams)
        try write(state, cancellation: cancellation)
    }

    /// Writes `state` to `output` and reports.
    func write(_ state: SystemState, cancellation: Cancellation) throws {
        let report = try Self.write(state, output: output, cancellation: cancellation, label: "pack", quiet: global.quiet)
        if json.json {
            try printJSON(report)
        } else if !global.quiet {
            Terminal.writeError(Self.text(report))
        }
    }

    /// Writes `state` where `output` says, with a progress bar labelled `label`, and reports it:
    /// the part of `pack` that `import` shares.
    static func write(_ state: SystemState, output: OutputOptions, cancellation: Cancellation, label: String, quiet: Bool) throws -> PackReport {
        let options = try output.writerOptions(cancellation: cancellation)
        let bar = ProgressBar(label, quiet: quiet)
        let start = Terminal.now()
        let summary: WriteSummary
        do {
            defer { bar.finish() }
            summary = try output.write(state, options: options, progress: bar.handler)
        }
        let seconds = Terminal.now() - start
        return PackReport(
            output: output.output, rootDigest: summary.rootDigest.description, fileLength: summary.fileLength,
            logicalBytes: summary.logicalBytes, payloadBytes: summary.payloadBytes,
            ratio: compressionRatio(summary.logicalBytes, summary.fileLength), chunkSize: options.chunkSize,
            codec: options.codec.description, chunks: Self.counts(summary),
            streams: summary.streams.enumerated().map { i, s in
                PackReport.Stream(index: i, name: s.name, kind: s.kind.description, blockSize: s.blockSize, logicalSize: s.logicalSize)
            },
            seconds: (seconds * 1000).rounded() / 1000, bytesPerSecond: seconds > 0 ? (Double(summary.logicalBytes) / seconds).rounded() : 0)
    }

    static func counts(_ summary: WriteSummary) -> ChunkCounts {
        var counts = ChunkCounts()
        for (kind, n) in summary.chunksByKind where kind != .data { counts.add(kind: kind, codec: .stored, count: n) }
        for (codec, n) in summary.chunksByCodec { counts.add(kind: .data, codec: codec, count: n) }
        return counts
    }

    static func text(_ r: PackReport) -> String {
        let streams = r.streams.map { "\($0.name) (\($0.kind), \(ByteCount.format($0.logicalSize)))" }.joined(separator: ", ")
        return """
            imgpack: wrote \(r.output == "-" ? "standard output" : r.output)
              root digest  \(r.rootDigest)
              streams      \(streams)
              logical      \(ByteCount.format(r.logicalBytes)) (\(r.logicalBytes) bytes)
              image        \(ByteCount.format(r.fileLength)) (\(r.fileLength) bytes), ratio \(decimal(r.ratio)):1
              chunks       \(r.chunks.total): \(r.chunks.kindsText); data by codec: \(r.chunks.codecsText)
              time         \(decimal(r.seconds)) s, \(ByteCount.formatRate(bytes: r.logicalBytes, seconds: r.seconds))

            """
    }
}

/// Where the streams of `pack` come from: raw files, or a simulated instance.
struct PackInput: ParsableArguments {
    @Option(name: .customLong("disk"), help: ArgumentHelp("A raw disk file (or block device) stored as stream NAME; repeat for several disks, in order.", valueName: "name=path"))
    var disks: [DiskArgument] = []

    @Option(name: .customLong("section"), help: ArgumentHelp("Another section of machine state, after the disks: KIND is memory, nvram or blob.", valueName: "kind:name=path"))
    var sections: [SectionArgument] = []

    @Option(name: .customLong("block-size"), help: ArgumentHelp("Sector size the guest sees for stream NAME: a power of two up to 65536 (default: 512 for disks, 4096 for memory, 1 for nvram and blobs).", valueName: "name=bytes"))
    var blockSizes: [TagArgument] = []

    @Option(help: ArgumentHelp("Instead of files, pack a simulated instance of SIZE bytes in all: a root disk (server profile, 2/3) and a data disk (database profile, 1/3), or one root disk with --profile.", valueName: "size"))
    var simulate: ByteCount?

    @Option(help: ArgumentHelp("Seed of the simulation: the same seed and size give the same image.", valueName: "n"))
    var seed: UInt64?

    @Option(help: "Profile of a single simulated root disk.")
    var profile: SimulationProfile?

    @Option(help: ArgumentHelp("The simulated instance after N rounds of change (logs, package upgrades, deletions, metadata): successive generations make successive backups.", valueName: "n"))
    var generation: Int?

    /// The block size of stream `name`: --block-size, else `fallback`.
    func blockSize(of name: String, default fallback: UInt32) -> UInt32 {
        blockSizes.last { $0.key == name }.flatMap { UInt32($0.value) } ?? fallback
    }

    func validateBlockSizes() throws {
        let names = Set(disks.map(\.name) + sections.map(\.name))
        for entry in blockSizes {
            guard names.contains(entry.key) else { throw ValidationError("--block-size \(entry.key)=…: no --disk or --section is named \(entry.key).") }
            guard let size = UInt32(entry.value), size >= 1, size <= 65536, size & (size - 1) == 0 else {
                throw ValidationError("--block-size \(entry.key)=\(entry.value): a block size is a power of two from 1 to 65536.")
            }
        }
    }

    /// The simulated instance, for --simulate.
    func simulatedState() -> SystemState? {
        guard let size = simulate?.bytes else { return nil }
        let seed = seed ?? 1
        let total = size & ~4095
        let generation = generation ?? 0
        if let profile {
            return SimulatedInstance.state(seed: seed, disks: [(name: "root", size: total, profile: profile)], generation: generation)
        }
        let root = (total / 3 * 2) & ~4095
        return SimulatedInstance.state(seed: seed, disks: [(name: "root", size: root, profile: .server), (name: "data", size: total - root, profile: .database)], generation: generation)
    }
}

extension SimulationProfile: ExpressibleByArgument {}
