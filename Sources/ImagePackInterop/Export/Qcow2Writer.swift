import ImagePack

/// Writes one stream of an image as a qcow2 version 3 file (layout: ``Qcow2Geometry``).
///
/// Workers decode and verify the image's chunks, find the all-zero clusters and compress the
/// others, a batch at a time; the calling thread then places the clusters in guest order through
/// ``Qcow2Allocator``. Zero chunks are never decoded and zero clusters never allocated. Memory is
/// at most the reader's `limits.maxDecodeMemory` of unit buffers plus the L1 table: slots are
/// `2 × threads` or fewer when the units are large.
struct Qcow2Writer {
    let reader: ImageReader
    let stream: Int
    let options: ExportOptions
    let geometry: Qcow2Geometry
    /// For an overlay: the content its backing file holds, compared cluster by cluster.
    let base: Qcow2Base?

    /// - Parameter backingFormat: for an overlay (`options.backing`), the backing file's format,
    ///   as ``Qcow2Backing/check(overlayPath:virtualSize:)`` found it.
    init(reader: ImageReader, stream: Int, options: ExportOptions, backingFormat: Qcow2BackingFormat? = nil) throws(ImagePackError) {
        self.reader = reader
        self.stream = stream
        self.options = options
        let size = reader.streams[stream].logicalSize
        if let backing = options.backing, let backingFormat {
            base = try Qcow2Base(image: reader, stream: stream, content: backing.content)
            geometry = try Qcow2Geometry(virtualSize: size, clusterSize: options.clusterSize, compression: options.compression, backing: (backing.name, backingFormat))
        } else {
            base = nil
            geometry = try Qcow2Geometry(virtualSize: size, clusterSize: options.clusterSize, compression: options.compression)
        }
    }

    /// The guest bytes one job covers: a whole number of clusters and, when the sizes allow it,
    /// whole chunks, so each chunk is decoded once (a chunk that does not line up with the units
    /// overlaps at most two, since none is longer than a unit).
    ///
    /// Sized from the index (the stream's longest chunk), never from the header's chunkSize, which
    /// is informational (spec §10): a header claiming 0 divided by zero here, one claiming 4 GiB
    /// sized 4 GiB buffers, and one claiming 64 KiB over 64 MiB chunks decoded each chunk 1,024 times.
    var unitSize: Int {
        let chunk = max(1, reader.largestChunk(ofStream: stream))
        let cluster = geometry.clusterSize
        if chunk % cluster == 0 { return chunk }
        if cluster % chunk == 0 { return cluster }
        return (chunk + cluster - 1) / cluster * cluster
    }

    func write(to output: OutputFile, progress: ProgressHandler?) throws(ImagePackError) -> ExportSummary {
        let geometry = geometry
        let allocator = try Qcow2Allocator(geometry: geometry, output: output)
        let unit = unitSize
        let size = geometry.virtualSize
        let units = Int((size + UInt64(unit) - 1) / UInt64(unit))
        // A slot holds the unit, its compressed clusters, and a chunk straddling the unit's edge.
        // An overlay's slot also holds the parent's bytes of the unit.
        let base = base
        let overlay = base != nil
        let slotBytes = unit * (options.compression == .none ? 1 : 2) + reader.largestChunk(ofStream: stream) + (overlay ? unit : 0)
        let slotCount = OrderedParallel.slotCount(threads: options.threads, slotBytes: slotBytes, budget: reader.limits.maxDecodeMemory)
        let slots = try (0..<slotCount).map { _ throws(ImagePackError) in try Qcow2Slot(unit: unit, options: options, overlay: overlay) }
        let reader = reader
        let stream = stream

        var l1 = [UInt64](repeating: 0, count: geometry.l1Entries)
        var l2 = [UInt64](repeating: 0, count: geometry.l2Entries)
        var l2Index = -1
        var l2Used = false
        var summary = ExportSummary(format: .qcow2, virtualSize: size, fileLength: 0, dataBytes: 0, clusterSize: geometry.clusterSize)

        func flushL2() throws(ImagePackError) {
            guard l2Used else { return }
            let at = try allocator.allocateCluster()
            try allocator.write(encodeBigEndian(l2), at: at)
            l1[l2Index] = at | Qcow2Geometry.copied
            for k in l2.indices { l2[k] = 0 }
            l2Used = false
        }

        var done: UInt64 = 0
        try OrderedParallel.run(
            count: units, slots: slots, lanes: options.threads, cancellation: options.cancellation,
            work: { slot, j in slot.run(reader: reader, stream: stream, unit: j, geometry: geometry, base: base) },
            consume: { (slot, j) throws(ImagePackError) in
                if let error = slot.error { throw error }
                let firstCluster = UInt64(j) * UInt64(unit / geometry.clusterSize)
                for k in 0..<slot.clusterCount {
                    let kind = slot.kinds[k]
                    switch kind {
                    case .zero:
                        summary.zeroClusters += 1
                        continue
                    case .backing:
                        summary.backingClusters += 1
                        continue
                    default:
                        break
                    }
                    let guest = firstCluster + UInt64(k)
                    let index = Int(guest / UInt64(geometry.l2Entries))
                    if index != l2Index {
                        try flushL2()
                        l2Index = index
                    }
                    let entry: UInt64
                    switch kind {
                    case .zero, .backing:
                        continue
                    case .zeroFlag:
                        // Reads as zeros whatever the backing file holds; no host cluster (v3 only).
                        entry = Qcow2Geometry.zeroFlag
                        summary.zeroClusters += 1
                    case .stored:
                        let at = try allocator.allocateCluster()
                        let bytes = UnsafeRawBufferPointer(rebasing: slot.unitBytes[k * geometry.clusterSize..<(k + 1) * geometry.clusterSize])
                        try allocator.write(bytes, at: at)
                        entry = at | Qcow2Geometry.copied
                        summary.storedClusters += 1
                        summary.dataBytes += UInt64(geometry.clusterSize)
                    case .compressed(let start, let length):
                        let at = try allocator.allocateBytes(length)
                        try allocator.write(UnsafeRawBufferPointer(rebasing: slot.packed!.prefix(start + length)[start...]), at: at)
                        // Sectors beyond the one holding `at` that the run reaches into.
                        let extra = (alignUp(at + UInt64(length), 512) - 1) / 512 - at / 512
                        entry = Qcow2Geometry.compressedFlag | extra << UInt64(geometry.compressedOffsetBits) | at
                        summary.compressedClusters += 1
                        summary.dataBytes += UInt64(length)
                    }
                    l2[Int(guest % UInt64(geometry.l2Entries))] = entry
                    l2Used = true
                }
                done += UInt64(slot.length)
                progress?(done, size)
            })
        try flushL2()
        let length = try allocator.finish()
        if geometry.l1Entries > 0 { try output.write(encodeBigEndian(l1), at: geometry.l1Offset) }
        try output.write(geometry.encodeHeader(), at: 0)
        summary.fileLength = length
        return summary
    }
}

/// What a worker found a guest cluster to be.
enum Qcow2ClusterKind {
    /// Reads as zeros: left unallocated (never in an overlay, where unallocated means the parent's).
    case zero
    /// An overlay's cluster that holds the parent's bytes: left unallocated, read through to the backing file.
    case backing
    /// An overlay's cluster that reads as zeros over a parent whose bytes there are not zero.
    case zeroFlag
    /// Stored as it is, from the slot's buffer.
    case stored
    /// Compressed into the slot's `packed` buffer at `start`, `length` bytes.
    case compressed(start: Int, length: Int)
}

/// A worker's buffers for one unit of guest clusters.
final class Qcow2Slot: @unchecked Sendable {
    /// Bytes of guest data in a unit.
    let unit: Int
    /// The unit's decoded bytes, a whole number of clusters (the tail past the disk's end zeroed).
    let buffer: ChunkBuffer
    /// Compressed clusters, back to back (only when compressing).
    let packed: ChunkBuffer?
    /// For a chunk that straddles the unit's edge: the whole chunk, decoded once per unit.
    let scratch = ChunkBuffer()
    /// For an overlay: the parent's bytes of the unit (the same clusters), when any must be compared.
    let baseBuffer: ChunkBuffer?
    var kinds: [Qcow2ClusterKind]
    var clusterCount = 0
    var length = 0
    var error: ImagePackError?
    let zstd: Zstd.Compressor?
    let zlib: Zlib.Compressor?

    init(unit: Int, options: ExportOptions, overlay: Bool = false) throws(ImagePackError) {
        self.unit = unit
        buffer = ChunkBuffer(capacity: unit)
        baseBuffer = overlay ? ChunkBuffer(capacity: unit) : nil
        packed = options.compression == .none ? nil : ChunkBuffer(capacity: unit)
        kinds = []
        kinds.reserveCapacity(unit / options.clusterSize)
        zstd = options.compression == .zstd ? try Zstd.Compressor(level: options.effectiveLevel) : nil
        zlib = options.compression == .zlib ? try Zlib.Compressor(level: options.effectiveLevel, wrapping: .raw(windowBits: 12)) : nil
    }

    /// The whole unit buffer.
    var unitBytes: UnsafeMutableRawBufferPointer { buffer.prefix(unit) }

    /// Decodes guest unit `unit` and classifies its clusters; for an overlay (`base`), against
    /// the parent's bytes of the same clusters.
    func run(reader: ImageReader, stream: Int, unit: Int, geometry: Qcow2Geometry, base: Qcow2Base?) {
        error = nil
        kinds.removeAll(keepingCapacity: true)
        let cluster = geometry.clusterSize
        let start = UInt64(unit) * UInt64(self.unit)
        let size = geometry.virtualSize
        length = Int(min(UInt64(self.unit), size - start))
        clusterCount = (length + cluster - 1) / cluster
        do throws(ImagePackError) {
            if let base {
                try runOverlay(reader: reader, stream: stream, start: start, cluster: cluster, base: base)
                return
            }
            guard try fill(reader: reader, stream: stream, start: start) else {
                kinds.append(contentsOf: repeatElement(.zero, count: clusterCount))
                return
            }
            padTail(cluster: cluster)
            let buffer = unitBytes
            var packedCount = 0
            for k in 0..<clusterCount {
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[k * cluster..<(k + 1) * cluster])
                if isZeroRegion(bytes) {
                    kinds.append(.zero)
                    continue
                }
                kinds.append(try classifyData(bytes, packedCount: &packedCount))
            }
        } catch {
            self.error = error.enriched(stream: reader.streams[stream].name)
        }
    }

    /// Zeroes the unit buffer past the disk's end, up to the end of its last cluster.
    private func padTail(cluster: Int) {
        let padded = clusterCount * cluster
        if padded > length {
            UnsafeMutableRawBufferPointer(rebasing: buffer.prefix(unit)[length..<padded]).initializeMemory(as: UInt8.self, repeating: 0)
        }
    }

    /// A cluster with data: stored, or compressed when that makes it smaller.
    private func classifyData(_ bytes: UnsafeRawBufferPointer, packedCount: inout Int) throws(ImagePackError) -> Qcow2ClusterKind {
        guard let packed = self.packed?.prefix(unit) else { return .stored }
        let cluster = bytes.count
        // Room for strictly less than a cluster: a run that does not shrink is stored.
        let room = UnsafeMutableRawBufferPointer(rebasing: packed[packedCount..<min(packed.count, packedCount + cluster - 1)])
        let produced: Int?
        if let zstd {
            produced = try zstd.compress(bytes, into: room)
        } else {
            produced = try zlib!.compress(bytes, into: room)
        }
        guard let produced, produced > 0, produced < cluster else { return .stored }
        defer { packedCount += produced }
        return .compressed(start: packedCount, length: produced)
    }

    /// An overlay's unit: clusters the index shows to be the parent's are never decoded; the
    /// others are decoded on both sides and compared, so a changed chunk costs only its changed
    /// clusters in the overlay.
    private func runOverlay(reader: ImageReader, stream: Int, start: UInt64, cluster: Int, base: Qcow2Base) throws(ImagePackError) {
        let same = base.knownSame(reader: reader, stream: stream, start: start, length: length, cluster: cluster)
        if !same.contains(false) {
            kinds.append(contentsOf: repeatElement(.backing, count: clusterCount))
            return
        }
        let anyData = try fill(reader: reader, stream: stream, start: start)
        let parent = baseBuffer!.prefix(unit)
        try base.read(at: start, into: UnsafeMutableRawBufferPointer(rebasing: parent[0..<length]))
        let padded = clusterCount * cluster
        if padded > length {
            UnsafeMutableRawBufferPointer(rebasing: parent[length..<padded]).initializeMemory(as: UInt8.self, repeating: 0)
        }
        if anyData { padTail(cluster: cluster) }
        let buffer = unitBytes
        var packedCount = 0
        for k in 0..<clusterCount {
            if same[k] {
                kinds.append(.backing)
                continue
            }
            let old = UnsafeRawBufferPointer(rebasing: parent[k * cluster..<(k + 1) * cluster])
            guard anyData else {
                kinds.append(isZeroRegion(old) ? .backing : .zeroFlag)
                continue
            }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[k * cluster..<(k + 1) * cluster])
            if system_memcmp(bytes.baseAddress!, old.baseAddress!, cluster) == 0 {
                kinds.append(.backing)
            } else if isZeroRegion(bytes) {
                kinds.append(.zeroFlag)
            } else {
                kinds.append(try classifyData(bytes, packedCount: &packedCount))
            }
        }
    }

    /// Decodes the chunks overlapping the unit into `buffer`. Returns false (and decodes nothing)
    /// when every one of them is a zero chunk.
    private func fill(reader: ImageReader, stream: Int, start: UInt64) throws(ImagePackError) -> Bool {
        let end = start + UInt64(length)
        let range = reader.streamEntries[stream]
        let first = reader.chunkIndex(stream: stream, offset: start)
        var i = first
        var anyData = false
        while i < range.upperBound && reader.entries[i].logicalOffset < end {
            if reader.entries[i].kind != .zero { anyData = true }
            i += 1
        }
        guard anyData else { return false }
        let buffer = unitBytes
        for i in first..<i {
            let entry = reader.entries[i]
            let chunkEnd = entry.logicalOffset + UInt64(entry.logicalLength)
            let low = max(entry.logicalOffset, start)
            let high = min(chunkEnd, end)
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[Int(low - start)..<Int(high - start)])
            if entry.kind == .zero {
                target.initializeMemory(as: UInt8.self, repeating: 0)
            } else if low == entry.logicalOffset && high == chunkEnd {
                try reader.decodeChunk(i, into: target)
            } else {
                let whole = scratch.prefix(Int(entry.logicalLength))
                try reader.decodeChunk(i, into: whole)
                let from = Int(low - entry.logicalOffset)
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: whole[from..<from + target.count]))
            }
        }
        return true
    }
}

/// Whether every byte of `bytes` is zero (8 words at a time; the buffers are 64-byte aligned).
func isZeroRegion(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    var i = 0
    let count = bytes.count
    while i + 64 <= count {
        var acc: UInt64 = 0
        for w in 0..<8 { acc |= base.loadUnaligned(fromByteOffset: i + 8 * w, as: UInt64.self) }
        if acc != 0 { return false }
        i += 64
    }
    while i < count {
        if base.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
        i += 1
    }
    return true
}
