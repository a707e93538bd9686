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
    /// The job's number: which of two equal chunks comes first (``DedupTable``).
    var job = 0
    /// Content digest of the parent's chunk at exactly this stream name, offset and length.
    var parentDigest: Digest?
    /// Where that chunk is: the parent and its stream index (for a `zstd-patch` prefix).
    var parentStream: Int?
    let parent: ImageReader?
    /// For deltas written with zstd: compresses a changed chunk against the parent's (spec §7.3).
    private let patch: Zstd.PatchCompressor?
    /// The parent's chunk, decoded, and the patch payload.
    private let prefixBuffer: ChunkBuffer
    private let patchBuffer: ChunkBuffer
    // The result.
    var kind: ChunkKind = .zero
    var codec: Codec = .stored
    var payload = UnsafeRawBufferPointer(start: nil, count: 0)
    var payloadCRC: UInt32 = 0
    var digest = Digest.zero
    var fillPattern: UInt64 = 0
    var error: ImagePackError?
    /// A data chunk whose compression was put off because an earlier job holds the same content:
    /// the writer makes it a reference, or calls ``compressDeferred()``.
    private(set) var deferred = false
    /// The write's dedup table; nil when ``WriterOptions/deduplicate`` is off.
    let dedup: DedupTable?

    init(options: WriterOptions, dedup: DedupTable?) throws(ImagePackError) {
        self.dedup = dedup
        input = ChunkBuffer(capacity: options.chunkSize)
        encoder = try PayloadEncoder(codec: options.codec, level: options.effectiveLevel, maxChunkSize: options.chunkSize)
        parent = options.parent
        let patching = options.parent != nil && options.codec == .zstd
        patch = patching ? try Zstd.PatchCompressor(level: options.effectiveLevel, chunkSize: options.chunkSize) : nil
        prefixBuffer = ChunkBuffer(capacity: patching ? options.chunkSize : 0)
        patchBuffer = ChunkBuffer(capacity: patching ? options.chunkSize : 0)
    }

    /// Reads the chunk from `source` and encodes it: zero and fill detection, SHA-256, compression, CRC.
    func run(source: any StreamSource, detectFill: Bool) {
        error = nil
        deferred = false
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
                digest = Digest.sha256(content)
                if markParent() { return }
                kind = .fill
                codec = .stored
                fillPattern = pattern
                withUnsafeBytes(of: pattern.littleEndian) { payloadCRC = CRC32C.checksum($0) }
                return
            default:
                break
            }
            digest = Digest.sha256(content)
            if markParent() { return }
            kind = .data
            if let dedup, dedup.claim(dedupKey, job: job) {
                deferred = true
                codec = .stored
                payload = UnsafeRawBufferPointer(start: nil, count: 0)
                return
            }
            try compress(content)
        } catch {
            self.error = error
        }
    }

    var dedupKey: DedupTable.Key { DedupTable.Key(digest: digest, length: UInt32(length)) }

    /// Compresses a data chunk whose compression was put off (``deferred``): the same steps as a
    /// worker's, so the payload is the same whoever runs them.
    func compressDeferred() throws(ImagePackError) {
        precondition(deferred && kind == .data)
        try compress(UnsafeRawBufferPointer(input.prefix(length)))
        deferred = false
    }

    private func compress(_ content: UnsafeRawBufferPointer) throws(ImagePackError) {
        (codec, payload) = try encoder.encode(content)
        try tryPatch(content)
        payloadCRC = CRC32C.checksum(payload)
    }

    /// Replaces the payload by a `zstd-patch` one when the parent has a chunk at exactly this range
    /// and compressing against it is smaller: changed chunks of a delta usually differ from the
    /// parent's in a few blocks, which plain zstd has to store again. Costs a read and decode of
    /// the parent's chunk and a second compression, only for chunks that changed.
    private func tryPatch(_ content: UnsafeRawBufferPointer) throws(ImagePackError) {
        guard let patch, let parent, let parentStream, parentDigest != nil, payload.count > 1 else { return }
        let prefix = prefixBuffer.prefix(length)
        try parent.read(stream: parentStream, at: offset, into: prefix)
        let out = patchBuffer.prefix(payload.count - 1)
        guard let produced = try patch.compress(content, prefix: UnsafeRawBufferPointer(prefix), into: out), produced < payload.count else { return }
        codec = .zstdPatch
        payload = UnsafeRawBufferPointer(rebasing: out[0..<produced])
    }

    /// Makes the chunk a `parent` chunk (no payload) when the parent holds the same content at
    /// the same range: then the chunk cost its read and its SHA-256, nothing more.
    private func markParent() -> Bool {
        guard let parentDigest, parentDigest == digest else { return false }
        kind = .parent
        codec = .stored
        payload = UnsafeRawBufferPointer(start: nil, count: 0)
        payloadCRC = CRC32C.checksum(payload)
        return true
    }
}
