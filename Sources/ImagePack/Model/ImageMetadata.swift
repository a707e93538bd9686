/// What kind of machine an image describes and who may use it (spec §5).
///
/// Stored as canonical JSON (spec §5.3: sorted keys, no white space) in the image's META
/// record; its SHA-256 is part of the root digest, so changing any field changes the image's identity.
public struct ImageMetadata: Codable, Sendable, Equatable {
    /// Version of this schema; readers refuse versions they do not know.
    public var schemaVersion: Int = 1
    public var name: String
    public var description: String?
    public var os: OperatingSystem
    public var architecture: Architecture
    public var bootMode: BootMode
    public var vcpuCount: Int
    /// Memory of the instance in MiB.
    public var memoryMiB: Int
    /// When the image was taken, as RFC 3339 (UTC). Set by the caller so that output stays reproducible.
    public var createdAt: String?
    public var sourceInstanceID: String?
    public var region: String?
    public var ownerAccount: String?
    public var visibility: Visibility
    /// Accounts the image is shared with (meaningful when visibility is `shared`).
    public var sharedWith: [String]
    public var tags: [String: String]

    public struct OperatingSystem: Codable, Sendable, Equatable {
        /// "linux", "windows", "bsd", "other".
        public var family: String
        /// e.g. "debian", "ubuntu", "windows-server".
        public var distribution: String?
        public var version: String?
        public init(family: String, distribution: String? = nil, version: String? = nil) {
            self.family = family
            self.distribution = distribution
            self.version = version
        }
    }

    public enum Architecture: String, Codable, Sendable, CaseIterable {
        case x86_64, arm64, riscv64, ppc64le, s390x, i386
    }

    public enum BootMode: String, Codable, Sendable, CaseIterable {
        case bios, uefi, uefiPreferred = "uefi-preferred"
    }

    public enum Visibility: String, Codable, Sendable, CaseIterable {
        /// Anyone may launch it.
        case `public`
        /// Private to the owner account.
        case custom
        /// The owner and the accounts in `sharedWith`.
        case shared
    }

    public init(
        name: String, description: String? = nil, os: OperatingSystem = .init(family: "linux"),
        architecture: Architecture = .x86_64, bootMode: BootMode = .uefi, vcpuCount: Int = 2, memoryMiB: Int = 4096,
        createdAt: String? = nil, sourceInstanceID: String? = nil, region: String? = nil, ownerAccount: String? = nil,
        visibility: Visibility = .custom, sharedWith: [String] = [], tags: [String: String] = [:]
    ) {
        self.name = name
        self.description = description
        self.os = os
        self.architecture = architecture
        self.bootMode = bootMode
        self.vcpuCount = vcpuCount
        self.memoryMiB = memoryMiB
        self.createdAt = createdAt
        self.sourceInstanceID = sourceInstanceID
        self.region = region
        self.ownerAccount = ownerAccount
        self.visibility = visibility
        self.sharedWith = sharedWith
        self.tags = tags
    }
}
