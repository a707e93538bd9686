/// The kind of a stream (spec §6): a block device, or another section of machine state.
public enum StreamKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case disk = 0
    /// A memory snapshot of the running instance.
    case memory = 1
    /// UEFI variable store.
    case nvram = 2
    /// Any other opaque blob of machine state.
    case blob = 3

    public var description: String {
        switch self {
        case .disk: "disk"
        case .memory: "memory"
        case .nvram: "nvram"
        case .blob: "blob"
        }
    }
}

/// One named stream of an image: a disk or another section of machine state.
public struct StreamSpec: Sendable {
    public var name: String
    public var kind: StreamKind
    /// Logical sector size the guest sees (512 or 4096 for disks, 1 for blobs).
    public var blockSize: UInt32
    public var source: any StreamSource

    public init(name: String, kind: StreamKind = .disk, blockSize: UInt32 = 512, source: any StreamSource) {
        self.name = name
        self.kind = kind
        self.blockSize = blockSize
        self.source = source
    }
}

/// A whole machine's state, ready to be written as one image: metadata plus ordered streams.
public struct SystemState: Sendable {
    public var metadata: ImageMetadata
    /// Disks first by convention, then other sections; the order is kept in the image.
    public var streams: [StreamSpec]

    public init(metadata: ImageMetadata, streams: [StreamSpec]) {
        self.metadata = metadata
        self.streams = streams
    }

    /// The streams that are disks.
    public var disks: [StreamSpec] { streams.filter { $0.kind == .disk } }
}
