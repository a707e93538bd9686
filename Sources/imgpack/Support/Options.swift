import ArgumentParser
import ImagePack

/// Options every command that does long work shares.
struct GlobalOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "No progress bar and no summary on standard error; errors are still reported.")
    var quiet = false
}

/// How many threads hash, compress and decompress.
struct ThreadOptions: ParsableArguments {
    @Option(name: .customLong("threads"), help: ArgumentHelp("Worker threads, 1-256 (default: one per CPU); the output is the same for any count.", valueName: "n"))
    var requested: Int?

    /// The thread count to use.
    var threads: Int { requested ?? WriterOptions.defaultThreads }

    /// The library's check (the same range for reading and writing), as a usage error.
    func validate() throws {
        guard let requested else { return }
        do {
            try WriterOptions(threads: requested).validate()
        } catch {
            throw ValidationError("--threads must be between 1 and 256, got \(requested).")
        }
    }
}

/// Machine-readable output.
struct JSONOption: ParsableArguments {
    @Flag(help: "Print a JSON document (schema 1) to standard output instead of text.")
    var json = false
}

/// How data chunks are encoded.
struct EncodingOptions: ParsableArguments {
    @Option(help: "Codec for data chunks; a chunk that does not shrink is stored as it is.")
    var codec: CodecChoice = .zstd

    @Option(help: ArgumentHelp("Codec level (zstd 1-19, default 3; zlib 1-9, default 6).", valueName: "n"))
    var level: Int?

    @Option(name: .customLong("chunk-size"), help: ArgumentHelp("Chunk size: a multiple of 4 KiB from 64K to 64M, such as 4M, 1MiB or 65536 (default: 4M; with --parent, the parent's).", valueName: "size"))
    var requestedChunkSize: ByteCount?

    @Flag(name: .customLong("no-dedup"), help: ArgumentHelp("Store repeated chunks again instead of as references to their first copy.", discussion: "By default a data chunk equal to an earlier one of the image is written as a reference (spec §7.2); such an image needs a reader of format 1.1 with references. Images without repeated chunks are the same either way."))
    var noDedup = false

    /// The chunk size asked for, or the default.
    var chunkSize: ByteCount { requestedChunkSize ?? ByteCount(UInt64(WriterOptions.defaultChunkSize)) }

    /// The library's checks (``WriterOptions/validate(limits:)``), reported as usage errors in
    /// the words of the options they concern.
    func validate() throws {
        let size = chunkSize.bytes
        let chunkSizeError = ValidationError("--chunk-size must be a multiple of 4096 between 64K and 64M, got \(size).")
        guard let bytes = Int(exactly: size) else { throw chunkSizeError }
        do {
            try WriterOptions(codec: codec.codec, level: level, chunkSize: bytes, threads: 1).validate()
        } catch where error.field == "chunkSize" {
            throw chunkSizeError
        } catch where error.field == "level" {
            let levels = codec.codec.levels
            throw ValidationError("--level \(level ?? codec.codec.defaultLevel) is not valid for \(codec.rawValue) (\(levels.lowerBound)-\(levels.upperBound)).")
        } catch {
            throw ValidationError(error.message)
        }
    }

    func writerOptions(threads: Int, cancellation: Cancellation?) -> WriterOptions {
        var options = WriterOptions(codec: codec.codec, level: level, chunkSize: Int(chunkSize.bytes), threads: threads)
        options.cancellation = cancellation
        options.deduplicate = !noDedup
        return options
    }
}

/// The codecs, as command-line choices.
enum CodecChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case zstd, zlib, stored

    var codec: Codec {
        switch self {
        case .zstd: .zstd
        case .zlib: .zlib
        case .stored: .stored
        }
    }
}
