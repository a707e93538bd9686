import ImagePack

/// One layer of an image in a registry: a run of consecutive CHNK records, as bytes of the file
/// (spec/REGISTRY.md §4).
public struct LayerRange: Sendable, Equatable {
    /// Where the layer's first byte lies in the file.
    public let offset: UInt64
    public let length: UInt64
    /// The index entries whose records the layer holds, inclusive.
    public let firstEntry: Int
    public let lastEntry: Int

    public var end: UInt64 { offset + length }
}

/// How an image file maps to a config blob and layer blobs (spec/REGISTRY.md §3-§4): the file is
/// `head ‖ layer 0 ‖ … ‖ layer m−1 ‖ tail`, the config is `head ‖ tail`.
public struct RegistryLayout: Sendable, Equatable {
    public let fileLength: UInt64
    /// Header, META, STRM (and PRNT): `0 ..< headLength`.
    public let headLength: UInt64
    /// Everything after the last CHNK record: `tailOffset ..< fileLength`.
    public let tailOffset: UInt64
    public let layers: [LayerRange]
    /// The expected group length in records (`k` of §4), which the record count picks.
    public let groupRecords: Int

    public var tailLength: UInt64 { fileLength - tailOffset }
    /// The config blob's length: head and tail.
    public var configLength: UInt64 { headLength + tailLength }
    /// The config's bytes, as ranges of the file, in order.
    public var configRanges: [Range<UInt64>] { [0..<headLength, tailOffset..<fileLength] }

    /// Fewest records in a group's expected length (§4: about 5-8 MiB of compressed layer at the
    /// default 4 MiB chunks, so one changed chunk re-sends little).
    public static let minimumGroupRecords = 4
    /// Layers an image has on average at most: `k` doubles with the record count to keep it so.
    public static let targetLayerCount = 256
    /// No group grows past this many bytes unless a single record is larger.
    public static let maxLayerBytes: UInt64 = 2 << 30

    /// The layout of an opened image.
    public init(_ reader: ImageReader) {
        var records: [(entry: Int, offset: UInt64, size: UInt64, key: UInt64)] = []
        for (i, e) in reader.entries.enumerated() where e.kind != .zero {
            records.append((i, e.recordOffset, e.storedSize, Self.cutKey(e.contentDigest)))
        }
        self.init(fileLength: reader.fileLength, dataStart: reader.dataAreaStart, records: records)
    }

    /// The layout of a file whose data area starts at `dataStart`, with `records` in file order.
    package init(fileLength: UInt64, dataStart: UInt64, records: [(entry: Int, offset: UInt64, size: UInt64, key: UInt64)]) {
        self.fileLength = fileLength
        headLength = dataStart
        let k = Self.groupRecords(recordCount: records.count)
        groupRecords = k
        // Indices into `records` where each group starts.
        var starts: [Int] = []
        var count = 0
        var bytes: UInt64 = 0
        for (j, r) in records.enumerated() {
            if count == 0 { starts.append(j) }
            count += 1
            bytes += r.size
            let nextTooBig = j + 1 < records.count && bytes + records[j + 1].size > Self.maxLayerBytes
            if (count >= k / 2 && r.key % UInt64(k) == 0) || count == 4 * k || nextTooBig {
                count = 0
                bytes = 0
            }
        }
        var layers: [LayerRange] = []
        for (g, s) in starts.enumerated() {
            let lastRecord = g + 1 < starts.count ? starts[g + 1] - 1 : records.count - 1
            let begin = g == 0 ? dataStart : records[s].offset
            let end = g + 1 < starts.count ? records[starts[g + 1]].offset : records[lastRecord].offset + records[lastRecord].size
            layers.append(LayerRange(offset: begin, length: end - begin, firstEntry: records[s].entry, lastEntry: records[lastRecord].entry))
        }
        self.layers = layers
        tailOffset = layers.last?.end ?? dataStart
    }

    /// `k` of §4: max(4, the power of two at or above ceil(n / 256)).
    static func groupRecords(recordCount n: Int) -> Int {
        let wanted = (n + targetLayerCount - 1) / targetLayerCount
        var k = minimumGroupRecords
        while k < wanted { k *= 2 }
        return k
    }

    /// The first 8 bytes of a content digest as a little-endian number: what decides a content cut.
    static func cutKey(_ digest: Digest) -> UInt64 {
        digest.bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
