/// How a data chunk's payload is encoded (spec §7.2). The numeric values are written to disk.
public enum Codec: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The payload is the chunk's bytes as they are.
    case stored = 0
    /// One Zstandard frame (RFC 8878) with the content size in its header.
    case zstd = 1
    /// One zlib stream (RFC 1950: deflate with an Adler-32 trailer).
    case zlib = 2
    /// One Zstandard frame compressed with the parent's chunk at the same range as a raw-content
    /// prefix (spec §7.3, format 1.1): only in delta images, chosen per chunk by the writer.
    case zstdPatch = 3

    public var description: String {
        switch self {
        case .stored: "stored"
        case .zstd: "zstd"
        case .zlib: "zlib"
        case .zstdPatch: "zstd-patch"
        }
    }

    package init?(name: String) {
        guard let codec = Codec.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = codec
    }

    /// The level used when the caller names none: chosen by measurement (spec, rationale R3).
    public var defaultLevel: Int {
        switch self {
        case .stored: 0
        case .zstd, .zstdPatch: 3
        case .zlib: 6
        }
    }

    /// The levels a caller may ask for.
    public var levels: ClosedRange<Int> {
        switch self {
        case .stored: 0...0
        case .zstd, .zstdPatch: 1...19
        case .zlib: 1...9
        }
    }
}
