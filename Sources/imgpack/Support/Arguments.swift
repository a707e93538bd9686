import ArgumentParser
import ImagePack

/// `NAME=PATH`: a stream of the image and the raw file it comes from.
struct DiskArgument: ExpressibleByArgument, Sendable {
    var name: String
    var path: String

    init?(argument: String) {
        guard let eq = argument.firstIndex(of: "="), eq != argument.startIndex, argument.index(after: eq) != argument.endIndex else { return nil }
        name = String(argument[..<eq])
        path = String(argument[argument.index(after: eq)...])
    }
}

/// `KIND:NAME=PATH`: a non-disk section of machine state (a memory snapshot, the NVRAM).
struct SectionArgument: ExpressibleByArgument, Sendable {
    var kind: SectionKind
    var name: String
    var path: String

    init?(argument: String) {
        guard let colon = argument.firstIndex(of: ":"), let kind = SectionKind(rawValue: String(argument[..<colon])),
            let rest = DiskArgument(argument: String(argument[argument.index(after: colon)...]))
        else { return nil }
        self.kind = kind
        name = rest.name
        path = rest.path
    }
}

/// The kinds of section `--section` accepts.
enum SectionKind: String, ExpressibleByArgument, CaseIterable, Sendable {
    case memory, nvram, blob

    var streamKind: StreamKind {
        switch self {
        case .memory: .memory
        case .nvram: .nvram
        case .blob: .blob
        }
    }

    /// Memory is addressed in pages; NVRAM and blobs are plain byte strings.
    var blockSize: UInt32 { self == .memory ? 4096 : 1 }
}

/// `KEY=VALUE`.
struct TagArgument: ExpressibleByArgument, Sendable {
    var key: String
    var value: String

    init?(argument: String) {
        guard let eq = argument.firstIndex(of: "="), eq != argument.startIndex else { return nil }
        key = String(argument[..<eq])
        value = String(argument[argument.index(after: eq)...])
    }
}

/// `FAMILY[:DISTRIBUTION[:VERSION]]`, such as `linux:debian:12`.
struct OSArgument: ExpressibleByArgument, Sendable {
    var os: ImageMetadata.OperatingSystem

    init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard let family = parts.first, !family.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        os = .init(family: family, distribution: parts.count > 1 ? parts[1] : nil, version: parts.count > 2 ? parts[2] : nil)
    }
}

/// Memory of the instance: a bare number is MiB; `16G`, `512MiB` are converted.
struct MemoryArgument: ExpressibleByArgument, Sendable {
    var mebibytes: Int

    init?(argument: String) {
        if let plain = Int(argument) {
            guard plain > 0 else { return nil }
            mebibytes = plain
            return
        }
        guard let bytes = ByteCount.parse(argument), bytes >= 1 << 20, bytes % (1 << 20) == 0, let mib = Int(exactly: bytes >> 20) else { return nil }
        mebibytes = mib
    }
}

extension ImageMetadata.Architecture: ExpressibleByArgument {}
extension ImageMetadata.BootMode: ExpressibleByArgument {}
extension ImageMetadata.Visibility: ExpressibleByArgument {}

/// Checks a stream name the way the library will, so that a bad name is a usage error (exit 2)
/// reported before anything is read.
func validateStreamName(_ name: String, option: String) throws {
    do {
        try StreamName.validate(name)
    } catch {
        throw ValidationError("\(option) \"\(name)\": \(error.message)")
    }
}
