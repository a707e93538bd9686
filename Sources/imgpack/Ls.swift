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
            chunks, which store nothing); CODEC is - for chunks that are not data (null in \
            --json). --json gives full digests and payload offsets.
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
        let listed = only.map { reader.chunks(ofStream: $0).indices } ?? 0..<reader.entries.count
        // Rows are written as they are made, never gathered: a maximal index (4 M entries) took
        // 3.7 GB as an array of rows and a table of strings. Output is the same as before, byte for byte.
        let out = OutputBuffer()
        if json.json {
            let jsonNames = try reader.streams.map { try jsonFragment($0.name) }
            guard !listed.isEmpty else {
                try printJSON(ChunkListReport(path: image, chunks: []))
                return
            }
            out.write("{\n  \"chunks\" : [\n")
            for i in listed {
                let e = reader.entries[i]
                let payloadOffset = e.storedSize > 0 ? e.recordOffset + e.storedSize - UInt64(e.payloadLength) : 0
                // The layout of printJSON (pretty, sorted keys), one row at a time.
                // Only data chunks have a codec; the others' is null (`-` in the table).
                if e.kind == .data {
                    out.write("    {\n      \"codec\" : \"")
                    out.write(e.codec.description)
                    out.write("\",\n      \"digest\" : \"sha256:")
                } else {
                    out.write("    {\n      \"codec\" : null,\n      \"digest\" : \"sha256:")
                }
                let words = e.contentDigest.words
                out.hex(words.0.byteSwapped)
                out.hex(words.1.byteSwapped)
                out.hex(words.2.byteSwapped)
                out.hex(words.3.byteSwapped)
                out.write("\",\n      \"index\" : ")
                out.decimal(UInt64(i))
                out.write(",\n      \"kind\" : \"")
                out.write(e.kind.description)
                out.write("\",\n      \"logicalLength\" : ")
                out.decimal(UInt64(e.logicalLength))
                out.write(",\n      \"logicalOffset\" : ")
                out.decimal(e.logicalOffset)
                out.write(",\n      \"payloadLength\" : ")
                out.decimal(UInt64(e.payloadLength))
                out.write(",\n      \"payloadOffset\" : ")
                out.decimal(payloadOffset)
                out.write(",\n      \"recordOffset\" : ")
                out.decimal(e.recordOffset)
                out.write(",\n      \"storedSize\" : ")
                out.decimal(e.storedSize)
                out.write(",\n      \"stream\" : ")
                out.write(jsonNames[Int(e.stream)])
                out.write("\n    }")
                out.write(i == listed.upperBound - 1 ? "\n" : ",\n")
            }
            out.write("  ],\n  \"path\" : \(try jsonFragment(image)),\n  \"schema\" : 1\n}\n")
            out.flush()
            return
        }
        let heading = ["INDEX", "STREAM", "KIND", "CODEC", "OFFSET", "LENGTH", "STORED", "RECORD", "DIGEST"]
        let names = reader.streams.map(\.name)
        // Two passes over the index, as `table` lays rows out: the column widths (from the values,
        // without making strings), then the rows, written byte by byte.
        var widths = heading.map(\.utf8.count)
        for i in listed {
            let e = reader.entries[i]
            let stored = e.storedSize > 0
            widths[0] = max(widths[0], decimalDigits(UInt64(i)))
            widths[4] = max(widths[4], decimalDigits(e.logicalOffset))
            widths[5] = max(widths[5], decimalDigits(UInt64(e.logicalLength)))
            widths[6] = max(widths[6], decimalDigits(stored ? e.storedSize : 0))
            widths[1] = max(widths[1], names[Int(e.stream)].utf8.count)
            widths[2] = max(widths[2], e.kind.description.utf8.count)
            widths[3] = max(widths[3], e.kind == .data ? e.codec.description.utf8.count : 1)
            widths[7] = max(widths[7], stored ? decimalDigits(e.recordOffset) : 1)
        }
        func cell(_ text: String, _ k: Int, right: Bool = false) {
            let pad = widths[k] - text.utf8.count
            if right { out.spaces(pad) }
            out.write(text)
            if !right { out.spaces(pad) }
            out.write("  ")
        }
        for (k, title) in heading.enumerated() {
            if k == heading.count - 1 { out.write(title + "\n") } else { cell(title, k, right: [0, 4, 5, 6, 7].contains(k)) }
        }
        for i in listed {
            let e = reader.entries[i]
            let stored = e.storedSize > 0
            out.spaces(widths[0] - decimalDigits(UInt64(i)))
            out.decimal(UInt64(i))
            out.write("  ")
            cell(names[Int(e.stream)], 1)
            cell(e.kind.description, 2)
            cell(e.kind == .data ? e.codec.description : "-", 3)
            out.number(e.logicalOffset, width: widths[4])
            out.number(UInt64(e.logicalLength), width: widths[5])
            out.number(stored ? e.storedSize : 0, width: widths[6])
            if stored {
                out.spaces(widths[7] - decimalDigits(e.recordOffset))
                out.decimal(e.recordOffset)
            } else {
                out.spaces(widths[7] - 1)
                out.write("-")
            }
            out.write("  ")
            out.hex(e.contentDigest.words.0.byteSwapped)
            out.write("\n")
        }
        out.flush()
    }
}

/// Digits of `value` in decimal.
private func decimalDigits(_ value: UInt64) -> Int {
    var n = 1
    var v = value
    while v >= 10 {
        v /= 10
        n += 1
    }
    return n
}

/// `value` as printJSON writes it inside a document (a string with its escapes).
private func jsonFragment(_ value: String) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode([value]), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines).dropFirst().dropLast().trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Standard output written in blocks of 64 KiB, so a long listing costs a write per block and
/// no string per row.
private final class OutputBuffer {
    private var pending: [UInt8] = []

    init() { pending.reserveCapacity(1 << 16 + 4096) }

    func write(_ text: String) {
        pending.append(contentsOf: text.utf8)
        if pending.count >= 1 << 16 { flush() }
    }

    func spaces(_ count: Int) {
        if count > 0 { pending.append(contentsOf: repeatElement(UInt8(ascii: " "), count: count)) }
    }

    func decimal(_ value: UInt64) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[19 - n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            pending.append(contentsOf: d[(20 - n)...])
        }
    }

    /// `value` right-aligned in `width` columns, then the two spaces between columns.
    func number(_ value: UInt64, width: Int) {
        spaces(width - decimalDigits(value))
        decimal(value)
        pending.append(UInt8(ascii: " "))
        pending.append(UInt8(ascii: " "))
    }

    /// 16 lowercase hexadecimal digits, most significant first.
    func hex(_ value: UInt64) {
        var shift: UInt64 = 60
        while true {
            let nibble = UInt8(truncatingIfNeeded: value >> shift & 15)
            pending.append(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
            if shift == 0 { break }
            shift -= 4
        }
    }

    func flush() {
        guard !pending.isEmpty else { return }
        FileHandle.standardOutput.write(Data(pending))
        pending.removeAll(keepingCapacity: true)
    }
}
