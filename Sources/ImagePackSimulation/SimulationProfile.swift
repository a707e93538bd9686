import ImagePack

/// What kind of machine a ``SimulatedDisk`` imitates: how much of it is unallocated and what the
/// allocated part holds. Each mix is chosen so that compression and deduplication meet the same
/// kinds of data, in roughly the same proportions, as on a real instance's disk.
///
/// The disk is laid out in 4 MiB zones of 64 KiB regions. A zone is wholly unallocated, wholly
/// allocated, or allocated over one contiguous run of regions, so zeros come as large extents,
/// as on a real file system. The allocated regions are grouped into 256 KiB extents, each given
/// one content class; the proportions below are shares of the allocated space.
public enum SimulationProfile: String, CaseIterable, Sendable {
    /// A Linux server's root disk, about 50% unallocated. The allocated half holds file-system
    /// metadata (inode tables, bitmaps, directory blocks, group descriptors: 6%), text files (config,
    /// source, prose: 28%), logs (10%), ELF-like binaries (skewed bytes, many zero bytes: 26%),
    /// already-compressed blobs (random bytes: 13%) and duplicated 64 KiB regions (17%, a few dozen
    /// distinct contents repeated across the disk). About 4% of text and binary 4 KiB blocks are
    /// copies from a pool of 256 blocks, so 4 KiB deduplication has something to find too.
    case server

    /// A database server's data disk, about 13% unallocated. Mostly dense 4 KiB table pages
    /// (row headers, integer, timestamp and short text columns, some free space: 80%), file-system
    /// metadata (4%), write-ahead-log-like text (4%), compressed blobs (8%) and duplicated regions (4%).
    case database

    /// A freshly provisioned or mostly empty disk, about 90% unallocated; the allocated part has
    /// the ``server`` mix.
    case zeroHeavy = "zero-heavy"

    /// Incompressible random bytes throughout, no zeros and no duplicates: the worst case for
    /// compression and deduplication.
    case random
}

/// The content class of an allocated region.
enum SimulatedContentClass: UInt8 {
    case zero, metadata, text, log, binary, database, compressed, duplicate
}

extension SimulationProfile {
    /// A constant mixed into every hash, so that profiles differ for the same seed. Fixed values,
    /// not `hashValue`, which changes from one process to the next.
    var salt: UInt64 {
        switch self {
        case .server: 0x5345_5256_4552_0001
        case .database: 0x4441_5441_4241_0002
        case .zeroHeavy: 0x5A45_524F_4845_0003
        case .random: 0x5241_4E44_4F4D_0004
        }
    }

    /// Per mille of zones that are wholly unallocated, and wholly allocated; the rest are partly allocated.
    var zonePlan: (zero: UInt64, full: UInt64) {
        switch self {
        case .server: (300, 300)
        case .database: (50, 800)
        case .zeroHeavy: (830, 40)
        case .random: (0, 1000)
        }
    }

    /// The class of an allocated extent, from a uniform draw in 0 ..< 1000.
    func contentClass(permille u: UInt64) -> SimulatedContentClass {
        switch self {
        case .server, .zeroHeavy:
            if u < 60 { return .metadata }
            if u < 340 { return .text }
            if u < 440 { return .log }
            if u < 700 { return .binary }
            if u < 830 { return .compressed }
            return .duplicate
        case .database:
            if u < 800 { return .database }
            if u < 840 { return .metadata }
            if u < 880 { return .log }
            if u < 960 { return .compressed }
            return .duplicate
        case .random:
            return .compressed
        }
    }

    /// The class of a duplicated region's content, from a hash of its pool entry.
    func duplicateClass(_ h: UInt64) -> SimulatedContentClass {
        switch self {
        case .server, .zeroHeavy:
            switch h % 8 {
            case 0, 1, 2: .text
            case 3, 4, 5: .binary
            case 6: .log
            default: .metadata
            }
        case .database: h % 4 == 0 ? .metadata : .database
        case .random: .compressed
        }
    }
}
