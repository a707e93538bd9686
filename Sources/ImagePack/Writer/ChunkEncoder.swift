/// One in-flight chunk of the writer: its input buffer, its encoder and what encoding produced.
/// A slot belongs to one worker at a time; the writer hands it over between batches.
final class EncodeSlot: @unchecked Sendable {
    /// The chunk as read from the source (sized for the writer's chunk size up front).
    let input: ChunkBuffer
    let encoder: PayloadEncoder
    // The job.
    var stream: UInt32 = 0
    var offset: UInt64 = 0
    var length = 0
    var knownZero = false
    // The result.
    var kind: ChunkKind = .zero
    var codec: Codec = .stored
    var payload = UnsafeRawBufferPointer(start: nil, count: 0)
    var payloadCRC: UInt32 = 0
    var digest = Digest.zero
    var fillPattern: UInt64 = 0
    var error: ImagePackError?

    init(options: WriterOptions) throws(ImagePackError) {
        input = ChunkBuffer(capacity: options.chunkSize)
        encoder = try PayloadEncoder(codec: options.codec, level: options.effectiveLevel, maxChunkSize: options.chunkSize)
    }

    /// Reads the chunk from `source` and encodes it: zero and fill detection, SHA-256, compression, CRC.
    func run(source: any StreamSource, detectFill: Bool) {
        error = nil
        if knownZero {
            kind = .zero
            codec = .stored
            digest = ZeroDigests.digest(length: UInt32(length))
            return
        }
        let bytes = input.prefix(length)
        do throws(ImagePackError) {
            try source.read(at: offset, into: bytes)
            let content = UnsafeRawBufferPointer(bytes)
            switch ContentShape.of(content) {
            case .zero:
                kind = .zero
                codec = .stored
                digest = ZeroDigests.digest(length: UInt32(length))
                return
            case .fill(let pattern) where detectFill:
                kind = .fill
                codec = .stored
                fillPattern = pattern
                digest = Digest.sha256(content)
                withUnsafeBytes(of: pattern.littleEndian) { payloadCRC = CRC32C.checksum($0) }
                return
            default:
                break
            }
            kind = .data
            digest = Digest.sha256(content)
            (codec, payload) = try encoder.encode(content)
            payloadCRC = CRC32C.checksum(payload)
        } catch {
            self.error = error
        }
    }
}
