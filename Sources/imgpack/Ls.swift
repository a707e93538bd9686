import ArgumentParser
import ImagePack

/// `imgpack ls`: the chunk table.
struct Ls: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List an image's chunks: stream, kind, codec, offsets, sizes and digests.",
        discussion: """
            One row per index entry, in file order. OFFSET and LENGTH are logical (within the \
            stream); RECORD is the byte offset of the chunk's record in the image (- for zero \
            chunks, which store nothing). --json gives full digests and payload offsets.
            """)

    @Argument(help: ArgumentHelp("The image file.", valueName: "image"), completion: .file())
    var image: String

    @Option(name: .customLong("disk"), help: ArgumentHelp("List only the chunks of this stream.", valueName: "name"))
    var name: String?

    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup var json: JSONOption

    func validate() throws {
        if image == "-" { throw ValidationError("ls needs random access to a file.") }
        if let name { try validateStreamName(name, option: "--disk") }
    }

    func run() throws {
        let reader = try ImageReader(path: image, parents: try parents.open())
        let only = try name.map { (n) throws(ImagePackError) in try reader.streamIndex(named: n) }
        var rows: [ChunkListReport.Row] = []
        for (i, e) in reader.entries.enumerated() where only == nil || Int(e.stream) == only {
            let payloadOffset = e.storedSize > 0 ? e.recordOffset + e.storedSize - UInt64(e.payloadLength) : 0
            rows.append(ChunkListReport.Row(
                index: i, stream: reader.streams[Int(e.stream)].name, kind: e.kind.description, codec: e.codec.description,
                logicalOffset: e.logicalOffset, logicalLength: e.logicalLength, payloadLength: e.payloadLength,
                storedSize: e.storedSize, recordOffset: e.recordOffset, payloadOffset: payloadOffset, digest: e.contentDigest.description))
        }
        if json.json {
            try printJSON(ChunkListReport(path: image, chunks: rows))
            return
        }
        var lines = [["INDEX", "STREAM", "KIND", "CODEC", "OFFSET", "LENGTH", "STORED", "RECORD", "DIGEST"]]
        for r in rows {
            let stored = r.storedSize > 0
            lines.append([
                "\(r.index)", r.stream, r.kind, r.kind == "data" ? r.codec : "-", "\(r.logicalOffset)", "\(r.logicalLength)",
                stored ? "\(r.storedSize)" : "0", stored ? "\(r.recordOffset)" : "-", String(r.digest.dropFirst("sha256:".count).prefix(16)),
            ])
        }
        print(table(lines, rightAligned: [0, 4, 5, 6, 7]))
    }
}
