/// How an image is written. The defaults were chosen by measurement (spec, rationale R2-R3).
public struct WriterOptions: Sendable {
    /// Codec for data chunks; a chunk that does not shrink is stored as it is.
    public var codec: Codec = .zstd
    /// Codec level; nil means the codec's ``Codec/defaultLevel``.
    public var level: Int?
    /// Nominal chunk size in bytes: a multiple of 4096, 64 KiB...64 MiB.
    public var chunkSize: Int = WriterOptions.defaultChunkSize
    /// Worker threads for hashing and compression. Output is identical for any count.
    public var threads: Int = WriterOptions.defaultThreads
    /// Store chunks that repeat one 8-byte pattern as `fill` chunks.
    public var detectFill = true
    /// Write a chunk whose content equals an earlier data chunk's of the same length (in any
    /// stream) as a `reference` chunk: an 8-byte payload naming the earlier record (spec §7.2).
    /// Costs a lookup of the SHA-256 computed anyway; compression of the repeat is skipped. Zero
    /// and fill chunks are never references (they are smaller and faster to read as they are), and
    /// a delta's `parent` chunks win over references. An image that holds references needs a
    /// reader that implements them (critical feature `references`): written to a file, the header
    /// sets that bit only when a reference was written, so an image without repeats stays readable
    /// by readers of format 1.0 and 1.1; written to a pipe, where the header cannot be rewritten,
    /// it is set whenever this option is on.
    public var deduplicate = true
    /// How far back a reference may point (V60): the readers' default limit; tests lower it.
    var referenceDistance = ImageLimits().maxReferenceDistance
    /// Polled between chunks; when set the write stops with `.cancelled`.
    public var cancellation: Cancellation?
    /// Write a delta on this image (spec §9.3): a chunk whose content the parent has at the same
    /// stream name, offset and length (equal content digests in the parent's index, nothing is
    /// decoded) becomes a `parent` chunk with no payload. The parent may itself be a delta, opened
    /// with its own parents. The chunk size must be the parent's (``ImageReader/chunkSize``).
    /// The delta's root digest is that of a full image of the same state (spec §8.3).
    public var parent: ImageReader?
    /// Write the image even when a source changed while it was read (see
    /// ``StreamSource/changeSinceOpened()``), recording the changed streams in the metadata tag
    /// ``sourceChangedTag`` so that whoever uses the image knows it may be inconsistent. Off by
    /// default: such a write fails with `.sourceChanged`, and nothing is published.
    public var allowChangingSource = false
    /// Write format 1.2's split (spec §5.4, §9.4): META holds only what the instance is, and the
    /// catalogue (name, description, owner, region, visibility, share list) goes to a CTLG record
    /// in a tail area outside the root digest, so that sharing, renaming and copying to another
    /// region keep the root digest and every signature, and take constant time. Off: the format 1.0
    /// layout, the catalogue inside META and the root digest (what ``ImageCopier`` uses to copy a
    /// 1.0 image without changing its identity).
    public var catalogue = true
    /// SIGN records to carry into the new image (a copy's: they sign its unchanged root digest).
    package var signatureRecords: [UInt8] = []

    /// The metadata tag that lists, comma-separated, the streams that changed while they were read.
    public static let sourceChangedTag = "imagepack.source-changed"

    public static let defaultChunkSize = 4 << 20
    public static var defaultThreads: Int { system_online_processors() }

    public init(codec: Codec = .zstd, level: Int? = nil, chunkSize: Int = WriterOptions.defaultChunkSize, threads: Int = WriterOptions.defaultThreads) {
        self.codec = codec
        self.level = level
        self.chunkSize = chunkSize
        self.threads = threads
    }

    var effectiveLevel: Int { level ?? codec.defaultLevel }

    /// Checks the options the way ``ImageWriter`` will before it writes anything, so a caller (the
    /// CLI, a service taking options from a request) can refuse bad ones up front without restating
    /// the ranges: a chunk size that is a multiple of 4096 from 64 KiB to `limits.maxChunkSize`
    /// (64 MiB by default), a level within ``Codec/levels`` of the codec, 1...256 threads.
    ///
    /// - Throws: `.invalidArgument` whose `field` names the option: `chunkSize`, `level` or `threads`.
    public func validate(limits: ImageLimits = .init()) throws(ImagePackError) {
        guard codec != .zstdPatch else {
            throw ImagePackError(.invalidArgument, "zstd-patch is not an image's codec: a delta writer (WriterOptions.parent) chooses it per chunk over zstd; ask for zstd", field: "codec")
        }
        guard chunkSize >= 64 << 10, chunkSize <= limits.maxChunkSize, chunkSize % 4096 == 0 else {
            throw ImagePackError(.invalidArgument, "chunk size \(chunkSize) must be a multiple of 4096 between 64 KiB and \(limits.maxChunkSize >> 20) MiB", field: "chunkSize")
        }
        guard codec.levels.contains(effectiveLevel) else {
            throw ImagePackError(.invalidArgument, "level \(effectiveLevel) is not valid for \(codec) (\(codec.levels.lowerBound)...\(codec.levels.upperBound))", field: "level")
        }
        guard (1...256).contains(threads) else {
            throw ImagePackError(.invalidArgument, "threads must be 1...256, got \(threads)", field: "threads")
        }
        if let parent, UInt32(chunkSize) != parent.chunkSize {
            throw ImagePackError(.invalidArgument, "the parent image \(parent.path) has \(parent.chunkSize)-byte chunks; a delta's chunks must line up with its parent's, so its chunk size must be the same (imgpack: leave out --chunk-size)", field: "chunkSize")
        }
    }
}

/// What was written, for reports.
public struct WriteSummary: Sendable {
    public var rootDigest: Digest
    public var fileLength: UInt64
    public var logicalBytes: UInt64
    /// Bytes of chunk payloads (compressed or stored).
    public var payloadBytes: UInt64
    public var chunkCount: Int
    public var chunksByKind: [ChunkKind: Int]
    public var chunksByCodec: [Codec: Int]
    public var streams: [StreamInfo]
}

/// Progress of a long operation: bytes of logical content done and in all.
public typealias ProgressHandler = @Sendable (_ done: UInt64, _ total: UInt64) -> Void
