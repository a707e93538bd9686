import ArgumentParser
import Foundation
import ImagePack

/// The metadata flags of `pack`. Each flag overrides the same field of `--metadata FILE`.
struct MetadataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Metadata as JSON (the \"metadata\" object of `info --json`); any field may be left out and set by the flags below.", valueName: "file.json"), completion: .file(extensions: ["json"]))
    var metadata: String?

    @Option(help: "Name of the image (default: from --metadata or --simulate, else the stem of -o FILE).")
    var name: String?

    @Option(help: "Free-text description.")
    var description: String?

    @Option(help: ArgumentHelp("Operating system as FAMILY[:DISTRIBUTION[:VERSION]] (default: linux).", valueName: "os"))
    var os: OSArgument?

    @Option(help: "CPU architecture (default: x86_64).")
    var arch: ImageMetadata.Architecture?

    @Option(help: "Firmware the image boots with (default: uefi).")
    var bootMode: ImageMetadata.BootMode?

    @Option(help: ArgumentHelp("Virtual CPUs, 1-4096 (default: 2).", valueName: "n"))
    var vcpus: Int?

    @Option(help: ArgumentHelp("Memory of the instance: MiB, or a size such as 16G (default: 4096).", valueName: "size"))
    var memory: MemoryArgument?

    @Option(help: "Who may launch the image (default: custom, the owner only).")
    var visibility: ImageMetadata.Visibility?

    @Option(name: .customLong("share-with"), help: ArgumentHelp("An account the image is shared with; repeat for several. Implies --visibility shared.", valueName: "account"))
    var shareWith: [String] = []

    @Option(name: .customLong("tag"), help: ArgumentHelp("A tag; repeat for several.", valueName: "key=value"))
    var tags: [TagArgument] = []

    @Option(help: "Region the image belongs to.")
    var region: String?

    @Option(help: "Account that owns the image.")
    var ownerAccount: String?

    @Option(help: "Instance the image was taken from.")
    var sourceInstanceID: String?

    @Option(help: ArgumentHelp("When the image was taken, RFC 3339 (default: $SOURCE_DATE_EPOCH if set, else now, UTC).", valueName: "time"))
    var createdAt: String?

    func validate() throws {
        if let vcpus, !(1...4096).contains(vcpus) { throw ValidationError("--vcpus must be 1-4096, got \(vcpus).") }
        if !shareWith.isEmpty, let visibility, visibility != .shared {
            throw ValidationError("--share-with needs --visibility shared, not \(visibility.rawValue).")
        }
        var keys = Set<String>()
        for tag in tags where !keys.insert(tag.key).inserted { throw ValidationError("--tag \(tag.key) is given twice.") }
    }

    /// `web-1` for `dir/web-1.ipk`; nil for standard output and for names with no stem (`.ipk`).
    static func stem(of output: String) -> String? {
        guard output != "-" else { return nil }
        let stem = ((output as NSString).lastPathComponent as NSString).deletingPathExtension
        return stem.isEmpty || stem.hasPrefix(".") ? nil : stem
    }

    /// The metadata for the image: `base` (from a simulation, or nil), then the file, then the flags.
    /// - Parameter output: the -o argument: without a name from the flags, the file or `base`, the
    ///   image is named after the file's stem (`web-1.ipk` → `web-1`); standard output has none.
    func resolve(base: ImageMetadata?, output: String) throws -> ImageMetadata {
        var file = MetadataFile()
        if let path = metadata { file = try MetadataFile.load(path) }
        guard let name = name ?? file.name ?? base?.name ?? Self.stem(of: output) else {
            throw ValidationError("The image needs a name: pass --name, or a --metadata file with a \"name\" (with -o FILE the name defaults to the file's stem).")
        }
        var m = base ?? ImageMetadata(name: name)
        m.name = name
        if let v = description ?? file.description { m.description = v }
        if let v = os?.os ?? file.os { m.os = v }
        if let v = arch ?? file.architecture { m.architecture = v }
        if let v = bootMode ?? file.bootMode { m.bootMode = v }
        if let v = vcpus ?? file.vcpuCount { m.vcpuCount = v }
        if let v = memory?.mebibytes ?? file.memoryMiB { m.memoryMiB = v }
        if let v = region ?? file.region { m.region = v }
        if let v = ownerAccount ?? file.ownerAccount { m.ownerAccount = v }
        if let v = sourceInstanceID ?? file.sourceInstanceID { m.sourceInstanceID = v }
        if let v = file.visibility { m.visibility = v }
        if let v = file.sharedWith { m.sharedWith = v }
        if let v = file.tags { m.tags = v }
        if !shareWith.isEmpty {
            m.sharedWith = shareWith
            m.visibility = .shared
        }
        if let visibility { m.visibility = visibility }
        for tag in tags { m.tags[tag.key] = tag.value }
        if let createdAt {
            m.createdAt = createdAt
        } else if file.createdAt != nil || base?.createdAt != nil {
            m.createdAt = file.createdAt ?? base?.createdAt
        } else {
            m.createdAt = try Self.defaultCreatedAt()
        }
        do {
            try m.validate()
        } catch {
            let flag = error.field.map { " (\($0))" } ?? ""
            throw ValidationError("Invalid metadata\(flag): \(error.message).")
        }
        return m
    }

    /// `$SOURCE_DATE_EPOCH` (reproducible builds) or the current time, as RFC 3339 UTC.
    static func defaultCreatedAt() throws -> String {
        if let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"] {
            guard let seconds = Int(epoch), seconds >= 0 else {
                throw ValidationError("SOURCE_DATE_EPOCH must be whole seconds since 1970, got \"\(epoch)\".")
            }
            return rfc3339(seconds: seconds)
        }
        return rfc3339(seconds: Int(time(nil)))
    }

    /// Seconds since 1970 as `YYYY-MM-DDThh:mm:ssZ`.
    static func rfc3339(seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(parts.tm_year + 1900)
        return "\(year)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

/// `--metadata FILE`: any subset of ``ImageMetadata``'s fields; unknown keys are refused so
/// that a misspelt key is not silently dropped.
struct MetadataFile: Decodable {
    var schemaVersion: Int?
    var name: String?
    var description: String?
    var os: ImageMetadata.OperatingSystem?
    var architecture: ImageMetadata.Architecture?
    var bootMode: ImageMetadata.BootMode?
    var vcpuCount: Int?
    var memoryMiB: Int?
    var createdAt: String?
    var sourceInstanceID: String?
    var region: String?
    var ownerAccount: String?
    var visibility: ImageMetadata.Visibility?
    var sharedWith: [String]?
    var tags: [String: String]?

    static let keys: Set<String> = [
        "schemaVersion", "name", "description", "os", "architecture", "bootMode", "vcpuCount", "memoryMiB", "createdAt",
        "sourceInstanceID", "region", "ownerAccount", "visibility", "sharedWith", "tags",
    ]

    static func load(_ path: String) throws -> MetadataFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure(.io, "\(path): cannot read the metadata file: \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("\(path): the metadata file is not a JSON object.")
        }
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw ValidationError("\(path): unknown metadata key \"\(unknown)\"; known keys: \(keys.sorted().joined(separator: ", ")).")
        }
        do {
            let file = try JSONDecoder().decode(MetadataFile.self, from: data)
            if let version = file.schemaVersion, version != 1 {
                throw ValidationError("\(path): schemaVersion \(version) is not supported (only 1).")
            }
            return file
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(path): the metadata does not fit the schema: \(error)")
        }
    }
}
