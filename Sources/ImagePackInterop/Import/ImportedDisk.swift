import ImagePack

/// A foreign disk image opened for import: a `StreamSource` plus what was learned about it.
public struct ImportedDisk: Sendable {
    /// Facts about the imported file, for reports and `--json` output.
    public struct Facts: Sendable, Hashable {
        /// The variant read: "raw", "qcow2 v3", "monolithicSparse", "streamOptimized", "fixed", "dynamic".
        public var variant: String
        /// Size of the imported file itself.
        public var fileSize: UInt64
        /// Allocation unit in bytes: qcow2 cluster, VMDK grain, VHD block; nil for raw and fixed VHD.
        public var clusterSize: Int?
        /// Codec of compressed clusters or grains ("zlib", "zstd", "deflate"), nil when the format
        /// does not compress. For qcow2, whether any cluster actually is compressed is not scanned.
        public var compression: String?
        /// The backing (parent) file named by a qcow2 image, as raw text from the file. Never opened.
        public var backingFile: String?
        /// Number of internal snapshots (qcow2). Only the active disk is read.
        public var snapshotCount: Int
        /// Anything a careful user should know (dirty bit set, unclean shutdown...).
        public var notes: [String]

        init(
            variant: String, fileSize: UInt64, clusterSize: Int? = nil, compression: String? = nil,
            backingFile: String? = nil, snapshotCount: Int = 0, notes: [String] = []
        ) {
            self.variant = variant
            self.fileSize = fileSize
            self.clusterSize = clusterSize
            self.compression = compression
            self.backingFile = backingFile
            self.snapshotCount = snapshotCount
            self.notes = notes
        }
    }

    /// The disk, readable at any offset from any thread.
    public let source: any StreamSource
    /// The format found in the file's content.
    public let format: ForeignFormat
    /// Size of the virtual disk in bytes (the size `qemu-img convert -O raw` produces).
    public var virtualSize: UInt64 { source.logicalSize }
    public let facts: Facts

    init(source: any StreamSource, format: ForeignFormat, facts: Facts) {
        self.source = source
        self.format = format
        self.facts = facts
    }
}
