import ImagePack

/// Where everything goes in a qcow2 version 3 file the exporter writes, decided before any data
/// is seen (qcow2 spec, qemu `docs/interop/qcow2.txt`).
///
/// The file is laid out front to back:
/// ```
/// cluster 0                 header (104 bytes + compression_type, padded to 112); for an overlay,
///                           the backing format extension and the backing file name after it
/// clusters 1...             L1 table (l1Entries × 8 bytes)
/// then                      refcount table, sized for the largest file this disk can produce
/// then                      refcount blocks for the clusters above ("front")
/// then, in guest order      data clusters (or compressed runs), each L2 table after its data,
///                           and at the first cluster of every further refcount span, that span's block
/// ```
/// Every cluster up to the end is referenced exactly once (a compressed run shares its host
/// clusters, each counted once per run), so refcounts are exact and there are no leaks. Memory:
/// the L1 table (at most 32 MiB, qemu's limit; 32 KiB for 2 TiB at 64 KiB clusters), one L2 table,
/// one refcount block and the refcount table's entries (8 bytes per span of `C × C/2` bytes).
struct Qcow2Geometry: Sendable {
    static let magic: UInt32 = 0x5146_49FB  // "QFI\xfb", header byte 0
    /// 16-bit refcounts (refcount_order 4), as qemu writes by default.
    static let refcountOrder = 4
    /// qemu's implementation limits: L1 table 32 MiB, refcount table 8 MiB.
    static let maxL1Bytes = 32 << 20
    static let maxRefTableBytes = 8 << 20
    /// L1/L2 bit 63: the cluster's refcount is exactly one (COPIED).
    static let copied: UInt64 = 1 << 63
    /// L2 bit 62: a compressed cluster.
    static let compressedFlag: UInt64 = 1 << 62
    /// L2 bit 0 of a standard cluster (version 3): reads as zeros, whatever the backing file holds.
    static let zeroFlag: UInt64 = 1
    static let headerLength = 112

    let clusterBits: Int
    let clusterSize: Int
    let virtualSize: UInt64
    let guestClusters: UInt64
    /// Entries in one L2 table (and guest clusters it maps).
    let l2Entries: Int
    let l1Entries: Int
    let l1Clusters: Int
    /// Entries in one refcount block: host clusters of one span.
    let spanClusters: Int
    let refTableClusters: Int
    /// Refcount blocks in the front region (one per span it touches).
    let frontRefblocks: Int
    /// Clusters before the first data cluster.
    let frontClusters: Int
    let compression: Qcow2Compression
    /// For an overlay: the backing file name (header bytes 8-19) and format (extension 0xE2792ACA).
    let backing: (name: String, format: Qcow2BackingFormat)?

    var l1Offset: UInt64 { UInt64(clusterSize) }
    var refTableOffset: UInt64 { UInt64(clusterSize) * UInt64(1 + l1Clusters) }
    var refTableCapacity: Int { refTableClusters * clusterSize / 8 }
    var spanBytes: UInt64 { UInt64(spanClusters) * UInt64(clusterSize) }
    /// Offset of the front refcount block of span `s`.
    func frontRefblockOffset(_ s: Int) -> UInt64 { UInt64(clusterSize) * UInt64(1 + l1Clusters + refTableClusters + s) }
    /// Bits of a compressed cluster descriptor that hold the host offset (x = 62 - (cluster_bits - 8)).
    var compressedOffsetBits: Int { 62 - (clusterBits - 8) }

    init(virtualSize: UInt64, clusterSize: Int, compression: Qcow2Compression, backing: (name: String, format: Qcow2BackingFormat)? = nil) throws(ImagePackError) {
        precondition(clusterSize >= 512 && clusterSize <= 2 << 20 && clusterSize & (clusterSize - 1) == 0)
        self.clusterSize = clusterSize
        self.virtualSize = virtualSize
        self.compression = compression
        self.backing = backing
        if let backing {
            // Header, format extension (padded to 8), end of extensions, then the name: all in cluster 0.
            let needed = Self.headerLength + 8 + (backing.format.rawValue.utf8.count + 7) / 8 * 8 + 8 + backing.name.utf8.count
            guard needed <= clusterSize else {
                throw ImagePackError(.invalidArgument, "the backing file name (\(backing.name.utf8.count) bytes) does not fit in the header cluster of \(clusterSize) bytes; use a larger cluster size or a shorter name", field: "clusterSize")
            }
        }
        clusterBits = clusterSize.trailingZeroBitCount
        let c = UInt64(clusterSize)
        guestClusters = virtualSize / c + (virtualSize % c == 0 ? 0 : 1)
        l2Entries = clusterSize / 8
        let l1 = (guestClusters + UInt64(l2Entries) - 1) / UInt64(l2Entries)
        guard l1 * 8 <= UInt64(Self.maxL1Bytes) else {
            throw ImagePackError(
                .invalidArgument,
                "a \(virtualSize)-byte disk needs an L1 table of \(l1 * 8) bytes with \(clusterSize)-byte clusters, over qemu's limit of 32 MiB; use a larger cluster size",
                field: "clusterSize")
        }
        l1Entries = Int(l1)
        l1Clusters = (l1Entries * 8 + clusterSize - 1) / clusterSize
        spanClusters = clusterSize * 8 / (1 << Self.refcountOrder)

        // Size the refcount table for the largest file this disk can become: every guest cluster
        // stored (a compressed run is smaller than a cluster, but may waste the rest of one before
        // the next aligned allocation, hence 2 each), every L2 table likewise, one block per span.
        let span = UInt64(spanClusters)
        var tableClusters = 1
        var front = 0
        var frontBlocks = 1
        while true {
            let base = 1 + l1Clusters + tableClusters
            frontBlocks = 1
            while true {
                let needed = (base + frontBlocks + spanClusters - 1) / spanClusters
                if needed <= frontBlocks { break }
                frontBlocks = needed
            }
            front = base + frontBlocks
            let fixed = UInt64(front) + 2 * guestClusters + 2 * l1 + 2
            var spans: UInt64 = 1
            while true {
                let needed = (fixed + 2 * spans + span - 1) / span
                if needed <= spans { break }
                spans = needed
            }
            let neededTable = Int((spans * 8 + c - 1) / c)
            if neededTable <= tableClusters { break }
            tableClusters = neededTable
        }
        guard tableClusters * clusterSize <= Self.maxRefTableBytes else {
            throw ImagePackError(.invalidArgument, "the refcount table would exceed qemu's limit of 8 MiB; use a larger cluster size", field: "clusterSize")
        }
        refTableClusters = tableClusters
        frontRefblocks = frontBlocks
        frontClusters = front
    }

    /// The header cluster's meaningful bytes (the rest of cluster 0 stays zero). Without a backing
    /// file there are no extensions; with one, the backing format extension, the end marker and
    /// the name follow the header, as `qemu-img create -b` lays them out.
    func encodeHeader() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.headerLength)
        func be32(_ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * i)) } }
        func be64(_ at: Int, _ v: UInt64) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (56 - 8 * i)) } }
        be32(0, Self.magic)
        be32(4, 3)  // version
        // 8-19: no backing file.
        be32(20, UInt32(clusterBits))
        be64(24, virtualSize)
        // 32: crypt_method 0.
        be32(36, UInt32(l1Entries))
        be64(40, l1Entries == 0 ? 0 : l1Offset)
        be64(48, refTableOffset)
        be32(56, UInt32(refTableClusters))
        // 60-71: no snapshots.
        be64(72, compression == .zstd ? 1 << 3 : 0)  // incompatible: bit 3, compression type
        // 80-95: no compatible or autoclear features.
        be32(96, UInt32(Self.refcountOrder))
        be32(100, UInt32(Self.headerLength))
        b[104] = compression == .zstd ? 1 : 0  // compression_type; 105-111 padding
        if let backing {
            let format = Array(backing.format.rawValue.utf8)
            var ext = [UInt8](repeating: 0, count: 8 + (format.count + 7) / 8 * 8 + 8)  // + end-of-extensions (type 0, length 0)
            for i in 0..<4 {
                ext[i] = UInt8(truncatingIfNeeded: Qcow2Backing.formatExtension >> (24 - 8 * i))
                ext[4 + i] = UInt8(truncatingIfNeeded: UInt32(format.count) >> (24 - 8 * i))
            }
            ext.replaceSubrange(8..<8 + format.count, with: format)
            b += ext
            let name = Array(backing.name.utf8)
            be64(8, UInt64(b.count))  // backing_file_offset
            be32(16, UInt32(name.count))  // backing_file_size
            b += name
        }
        return b
    }
}

/// Big-endian 64-bit words, as qcow2 tables are stored.
func encodeBigEndian(_ words: some Collection<UInt64>) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: words.count * 8)
    var i = 0
    for w in words {
        for k in 0..<8 { bytes[i + k] = UInt8(truncatingIfNeeded: w >> (56 - 8 * UInt64(k))) }
        i += 8
    }
    return bytes
}
