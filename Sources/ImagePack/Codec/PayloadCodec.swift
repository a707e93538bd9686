/// Encodes chunk payloads with one codec and level; holds the reusable context and output buffer.
/// Use one instance per thread.
final class PayloadEncoder: @unchecked Sendable {
    let codec: Codec
    let level: Int
    private let zstd: Zstd.Compressor?
    private let zlib: Zlib.Compressor?
    /// Output buffer, sized for the largest chunk: payloads never grow past the chunk's own size
    /// (an encoding that does not shrink the data is replaced by `stored`).
    private(set) var buffer: UnsafeMutableRawBufferPointer

    init(codec: Codec, level: Int, maxChunkSize: Int) throws(ImagePackError) {
        self.codec = codec
        self.level = level
        zstd = codec == .zstd ? try Zstd.Compressor(level: level, inputSize: maxChunkSize) : nil
        zlib = codec == .zlib ? try Zlib.Compressor(level: level) : nil
        buffer = .allocate(byteCount: max(maxChunkSize, 1), alignment: 64)
    }
    deinit { buffer.deallocate() }

    /// Compresses `input`. Returns the codec actually used and the payload: a view into ``buffer``
    /// (valid until the next call), or `input` itself when compression would not make it smaller.
    func encode(_ input: UnsafeRawBufferPointer) throws(ImagePackError) -> (Codec, UnsafeRawBufferPointer) {
        // Leave out one byte so a result equal in size to the input counts as "not smaller".
        let capacity = max(input.count - 1, 0)
        let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(capacity, buffer.count)])
        let produced: Int?
        switch codec {
        case .stored: produced = nil
        case .zstd: produced = try zstd!.compress(input, into: out)
        case .zlib: produced = try zlib!.compress(input, into: out)
        case .zstdPatch: produced = nil  // chosen per chunk by the writer, never the image's codec (WriterOptions.validate)
        }
        guard let produced, produced < input.count else { return (.stored, input) }
        return (codec, UnsafeRawBufferPointer(rebasing: buffer[0..<produced]))
    }
}

/// Decodes chunk payloads of any codec into a buffer of exactly the chunk's logical length.
/// Use one instance per thread.
final class PayloadDecoder: @unchecked Sendable {
    private var zstd: Zstd.Decompressor?
    private var zlib: Zlib.Decompressor?

    init() {}

    /// Decodes `payload` into `output`, which must be exactly the chunk's logical length.
    /// Throws `.decompressionFailed` if the payload is not one valid stream of the codec (for zstd:
    /// exactly one RFC 8878 frame within the bounds of spec §7.3), and `.chunkSizeMismatch` if it
    /// decodes, or declares it decodes, to any other length (a bomb stops at `output.count`).
    /// - Parameter prefix: for `zstd-patch`, the parent's chunk at the same range (spec §7.3).
    func decode(_ codec: Codec, _ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, prefix: UnsafeRawBufferPointer? = nil) throws(ImagePackError) {
        switch codec {
        case .stored:
            guard payload.count == output.count else {
                throw ImagePackError(.chunkSizeMismatch, "stored payload is \(payload.count) bytes but the chunk is \(output.count)", rule: .v27)
            }
            if let dst = output.baseAddress, let src = payload.baseAddress { dst.copyMemory(from: src, byteCount: payload.count) }
        case .zstd, .zstdPatch:
            // libzstd alone would accept more than spec §7.3 allows (see Zstd+Frame.swift).
            _ = try Zstd.checkFrame(payload, logicalLength: output.count)
            if zstd == nil { zstd = try Zstd.Decompressor() }
            let produced: Int
            do throws(ImagePackError) {
                if codec == .zstdPatch {
                    guard let prefix else {
                        throw ImagePackError(.parentRequired, "a zstd-patch payload decodes only with the parent's chunk", rule: .v49)
                    }
                    produced = try zstd!.decompress(payload, prefix: prefix, into: output)
                } else {
                    produced = try zstd!.decompress(payload, into: output)
                }
            } catch {
                if error.message.contains("Destination buffer is too small") {
                    throw ImagePackError(.chunkSizeMismatch, "zstd payload decodes to more than the chunk's \(output.count) bytes (decompression bomb or lie)", rule: .v27, offset: error.offset, cause: error.cause)
                }
                throw error.citing(.v27)
            }
            guard produced == output.count else {
                throw ImagePackError(.chunkSizeMismatch, "zstd payload decodes to \(produced) bytes but the chunk is \(output.count)", rule: .v27)
            }
        case .zlib:
            if zlib == nil { zlib = try Zlib.Decompressor(wrapping: .zlib) }
            var outcome: Zlib.Decompressor.Outcome
            do { outcome = try zlib!.inflate(payload, into: output) } catch {
                throw error.citing(.v27)
            }
            guard outcome.ended else {
                if outcome.produced == output.count {
                    throw ImagePackError(.chunkSizeMismatch, "zlib payload decodes to more than the chunk's \(output.count) bytes (decompression bomb or lie)", rule: .v27)
                }
                throw ImagePackError(.decompressionFailed, "zlib payload ends before its stream does", rule: .v27)
            }
            guard outcome.produced == output.count else {
                throw ImagePackError(.chunkSizeMismatch, "zlib payload decodes to \(outcome.produced) bytes but the chunk is \(output.count)", rule: .v27)
            }
            guard outcome.consumed == payload.count else {
                throw ImagePackError(.decompressionFailed, "zlib payload has \(payload.count - outcome.consumed) bytes after its stream end", rule: .v27)
            }
        }
    }
}
