import ArgumentParser
import ImagePack
import ImagePackRegistry

/// `imgpack cat-remote`: a byte range of one disk of an image in a registry, without pulling it.
struct CatRemote: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat-remote",
        abstract: "Write a byte range of one disk of an image in a registry to standard output, fetching only the chunks it needs.",
        discussion: """
            Reads the manifest and config, then fetches only the chunk records the range \
            touches, by HTTP range requests on the layers, and verifies each chunk against its \
            digest (bound to the manifest through the config) before writing it: the first \
            megabytes of a disk, or one file of it, without a full pull. Like cat, it refuses to \
            write to a terminal.

            EXAMPLE
              imgpack cat-remote localhost:5000/vm/web:1 --disk root --length 64M > head.raw
            """)

    @Argument(help: ArgumentHelp("The image: HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST].", valueName: "ref"))
    var reference: String

    @Option(name: .customLong("disk"), help: ArgumentHelp("The stream to read (optional when the image has one).", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("First byte to read.", valueName: "n"))
    var offset = ByteCount(0)

    @Option(help: ArgumentHelp("Bytes to read (default: to the end of the disk).", valueName: "n"))
    var length: ByteCount?

    @OptionGroup var registry: RegistryOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        _ = try registryReference(reference)
        guard !Terminal.standardOutputIsTerminal else {
            throw ValidationError("Refusing to write raw disk bytes to a terminal: pipe them (| xxd | less) or redirect standard output.")
        }
    }

    func run() throws {
        let ref = try registryReference(reference)
        let cancellation = Interrupts.install()
        let client = try registry.client(for: ref.registry, password: try registry.readPassword())
        let cache = try registry.blobCache()
        let name = self.name, offset = self.offset.bytes, length = self.length?.bytes
        try runRegistryWork(cancellation: cancellation, closing: [client]) { () throws(ImagePackError) -> Void in
            let image = try await LazyRemoteImage(ref, client: client, cache: cache)
            let range = try ByteRangeSelection(in: image.reader, name: name, offset: offset, length: length, source: ref.description)
            let sink = DescriptorSink.standardOutput()
            var position = range.start
            // 16 MiB per step: several chunks fetched in parallel, memory bounded.
            while position < range.end {
                let n = Int(min(16 << 20, range.end - position))
                let bytes = try await image.read(stream: range.stream, at: position, count: n)
                try withBytes(bytes) { (raw) throws(ImagePackError) in try sink.write(raw) }
                position += UInt64(n)
            }
        }
    }
}
