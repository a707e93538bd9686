import ImagePack

/// Builds a `SystemState` from foreign disk images (raw, qcow2, VMDK, VHD), ready for
/// `ImageWriter`: the import half of `imgpack import`.
public enum ImageImporter {
    /// One foreign disk to import.
    public struct Source: Sendable {
        /// The disk image file; opened read-only, never anything it names.
        public var path: String
        /// The expected format, or nil to detect it from the content.
        public var format: ForeignFormat?
        /// Name of the disk in the image (spec §6 stream names), e.g. "root".
        public var diskName: String
        /// Logical sector size the guest sees.
        public var blockSize: UInt32
        /// For a qcow2 image with a backing file: the parent disk, opened by the caller
        /// (see ``ImageImporter/openBacking(path:format:limits:)``).
        public var backing: (any StreamSource)?

        public init(path: String, format: ForeignFormat? = nil, diskName: String, blockSize: UInt32 = 512, backing: (any StreamSource)? = nil) {
            self.path = path
            self.format = format
            self.diskName = diskName
            self.blockSize = blockSize
            self.backing = backing
        }
    }

    /// The state to write and what was learned about each imported file, in the same order.
    public struct Plan: Sendable {
        public var state: SystemState
        public var disks: [ImportedDisk]
    }

    /// The metadata tag that records where disk `name` came from, e.g. `imported-from.root`.
    public static func provenanceTag(disk name: String) -> String { "imported-from.\(name)" }

    /// Opens every source and builds the state to write.
    ///
    /// - Parameters:
    ///   - sources: the disks, in the order they will appear in the image.
    ///   - metadata: the image's metadata.
    ///   - recordProvenance: add a tag per disk, `imported-from.<disk>` = the variant read
    ///     ("qcow2 v3", "VMDK streamOptimized", "VHD dynamic", "raw"...). Host paths and
    ///     backing-file names are never recorded. The tags are part of the image's identity, so the
    ///     same disk imported from two formats gives two root digests; pass false to avoid that.
    /// - Throws: whatever ``ForeignFormat/open(path:format:limits:backing:)`` throws, and
    ///   `.invalidArgument` for no sources or a disk name used twice.
    public static func plan(
        _ sources: [Source], metadata: ImageMetadata, limits: ImportLimits = .init(), recordProvenance: Bool = true
    ) throws(ImagePackError) -> Plan {
        guard !sources.isEmpty else { throw ImagePackError(.invalidArgument, "nothing to import: give at least one disk image") }
        var names = Set<String>()
        var metadata = metadata
        var disks: [ImportedDisk] = []
        var streams: [StreamSpec] = []
        for source in sources {
            guard names.insert(source.diskName).inserted else {
                throw ImagePackError(.invalidArgument, "disk name \"\(source.diskName)\" is used twice; name each disk", stream: source.diskName)
            }
            let disk = try ForeignFormat.open(path: source.path, format: source.format, limits: limits, backing: source.backing)
            disks.append(disk)
            streams.append(StreamSpec(name: source.diskName, kind: .disk, blockSize: source.blockSize, source: disk.source))
            if recordProvenance {
                var text = disk.facts.variant
                if disk.format != .raw && !text.lowercased().contains(disk.format.rawValue) { text = "\(disk.format.displayName) \(text)" }
                metadata.tags[provenanceTag(disk: source.diskName)] = text
            }
        }
        return Plan(state: SystemState(metadata: metadata, streams: streams), disks: disks)
    }

    /// Opens the backing (parent) file of a qcow2 image, as the caller named it. Only one level:
    /// a backing file that has its own backing file is refused by the qcow2 reader.
    public static func openBacking(path: String, format: ForeignFormat? = nil, limits: ImportLimits = .init()) throws(ImagePackError) -> any StreamSource {
        try ForeignFormat.open(path: path, format: format, limits: limits).source
    }
}
