import ImagePack

/// Bounds that an imported foreign image must stay within. Every table a qcow2, VMDK or VHD
/// file declares is checked against these before anything is allocated or read, so a hostile
/// file costs at most these amounts of memory and work.
///
/// The defaults admit every image `qemu-img` itself would create up to 16 TiB of virtual size.
public struct ImportLimits: Sendable, Hashable {
    /// Largest virtual disk size accepted. Default 16 TiB: larger than any disk we expect to
    /// pack, small enough that all offset arithmetic stays far from overflow.
    public var maxVirtualSize: UInt64
    /// Largest single top-level table (qcow2 L1 table, VMDK grain directory, VHD BAT) held in
    /// memory, in bytes. Default 32 MiB (qemu's own cap for a qcow2 L1 table).
    public var maxTableBytes: Int
    /// Memory for cached second-level tables (qcow2 L2 tables, VMDK grain tables), in bytes.
    /// Default 16 MiB; the cache evicts beyond this whatever the file claims.
    public var maxCacheBytes: Int
    /// Largest cluster or grain accepted, in bytes. Default 2 MiB (qcow2's maximum). A compressed
    /// cluster or grain is always inflated into a buffer of exactly this unit, never more.
    public var maxClusterSize: Int

    public init(
        maxVirtualSize: UInt64 = 16 << 40, maxTableBytes: Int = 32 << 20,
        maxCacheBytes: Int = 16 << 20, maxClusterSize: Int = 2 << 20
    ) {
        self.maxVirtualSize = maxVirtualSize
        self.maxTableBytes = maxTableBytes
        self.maxCacheBytes = maxCacheBytes
        self.maxClusterSize = maxClusterSize
    }
}
