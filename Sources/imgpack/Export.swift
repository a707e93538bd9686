import ArgumentParser
import Foundation
import ImagePack
import ImagePackInterop

/// `imgpack export`: one disk of an image out as a raw or qcow2 file.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export one disk of an image as a raw or qcow2 file.",
        discussion: """
            Every chunk is checked against its digest on the way: a damaged image exports \
            nothing (exit 1). raw writes the disk as it is, zero chunks as holes. qcow2 writes a \
            qcow2 version 3 file that `qemu-img check` passes: all-zero clusters are left \
            unallocated, and with --compress the others are compressed where that saves space \
            (zstd needs qemu 5.1 or later; zlib is read by every qemu).

            With --backing-file, qcow2 writes an overlay on the parent's disk: only the \
            clusters that differ from the parent are stored (zeroed ones as zero clusters), the \
            rest read through to the backing file, which must hold the parent's disk at the same \
            size (a relative name is relative to OUTPUT's directory, as qemu reads it). For a \
            delta the parent is the delta's own; for a full image, the first --parent.

            The file appears at OUTPUT only once complete; an existing file is never replaced \
            without --force.

            EXAMPLES
              imgpack export web-1.ipk --disk root --format qcow2 -o root.qcow2
              imgpack export web-1.ipk --format qcow2 --compress zstd -o small.qcow2
              imgpack export web-1.ipk --disk data --format raw -o data.raw
              imgpack export mon.ipk --parent sun.ipk --format qcow2 \\
                  --backing-file sun.qcow2 -o mon.qcow2
            """)

    @Argument(help: ArgumentHelp("The image file.", valueName: "image"), completion: .file())
    var image: String

    @Option(name: .customLong("disk"), help: ArgumentHelp("The stream to export (may be left out when the image has one).", valueName: "name"))
    var disk: String?

    @Option(help: "Format of the file to write.")
    var format: ExportFormat

    @Option(help: ArgumentHelp("qcow2 cluster size: a power of two from 512 to 2M.", valueName: "size"))
    var clusterSize = ByteCount(64 << 10)

    @Option(help: "qcow2 cluster compression.")
    var compress: Qcow2Compression = .none

    @Option(help: ArgumentHelp("Compression level (zstd 1-19, default 3; zlib 1-9, default 6).", valueName: "n"))
    var level: Int?

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the disk.", valueName: "file"), completion: .file())
    var output: String

    @Option(help: ArgumentHelp("qcow2: write an overlay on this file, which holds the parent's disk: only clusters that differ from the parent are stored.", valueName: "file"), completion: .file())
    var backingFile: String?

    @Option(help: "Format of the backing file (default: qcow2 if it starts with qcow2's magic, else raw).")
    var backingFormat: Qcow2BackingFormat?

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @OptionGroup var trust: TrustOptions
    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var json: JSONOption
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let disk { try validateStreamName(disk, option: "--disk") }
        let size = clusterSize.bytes
        guard size >= 512, size <= 2 << 20, size & (size - 1) == 0 else {
            throw ValidationError("--cluster-size must be a power of two from 512 to 2M, got \(size).")
        }
        if format == .raw && (compress != .none || clusterSize.bytes != 64 << 10) {
            throw ValidationError("--cluster-size and --compress are qcow2 options; raw files have neither.")
        }
        if let level {
            switch compress {
            case .none: throw ValidationError("--level goes with --compress zlib or zstd.")
            case .zlib where !(1...9).contains(level): throw ValidationError("--level \(level) is not valid for zlib (1-9).")
            case .zstd where !(1...19).contains(level): throw ValidationError("--level \(level) is not valid for zstd (1-19).")
            default: break
            }
        }
        if backingFile != nil && format != .qcow2 {
            throw ValidationError("--backing-file makes a qcow2 overlay; add --format qcow2.")
        }
        if backingFormat != nil && backingFile == nil {
            throw ValidationError("--backing-format goes with --backing-file.")
        }
        guard output != "-" else { throw ValidationError("export writes a file; to stream a raw disk use `imgpack extract IMAGE --disk NAME --stdout`.") }
    }

    func run() throws {
        let cancellation = Interrupts.install()
        let policy = try trust.policy()
        let reader = try ImageReader(path: image, parents: try parents.open())
        // Signatures sign the root digest, which opening has checked: refuse before writing anything.
        try policy?.check(reader)
        let stream: Int
        if let disk {
            stream = try reader.streamIndex(named: disk)
        } else {
            guard reader.streams.count == 1 else {
                throw ImagePackError(.invalidArgument, "the image has \(reader.streams.count) streams (\(reader.streams.map(\.name).joined(separator: ", "))); choose one with --disk NAME", path: image)
            }
            stream = 0
        }
        var options = ExportOptions(clusterSize: Int(clusterSize.bytes), compression: compress, level: level, threads: threads.threads, cancellation: cancellation)
        if let backingFile {
            options.backing = Qcow2Backing(name: backingFile, format: backingFormat, content: try overlayParent(of: reader))
        }
        let name = reader.streams[stream].name
        let bar = ProgressBar("export \(name)", quiet: global.quiet)
        let start = Terminal.now()
        let summary: ExportSummary
        do {
            defer { bar.finish() }
            summary = try ImageExporter.export(reader, stream: stream, format: format, to: output, overwrite: force, options: options, progress: bar.handler)
        }
        let seconds = Terminal.now() - start
        let report = ExportReport(image: image, disk: name, output: output, summary: summary, seconds: (seconds * 1000).rounded() / 1000, backingFile: backingFile)
        if json.json {
            try printJSON(report)
        } else if !global.quiet {
            Terminal.writeError(report.text)
        }
    }

    /// The image an overlay's backing file holds: a delta's parent, or for a full image the first
    /// --parent (opened with the other parents, should it be a delta itself).
    private func overlayParent(of reader: ImageReader) throws -> ImageReader {
        if let parent = reader.parents.readers.first { return parent }
        if reader.parentDigest != nil {
            // Opened without its parents: reading any chunk would say so, with the digest to supply.
            throw ImagePackError(.parentRequired, "the image is a delta on \(reader.parentDigest!); an overlay is written against that parent: supply it with --parent FILE or --parent-dir DIR", rule: .v49, field: "parentDigest", path: image)
        }
        guard let first = parents.files.first else {
            throw ValidationError("--backing-file with a full image needs the image the backing file holds: --parent FILE (the clusters that differ from it are written).")
        }
        return try ImageReader(path: first, parents: try ImageReader.openParents(files: Array(parents.files.dropFirst()), directories: parents.directories))
    }
}

extension ExportFormat: ExpressibleByArgument {}
extension Qcow2BackingFormat: ExpressibleByArgument {}
extension Qcow2Compression: ExpressibleByArgument {}

/// `export --json`.
struct ExportReport: Encodable {
    var schema = 1
    var image: String
    var disk: String
    var output: String
    var format: String
    var virtualSize: UInt64
    /// Apparent length of the file written.
    var fileLength: UInt64
    /// Disk content written (compressed where it was), excluding holes and qcow2 tables.
    var dataBytes: UInt64
    /// qcow2 only.
    var clusterSize: Int?
    var storedClusters: UInt64?
    var compressedClusters: UInt64?
    var zeroClusters: UInt64?
    /// qcow2 overlay only: clusters left to the backing file.
    var backingFile: String?
    var backingClusters: UInt64?
    var seconds: Double

    init(image: String, disk: String, output: String, summary: ExportSummary, seconds: Double, backingFile: String? = nil) {
        self.image = image
        self.disk = disk
        self.output = output
        format = summary.format.rawValue
        virtualSize = summary.virtualSize
        fileLength = summary.fileLength
        dataBytes = summary.dataBytes
        let qcow2 = summary.format == .qcow2
        clusterSize = summary.clusterSize
        storedClusters = qcow2 ? summary.storedClusters : nil
        compressedClusters = qcow2 ? summary.compressedClusters : nil
        zeroClusters = qcow2 ? summary.zeroClusters : nil
        self.backingFile = backingFile
        backingClusters = backingFile == nil ? nil : summary.backingClusters
        self.seconds = seconds
    }

    var text: String {
        var lines = [
            "imgpack: exported \(disk) to \(output)",
            "  format       \(format)\(clusterSize.map { ", \(ByteCount.format(UInt64($0))) clusters" } ?? "")",
            "  disk         \(ByteCount.format(virtualSize)) (\(virtualSize) bytes)",
            "  file         \(ByteCount.format(fileLength)) (\(fileLength) bytes), data \(ByteCount.format(dataBytes))",
        ]
        if let storedClusters, let compressedClusters, let zeroClusters {
            if let backingFile, let backingClusters {
                lines.append("  backing      \(backingFile)")
                lines.append("  clusters     \(storedClusters) stored, \(compressedClusters) compressed, \(zeroClusters) zero, \(backingClusters) the parent's (read from the backing file)")
            } else {
                lines.append("  clusters     \(storedClusters) stored, \(compressedClusters) compressed, \(zeroClusters) zero (unallocated)")
            }
        }
        lines.append("  time         \(decimal(seconds)) s, \(ByteCount.formatRate(bytes: virtualSize, seconds: seconds))")
        return lines.joined(separator: "\n") + "\n"
    }
}
