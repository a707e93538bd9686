import ArgumentParser
import ImagePack

/// Where `pack` and `import` write their image and how they encode it: one group, so that the two
/// commands cannot drift apart in their options, their checks or the way they publish the file.
struct OutputOptions: ParsableArguments {
    @OptionGroup(title: "Encoding")
    var encoding: EncodingOptions

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the image; - for standard output (pack only).", valueName: "file"), completion: .file())
    var output: String

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @Flag(help: "Flush the image and its directory entry to stable storage before reporting success.")
    var sync = false

    @Flag(help: ArgumentHelp("Write the image even if a source changes while it is read, tagged imagepack.source-changed.", discussion: "Without it, a source that changes while it is read (a disk in use) fails the command and nothing is published."))
    var allowChangingSource = false

    @Flag(help: ArgumentHelp(
        "Write the format 1.0 layout, which 1.0 and 1.1 readers read: the name, owner, region and share list inside the metadata and the root digest.",
        discussion: "Without it the image is format 1.2: those fields go to a catalogue record outside the root digest, which share, sign and copy --region change in constant time without changing the image's identity."))
    var legacyLayout = false

    @OptionGroup var threads: ThreadOptions

    @OptionGroup(title: "Delta")
    var delta: DeltaOptions

    /// The writer's options; checked already, by the library, when the arguments were parsed,
    /// except those that need the parent image (opened here).
    func writerOptions(cancellation: Cancellation?) throws -> WriterOptions {
        var options = encoding.writerOptions(threads: threads.threads, cancellation: cancellation)
        options.allowChangingSource = allowChangingSource
        options.catalogue = !legacyLayout
        if let path = delta.parent {
            let parent = try ImageReader(path: path, parents: try ImageReader.openParents(files: [], directories: delta.directories))
            if let requested = encoding.requestedChunkSize, requested.bytes != UInt64(parent.chunkSize) {
                throw ValidationError("--chunk-size \(requested.bytes) differs from the parent's chunk size \(parent.chunkSize): a delta's chunks line up with its parent's; leave out --chunk-size.")
            }
            options.chunkSize = Int(parent.chunkSize)
            options.parent = parent
        }
        return options
    }

    /// Writes `state` to OUTPUT (standard output for "-"), published only once complete.
    func write(_ state: SystemState, options: WriterOptions, progress: ProgressHandler?) throws(ImagePackError) -> WriteSummary {
        if output == "-" {
            return try ImageWriter.write(state, to: DescriptorSink.standardOutput(), options: options, progress: progress)
        }
        return try ImageWriter.write(state, toFile: output, overwrite: force, sync: sync, options: options, progress: progress)
    }
}
