import ArgumentParser
import ImagePack

/// `imgpack cat`: a byte range of one disk, read at random.
struct Cat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a byte range of one disk to standard output.",
        discussion: """
            Only the chunks the range touches are read, decompressed and verified against their \
            digests. Offsets and lengths accept sizes such as 4M or 1GiB. Like pack -o - and \
            extract --stdout, cat refuses to write to a terminal: pipe or redirect its output.

            EXAMPLE
              imgpack cat web-1.ipk --disk root --length 512 | xxd | head
            """)

    @Argument(help: ArgumentHelp("The image file.", valueName: "image"), completion: .file())
    var image: String

    @Option(name: .customLong("disk"), help: ArgumentHelp("The stream to read (optional when the image has one).", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("First byte to read.", valueName: "n"))
    var offset = ByteCount(0)

    @Option(help: ArgumentHelp("Bytes to read (default: to the end of the disk).", valueName: "n"))
    var length: ByteCount?

    @OptionGroup(title: "Parents") var parents: ParentOptions

    func validate() throws {
        if image == "-" { throw ValidationError("cat needs random access to a file; for standard input use: imgpack extract - --stdout") }
        if let name { try validateStreamName(name, option: "--disk") }
        // As pack -o - and extract --stdout: raw disk bytes on a terminal garble it.
        guard !Terminal.standardOutputIsTerminal else {
            throw ValidationError("Refusing to write raw disk bytes to a terminal: pipe them (| xxd | less) or redirect standard output.")
        }
    }

    func run() throws {
        let reader = try ImageReader(path: image, parents: try parents.open())
        let range = try ByteRangeSelection(in: reader, name: name, offset: offset.bytes, length: length?.bytes, source: image)
        let count = range.end - range.start
        let sink = DescriptorSink.standardOutput()
        let piece = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(UInt64(piece), max(count, 1))), alignment: 64)
        defer { buffer.deallocate() }
        var position = range.start
        while position < range.end {
            let n = Int(min(UInt64(buffer.count), range.end - position))
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            try reader.read(stream: range.stream, at: position, into: part)
            try sink.write(UnsafeRawBufferPointer(part))
            position += UInt64(n)
        }
    }
}
