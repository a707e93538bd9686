import ArgumentParser
import Foundation
import ImagePack
import ImagePackInterop

/// `imgpack import`: qcow2, VMDK, VHD or raw disk images in, one image out.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import qcow2, VMDK, VHD or raw disk images into one image.",
        discussion: """
            Each SOURCE becomes a disk of the image, in the order given. The format of each file \
            is told from its content, never its name (--format only checks it): qcow2 versions 2 \
            and 3 (zlib or zstd clusters, extended L2), VMDK monolithicSparse and \
            streamOptimized, VHD fixed and dynamic, or raw. Nothing a file names is ever opened: \
            a qcow2 image with a backing file is refused unless --backing gives the parent.

            Disks are named by --disk-name, one per SOURCE in order; unnamed disks are "root" \
            for the first and "diskN" for the Nth after it. Each disk's format is recorded in a \
            tag, imported-from.NAME (e.g. "qcow2 v3"); --no-provenance leaves it out. Metadata \
            options are those of `imgpack pack`.

            The image appears at OUTPUT only once complete; an existing file is never replaced \
            without --force.

            EXAMPLES
              imgpack import web-1.qcow2 --name web-1 -o web-1.ipk
              imgpack import root.vmdk data.vhd --disk-name root --disk-name data \\
                  --metadata meta.json -o vm.ipk
              imgpack import overlay.qcow2 --backing base.qcow2 --name app -o app.ipk
            """)

    @Argument(help: ArgumentHelp("Disk image files to import, in order.", valueName: "source"), completion: .file())
    var sources: [String] = []

    @Option(help: "Expected format of every SOURCE; auto tells it from the content.")
    var format: ImportFormatChoice = .auto

    @Option(name: .customLong("disk-name"), help: ArgumentHelp("Name of the disk made from each SOURCE, in order; repeat for several (default: root, disk1, disk2...).", valueName: "name"))
    var diskNames: [String] = []

    @Option(help: ArgumentHelp("The parent of a qcow2 SOURCE that has a backing file (one SOURCE only); opened as you name it, never as the file names it.", valueName: "path"), completion: .file())
    var backing: String?

    @Flag(name: .customLong("no-provenance"), help: "Do not record each disk's source format in an imported-from.NAME tag.")
    var noProvenance = false

    @OptionGroup(title: "Metadata")
    var metadata: MetadataOptions

    @OptionGroup var output: OutputOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("Nothing to import: give at least one disk image file.") }
        guard diskNames.count <= sources.count else {
            throw ValidationError("\(diskNames.count) --disk-name for \(sources.count) source\(sources.count == 1 ? "" : "s"): give at most one per SOURCE.")
        }
        var seen = Set<String>()
        for name in names {
            try validateStreamName(name, option: "--disk-name")
            guard seen.insert(name).inserted else { throw ValidationError("Disk name \"\(name)\" is used twice.") }
        }
        if backing != nil && sources.count != 1 {
            throw ValidationError("--backing goes with exactly one SOURCE (the qcow2 image whose parent it is).")
        }
        guard output.output != "-" else { throw ValidationError("import writes a file: give -o FILE (pack -o - streams an image).") }
    }

    /// The disk names, one per source.
    var names: [String] {
        sources.indices.map { i in i < diskNames.count ? diskNames[i] : (i == 0 ? "root" : "disk\(i)") }
    }

    func run() throws {
        let cancellation = Interrupts.install()
        let backingSource = try backing.map { path throws(ImagePackError) in try ImageImporter.openBacking(path: path) }
        let requests = zip(sources, names).map { path, name in
            ImageImporter.Source(path: path, format: format.foreignFormat, diskName: name, backing: backingSource)
        }
        let plan: ImageImporter.Plan
        do {
            plan = try ImageImporter.plan(requests, metadata: try metadata.resolve(base: nil, output: output.output), recordProvenance: !noProvenance)
        } catch let error as ImagePackError where error.code == .unsupportedInput && error.field == "backing_file_offset" {
            // A valid overlay without its parent: the command line lacks --backing (exit 2, not 1).
            throw CommandFailure(.usage, error.displayed.description)
        }
        if !global.quiet && !json.json {
            for (request, disk) in zip(requests, plan.disks) { Terminal.note("imgpack: \(request.path): \(Self.describe(disk)) → disk \(request.diskName)") }
        }

        let pack = try Pack.write(plan.state, output: output, cancellation: cancellation, label: "import", quiet: global.quiet)
        if json.json {
            let imported = zip(requests, plan.disks).map { request, disk in ImportReport.Source(request: request, disk: disk) }
            try printJSON(ImportReport(pack: pack, sources: imported))
        } else if !global.quiet {
            Terminal.writeError(Pack.text(pack))
        }
    }

    /// `qcow2 v3, 64 KiB clusters, 2.0 GiB` and any notes.
    static func describe(_ disk: ImportedDisk) -> String {
        var parts = [disk.format == .raw ? "raw" : "\(disk.format) \(disk.facts.variant)".replacingOccurrences(of: "qcow2 qcow2", with: "qcow2")]
        if let cluster = disk.facts.clusterSize { parts.append("\(ByteCount.format(UInt64(cluster))) clusters") }
        parts.append(ByteCount.format(disk.virtualSize))
        return (parts + disk.facts.notes).joined(separator: ", ")
    }
}

/// `--format` of `import`.
enum ImportFormatChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case auto, raw, qcow2, vmdk, vhd

    var foreignFormat: ForeignFormat? {
        switch self {
        case .auto: nil
        case .raw: .raw
        case .qcow2: .qcow2
        case .vmdk: .vmdk
        case .vhd: .vhd
        }
    }
}

/// `import --json`: the fields of `pack --json`, plus what each source file was.
struct ImportReport: Encodable {
    var pack: PackReport
    var sources: [Source]

    struct Source: Encodable {
        var path: String
        var disk: String
        var format: String
        var variant: String
        var virtualSize: UInt64
        var fileSize: UInt64
        var clusterSize: Int?
        var compression: String?
        var backingFile: String?
        var snapshotCount: Int
        var notes: [String]

        init(request: ImageImporter.Source, disk: ImportedDisk) {
            path = request.path
            self.disk = request.diskName
            format = disk.format.rawValue
            variant = disk.facts.variant
            virtualSize = disk.virtualSize
            fileSize = disk.facts.fileSize
            clusterSize = disk.facts.clusterSize
            compression = disk.facts.compression
            backingFile = disk.facts.backingFile
            snapshotCount = disk.facts.snapshotCount
            notes = disk.facts.notes
        }
    }

    enum Keys: String, CodingKey { case sources }

    func encode(to encoder: any Encoder) throws {
        try pack.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(sources, forKey: .sources)
    }
}
