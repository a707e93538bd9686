import ArgumentParser
import Foundation
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

    @OptionGroup var json: JSONOption

    func validate() throws {
        if image == "-" { throw ValidationError("ls needs random access to a file.") }
        if let name { try validateStreamName(name, option: "--disk") }
    }

    func run() throws {
        let reader = try ImageReader(path: image)
        let only = try name.map { (n) throws(ImagePackError) in try reader.streamIndex(named: n) }
        let listed = only.map { reader.chunks(ofStream: $0).indices } ?? 0..<reader.entries.count
        // Rows are written as they are made, never gathered: a maximal index (4 M entries) took
        // 3.7 GB as an array of rows and a table of strings. Output is the same as before, byte for byte.
        let out = OutputBuffer()
        if json.json {
            let names = try reader.streams.map { try jsonFragment($0.name) }
            guard !listed.isEmpty else {
                try printJSON(ChunkListReport(path: image, chunks: []))
                return
            }
            out.write("{\n  \"chunks\" : [\n")
            for i in listed {
                let e = reader.entries[i]
                let payloadOffset = e.storedSize > 0 ? e.recordOffset + e.storedSize - UInt64(e.payloadLength) : 0
                // The layout of printJSON (pretty, sorted keys), one row at a time.
                out.write("""
                        {
                          "codec" : "\(e.codec.description)",
                          "digest" : "\(e.contentDigest.description)",
                          "index" : \(i),
                          "kind" : "\(e.kind.description)",
                          "logicalLength" : \(e.logicalLength),
                          "logicalOffset" : \(e.logicalOffset),
                          "payloadLength" : \(e.payloadLength),
                          "payloadOffset" : \(payloadOffset),
                          "recordOffset" : \(e.recordOffset),
                          "storedSize" : \(e.storedSize),
                          "stream" : \(names[Int(e.stream)])
                        }
                    """)
                out.write(i == listed.upperBound - 1 ? "\n" : ",\n")
            }
            out.write("  ],\n  \"path\" : \(try jsonFragment(image)),\n  \"schema\" : 1\n}\n")
            out.flush()
            return
        }
        let heading = ["INDEX", "STREAM", "KIND", "CODEC", "OFFSET", "LENGTH", "STORED", "RECORD", "DIGEST"]
        func cells(_ i: Int) -> [String] {
            let e = reader.entries[i]
            let stored = e.storedSize > 0
            return [
                "\(i)", reader.streams[Int(e.stream)].name, e.kind.description, e.kind == .data ? e.codec.description : "-", "\(e.logicalOffset)",
                "\(e.logicalLength)", stored ? "\(e.storedSize)" : "0", stored ? "\(e.recordOffset)" : "-",
                String(e.contentDigest.description.dropFirst("sha256:".count).prefix(16)),
            ]
        }
        // Two passes over the index: the column widths, then the rows (as `table` lays them out).
        var widths = heading.map(\.count)
        for i in listed { for (k, cell) in cells(i).enumerated() { widths[k] = max(widths[k], cell.count) } }
        let rightAligned: Set<Int> = [0, 4, 5, 6, 7]
        func line(_ row: [String]) -> String {
            row.enumerated().map { k, cell in
                let pad = String(repeating: " ", count: widths[k] - cell.count)
                return rightAligned.contains(k) ? pad + cell : (k == row.count - 1 ? cell : cell + pad)
            }.joined(separator: "  ")
        }
        out.write(line(heading) + "\n")
        for i in listed { out.write(line(cells(i)) + "\n") }
        out.flush()
    }
}

/// `value` as printJSON writes it inside a document (a string with its escapes).
private func jsonFragment(_ value: String) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode([value]), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines).dropFirst().dropLast().trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Standard output written in blocks of about 64 KiB, so a long listing costs a write per block.
private final class OutputBuffer {
    private var pending = ""

    func write(_ text: String) {
        pending += text
        if pending.utf8.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !pending.isEmpty else { return }
        FileHandle.standardOutput.write(Data(pending.utf8))
        pending = ""
    }
}
