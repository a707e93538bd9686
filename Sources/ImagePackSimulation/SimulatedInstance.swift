import ImagePack

/// A whole simulated machine: metadata plus ``SimulatedDisk``s, all determined by one seed, so
/// tests, benchmarks and demos can write realistic images of any size without fixtures.
public enum SimulatedInstance {
    /// One disk of a simulated instance.
    public typealias Disk = (name: String, size: UInt64, profile: SimulationProfile)

    /// The default layout: a 8 GiB root disk (``SimulationProfile/server``) and a 4 GiB data disk
    /// (``SimulationProfile/database``).
    public static let defaultDisks: [Disk] = [
        (name: "root", size: 8 << 30, profile: .server),
        (name: "data", size: 4 << 30, profile: .database),
    ]

    /// A machine state with `disks` in order, and metadata derived from `seed`.
    ///
    /// Each disk's content is seeded by `seed` and the disk's name, so renaming or reordering
    /// other disks leaves it unchanged.
    public static func state(seed: UInt64, disks: [Disk] = defaultDisks) -> SystemState {
        let streams = disks.map { disk in
            StreamSpec(
                name: disk.name, kind: .disk, blockSize: 512,
                source: SimulatedDisk(seed: diskSeed(seed, name: disk.name), size: disk.size, profile: disk.profile))
        }
        return SystemState(metadata: metadata(seed: seed), streams: streams)
    }

    /// The two-disk default with chosen sizes: root (server) and data (database).
    public static func state(seed: UInt64, rootSize: UInt64, dataSize: UInt64) -> SystemState {
        state(seed: seed, disks: [(name: "root", size: rootSize, profile: .server), (name: "data", size: dataSize, profile: .database)])
    }

    /// The seed of a named disk of the instance seeded by `seed` (FNV-1a of the name, mixed in).
    public static func diskSeed(_ seed: UInt64, name: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 {
            h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return simHash(seed, h)
    }

    /// Plausible metadata for a Debian 12 cloud instance, the same for the same seed.
    public static func metadata(seed: UInt64) -> ImageMetadata {
        var rng = SimRandom(key: simHash(seed, 0x4D45_5441))
        let hex = String(rng.next(), radix: 16)
        let name = "sim-" + String(repeating: "0", count: 16 - hex.count) + hex
        let vcpus = [2, 4, 8, 16][Int(rng.below(4))]
        let memory = vcpus * [2048, 4096, 8192][Int(rng.below(3))]
        // Some time in 2023-2024.
        let created = 1_672_531_200 + rng.below(2 * 365 * 86400)
        let instance = String(rng.next() & 0x0FFF_FFFF_FFFF_FFFF | 0x0100_0000_0000_0000, radix: 16)
        let regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ap-northeast-1"]
        let region = regions[Int(rng.below(UInt64(regions.count)))]
        let owner = String(100_000_000_000 + rng.below(900_000_000_000))
        let environment = ["production", "staging", "development"][Int(rng.below(3))]
        let team = ["platform", "payments", "search", "data", "web"][Int(rng.below(5))]
        return ImageMetadata(
            name: name,
            description: "Simulated Debian 12 server (seed \(seed))",
            os: .init(family: "linux", distribution: "debian", version: "12"),
            architecture: .x86_64, bootMode: .uefi, vcpuCount: vcpus, memoryMiB: memory,
            createdAt: rfc3339(seconds: created), sourceInstanceID: "i-" + instance, region: region,
            ownerAccount: owner, visibility: .custom, sharedWith: [],
            tags: ["Name": name, "environment": environment, "team": team, "simulated": "true"])
    }

    /// Seconds since 1970 as "YYYY-MM-DDThh:mm:ssZ" (days to civil date: Howard Hinnant's algorithm).
    static func rfc3339(seconds: UInt64) -> String {
        let days = Int(seconds / 86400)
        let time = Int(seconds % 86400)
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(time / 3600)):\(two(time / 60 % 60)):\(two(time % 60))Z"
    }
}
