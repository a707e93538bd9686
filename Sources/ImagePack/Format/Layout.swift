/// Fixed numbers of the ImagePack container, version 1 (spec/FORMAT.md).
public enum FormatVersion {
    public static let major: UInt16 = 1
    /// The newest minor version this library reads and writes (1.2: the catalogue record, spec §14).
    public static let minor: UInt16 = 2
    /// The minor version a writer puts in a header: the lowest whose features the image uses, so
    /// that an image without 1.1 or 1.2 features stays byte for byte what a 1.0 writer produced.
    static func minor(for critical: FeatureFlags) -> UInt16 {
        if critical.contains(.catalogue) { return 2 }
        return critical.contains(.parent) ? 1 : 0
    }
}

package enum Layout {
    /// spec §3: "\x89IPK\r\n\x1A\n": the high byte catches 7-bit transports, CR LF and ^Z catch text-mode mangling.
    package static let headerMagic: [UInt8] = [0x89, 0x49, 0x50, 0x4B, 0x0D, 0x0A, 0x1A, 0x0A]
    /// spec §9: "\x89IPKEND\n", the last eight bytes of every image.
    static let footerMagic: [UInt8] = [0x89, 0x49, 0x50, 0x4B, 0x45, 0x4E, 0x44, 0x0A]
    static let headerSize = 64
    static let envelopeSize = 16
    /// spec §7.1: the fixed part of a CHNK body, before its payload.
    static let chunkHeaderSize = 68
    /// Envelope plus chunk header: what a reader fetches before the payload.
    static let chunkPrefixSize = envelopeSize + chunkHeaderSize
    static let footerSize = 96
    static let indexFixedSize = 112
    static let indexEntrySize = 64
    /// Tag that starts the root digest input (spec §8.3), so it can never equal a digest of something else.
    static let rootDomain: [UInt8] = Array("IMGPACK-ROOT-v1\0".utf8)
}

/// Four-character record types (spec §4).
package struct RecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }
    init(_ text: StaticString) {
        precondition(text.utf8CodeUnitCount == 4)
        let p = text.utf8Start
        rawValue = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
    }
    package static let metadata = RecordType("META")
    package static let streams = RecordType("STRM")
    package static let parent = RecordType("PRNT")
    package static let chunk = RecordType("CHNK")
    package static let index = RecordType("INDX")
    package static let signature = RecordType("SIGN")
    /// The catalogue (format 1.2, spec §5.4): name, owner, region, sharing; outside the root digest.
    package static let catalogue = RecordType("CTLG")

    /// Whether this version of the format defines the type (they all carry the critical bit).
    var isDefined: Bool { [.metadata, .streams, .parent, .chunk, .index, .signature, .catalogue].contains(self) }

    package var description: String {
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: rawValue >> (8 * $0)) }
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return String(decoding: bytes, as: UTF8.self) }
        return "0x" + String(rawValue, radix: 16)
    }
}

/// Feature bits of the header (spec §3.2). Critical bits must be understood by a reader.
package struct FeatureFlags: OptionSet, Sendable, Hashable {
    package let rawValue: UInt64
    package init(rawValue: UInt64) { self.rawValue = rawValue }
    /// The image has a PRNT record and chunks of kind `parent`: it is incomplete without its parent.
    package static let parent = FeatureFlags(rawValue: 1 << 0)
    /// The image has chunks of kind `reference` (in-image deduplication).
    package static let references = FeatureFlags(rawValue: 1 << 1)
    /// The image keeps its catalogue (name, owner, region, sharing) in a CTLG record in the tail
    /// area, outside the root digest, and META holds only what the instance is (spec §5.4, §9.4).
    package static let catalogue = FeatureFlags(rawValue: 1 << 2)
    /// Critical bits this version of the library defines.
    static let knownCritical: FeatureFlags = [.parent, .references, .catalogue]
}

/// What a chunk's content is and where it lives (spec §7.2).
public enum ChunkKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// All zero bytes; nothing stored, no CHNK record.
    case zero = 0
    /// Payload is the content, encoded with the chunk's codec.
    case data = 1
    /// Payload is an 8-byte pattern repeated to the chunk's length.
    case fill = 2
    /// Same content as an earlier chunk of this image (reserved in v1 writers).
    case reference = 3
    /// Content is the same range of the parent image (reserved in v1 writers).
    case parent = 4

    public var description: String {
        switch self {
        case .zero: "zero"
        case .data: "data"
        case .fill: "fill"
        case .reference: "reference"
        case .parent: "parent"
        }
    }
}

/// Bounds every reader applies to untrusted images (spec §10). Embedding programs may tighten or
/// widen them; the defaults cover every image the writer can produce.
public struct ImageLimits: Sendable, Hashable {
    /// Largest logical chunk length (also the writer's largest chunk size).
    public var maxChunkSize = 64 << 20
    /// Largest canonical-JSON metadata document.
    public var maxMetadataSize = 1 << 20
    /// Most streams (disks and sections) in one image.
    public var maxStreams = 64
    /// Most chunks in one image (with 4 MiB chunks: 16 TiB).
    public var maxChunks = 1 << 22
    /// Largest logical size of one stream.
    public var maxStreamSize: UInt64 = 1 << 46
    /// Longest stream name in bytes.
    public var maxNameLength = 64
    /// Longest chain of parent images a delta may stand on (spec §9.3): the delta's parent, its
    /// parent's parent, and so on. Every read of a parent chunk descends the chain, so the bound
    /// keeps the cost of one read (and the files a reader holds open) finite.
    public var maxParentDepth = 64
    /// Bytes of chunk buffers a read keeps in flight, whatever its thread count (spec §10): the
    /// pipeline gets fewer slots (and so fewer busy threads) when its chunks are large. Measured:
    /// 16 threads over 64 MiB zstd chunks held 2 GB without it.
    public var maxDecodeMemory = 512 << 20
    /// Most logical bytes of all streams together (spec §10: as much as maxChunks chunks of
    /// maxChunkSize can hold).
    public var maxLogicalBytes: UInt64 = 1 << 48
    /// Most logical bytes of data and fill chunks, what a reader decodes and hashes, per byte of
    /// the file (spec §10, rule V46). The writer's densest chunk, a 64 MiB fill of its own pattern,
    /// takes 156 bytes (record and index entry): about 430,000 per byte; zstd stays under 32,768.
    /// The default bounds every image within maxChunkSize; lower it (to 2^15, say) to bound the
    /// hashing a small untrusted file can ask for.
    public var maxLogicalBytesPerStoredByte: UInt64 = 1 << 20
    /// Farthest a reference chunk's target may lie before the referencing record, in file bytes
    /// (spec §7.2, §10, rule V60). A streaming reader keeps the data and fill records of this much
    /// of the data area to resolve references from a pipe, so it bounds that reader's memory;
    /// writers re-store content whose last copy is farther back.
    public var maxReferenceDistance: UInt64 = 256 << 20

    public init() {}

    /// Largest INDX body these limits allow.
    var maxIndexBody: Int { Layout.indexFixedSize + Layout.indexEntrySize * maxChunks + 4 }
    /// Largest STRM body these limits allow.
    var maxStreamTableBody: Int { 8 + maxStreams * (16 + maxNameLength) + 4 }
}
