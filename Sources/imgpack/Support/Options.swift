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

    func validate() throws {
        if let requested, !(1...256).contains(requested) { throw ValidationError("--threads must be between 1 and 256, got \(requested).") }
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

    @Option(help: ArgumentHelp("Chunk size: a multiple of 4 KiB from 64K to 64M, such as 4M, 1MiB or 65536.", valueName: "size"))
    var chunkSize = ByteCount(UInt64(WriterOptions.defaultChunkSize))

    func validate() throws {
        let size = chunkSize.bytes
        guard size >= 64 << 10, size <= 64 << 20, size % 4096 == 0 else {
            throw ValidationError("--chunk-size must be a multiple of 4096 between 64K and 64M, got \(size).")
        }
        if let level, !codec.codec.levels.contains(level) {
            throw ValidationError("--level \(level) is not valid for \(codec.rawValue) (\(codec.codec.levels.lowerBound)-\(codec.codec.levels.upperBound)).")
        }
    }

    func writerOptions(threads: Int, cancellation: Cancellation?) -> WriterOptions {
        var options = WriterOptions(codec: codec.codec, level: level, chunkSize: Int(chunkSize.bytes), threads: threads)
        options.cancellation = cancellation
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
