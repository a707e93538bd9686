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
        let stream: Int
        if let name {
            stream = try reader.streamIndex(named: name)
        } else {
            guard reader.streams.count == 1 else {
                throw ImagePackError(.invalidArgument, "the image has \(reader.streams.count) streams (\(reader.streams.map(\.name).joined(separator: ", "))); choose one with --disk NAME", path: image)
            }
            stream = 0
        }
        let size = reader.streams[stream].logicalSize
        guard offset.bytes <= size else {
            throw ImagePackError(.rangeOutOfBounds, "--offset \(offset.bytes) is past the end of \"\(reader.streams[stream].name)\" (\(size) bytes)", path: image)
        }
        let count = length?.bytes ?? size - offset.bytes
        guard count <= size - offset.bytes else {
            throw ImagePackError(.rangeOutOfBounds, "--offset \(offset.bytes) --length \(count) ends past the end of \"\(reader.streams[stream].name)\" (\(size) bytes)", path: image)
        }
        let sink = DescriptorSink.standardOutput()
        let piece = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(UInt64(piece), max(count, 1))), alignment: 64)
        defer { buffer.deallocate() }
        var position = offset.bytes
        let end = offset.bytes + count
        while position < end {
            let n = Int(min(UInt64(buffer.count), end - position))
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            try reader.read(stream: stream, at: position, into: part)
            try sink.write(UnsafeRawBufferPointer(part))
            position += UInt64(n)
        }
    }
}
