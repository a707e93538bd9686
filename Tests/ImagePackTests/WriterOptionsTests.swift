import Testing
import ImagePack

/// ``WriterOptions/validate(limits:)`` is the one statement of what the writer accepts; the CLI
/// reports its failures as usage errors, so each must name the option it concerns.
@Suite("Writer options")
struct WriterOptionsTests {
    @Test("the defaults and the bounds of every range are accepted", arguments: [
        WriterOptions(),
        WriterOptions(codec: .zstd, level: 1, chunkSize: 64 << 10, threads: 1),
        WriterOptions(codec: .zstd, level: 19, chunkSize: 64 << 20, threads: 256),
        WriterOptions(codec: .zlib, level: 9, chunkSize: 68 << 10),
        WriterOptions(codec: .stored, chunkSize: 1 << 20),
    ])
    func accepted(_ options: WriterOptions) throws {
        try options.validate()
    }

    @Test("each out-of-range option is refused, naming its field", arguments: [
        (WriterOptions(chunkSize: 3000), "chunkSize"),
        (WriterOptions(chunkSize: 60 << 10), "chunkSize"),
        (WriterOptions(chunkSize: (64 << 20) + 4096), "chunkSize"),
        (WriterOptions(chunkSize: (1 << 20) + 512), "chunkSize"),
        (WriterOptions(codec: .zstd, level: 20), "level"),
        (WriterOptions(codec: .zlib, level: 0), "level"),
        (WriterOptions(codec: .stored, level: 3), "level"),
        (WriterOptions(threads: 0), "threads"),
        (WriterOptions(threads: 257), "threads"),
    ])
    func refused(_ options: WriterOptions, field: String) {
        let error = #expect(throws: ImagePackError.self) { try options.validate() }
        #expect(error?.code == .invalidArgument)
        #expect(error?.field == field)
    }

    @Test("a smaller chunk limit lowers the largest chunk size accepted")
    func limits() throws {
        var limits = ImageLimits()
        limits.maxChunkSize = 1 << 20
        try WriterOptions(chunkSize: 1 << 20).validate(limits: limits)
        let error = #expect(throws: ImagePackError.self) { try WriterOptions(chunkSize: 2 << 20).validate(limits: limits) }
        #expect(error?.field == "chunkSize")
    }
}
