import ImagePack

/// A disk image format that ImagePack can export a stream to.
public enum ExportFormat: String, CaseIterable, Sendable, CustomStringConvertible {
    /// A plain disk, sparse: zero chunks become holes.
    case raw
    /// QEMU copy-on-write version 3, zero clusters unallocated, refcounts exact.
    case qcow2

    public var description: String { rawValue }
}

/// How compressed qcow2 clusters are encoded. All compressed clusters of a qcow2 file use one type.
public enum Qcow2Compression: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Every allocated cluster is stored as it is (fastest; what `qemu-img convert -O qcow2` makes).
    case none
    /// Raw deflate with a 4 KiB window (qcow2's default compression type, readable by every qemu).
    case zlib
    /// Zstandard (header compression_type 1; needs qemu 5.1 or later).
    case zstd

    public var description: String { rawValue }
}

/// How a stream is exported.
public struct ExportOptions: Sendable {
    /// qcow2 cluster size in bytes: a power of two from 512 B to 2 MiB. Ignored for raw.
    public var clusterSize: Int = 64 << 10
    /// qcow2 cluster compression. A cluster that does not shrink is stored as it is. Ignored for raw.
    public var compression: Qcow2Compression = .none
    /// Compression level; nil means zlib 6 or zstd 3 (qemu's own choices).
    public var level: Int?
    /// Worker threads for decoding, checking and compressing. The output does not depend on it.
    public var threads: Int = WriterOptions.defaultThreads
    /// Polled between batches of clusters; when set the export stops with `.cancelled`.
    public var cancellation: Cancellation?
    /// qcow2 only: write an overlay on this backing file, holding only the clusters that differ
    /// from the image it holds. nil writes a self-contained qcow2.
    public var backing: Qcow2Backing?

    public init(
        clusterSize: Int = 64 << 10, compression: Qcow2Compression = .none, level: Int? = nil,
        threads: Int = WriterOptions.defaultThreads, cancellation: Cancellation? = nil, backing: Qcow2Backing? = nil
    ) {
        self.clusterSize = clusterSize
        self.compression = compression
        self.level = level
        self.threads = threads
        self.cancellation = cancellation
        self.backing = backing
    }

    /// The compression level in effect (0 without compression).
    var effectiveLevel: Int {
        switch compression {
        case .none: 0
        case .zlib: level ?? Codec.zlib.defaultLevel
        case .zstd: level ?? Codec.zstd.defaultLevel
        }
    }

    func validate() throws(ImagePackError) {
        guard clusterSize >= 512, clusterSize <= 2 << 20, clusterSize & (clusterSize - 1) == 0 else {
            throw ImagePackError(.invalidArgument, "qcow2 cluster size \(clusterSize) must be a power of two from 512 bytes to 2 MiB", field: "clusterSize")
        }
        switch compression {
        case .none: break
        case .zlib:
            guard Codec.zlib.levels.contains(effectiveLevel) else {
                throw ImagePackError(.invalidArgument, "level \(effectiveLevel) is not valid for zlib (1...9)", field: "level")
            }
        case .zstd:
            guard Codec.zstd.levels.contains(effectiveLevel) else {
                throw ImagePackError(.invalidArgument, "level \(effectiveLevel) is not valid for zstd (1...19)", field: "level")
            }
        }
        guard (1...256).contains(threads) else {
            throw ImagePackError(.invalidArgument, "threads must be 1...256, got \(threads)", field: "threads")
        }
    }
}

/// What an export wrote, for reports.
public struct ExportSummary: Sendable, Hashable {
    public var format: ExportFormat
    /// Size of the disk (the stream's logical size).
    public var virtualSize: UInt64
    /// Length of the file written (its apparent size; holes included).
    public var fileLength: UInt64
    /// Bytes of disk content written (allocated data), excluding holes and qcow2 metadata.
    public var dataBytes: UInt64
    /// qcow2 only: clusters stored as they are, compressed, and reading as zeros (left unallocated,
    /// or for an overlay, zero clusters over non-zero parent content).
    public var storedClusters: UInt64 = 0
    public var compressedClusters: UInt64 = 0
    public var zeroClusters: UInt64 = 0
    /// qcow2 overlay only: clusters left unallocated because the backing file holds the same bytes.
    public var backingClusters: UInt64 = 0
    /// qcow2 only: cluster size used.
    public var clusterSize: Int?
}
