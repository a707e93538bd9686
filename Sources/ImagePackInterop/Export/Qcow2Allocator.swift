import ImagePack

/// Hands out host space of a qcow2 file front to back and keeps its refcounts exact, with one
/// refcount block in memory.
///
/// Space only grows: data clusters, compressed runs and L2 tables are placed at the end, so
/// once the end passes a span (`spanClusters` clusters), that span's counts are final and its
/// block is written. The block of every span after the front region sits in the span's first
/// cluster, reserved when the end first enters the span; a compressed run that would cross into
/// a new span starts after that block instead. Appended bytes are gathered into large writes.
final class Qcow2Allocator {
    let geometry: Qcow2Geometry
    let output: OutputFile
    /// The next free byte.
    private(set) var end: UInt64
    /// The span whose counts are in `counts`; every earlier span's block is written.
    private var openSpan: Int
    private var counts: [UInt16]
    /// Offset of each span's refcount block, by span: the refcount table.
    private(set) var refblockOffsets: [UInt64] = []
    /// Pending appended bytes, to be written at `pendingOffset`.
    private let pending: UnsafeMutableRawBufferPointer
    private var pendingCount = 0
    private var pendingOffset: UInt64 = 0
    static let writeBatch = 4 << 20

    init(geometry: Qcow2Geometry, output: OutputFile) throws(ImagePackError) {
        self.geometry = geometry
        self.output = output
        pending = .allocate(byteCount: Self.writeBatch, alignment: 64)
        let span = geometry.spanClusters
        let front = geometry.frontClusters
        // The front region (header, L1, refcount table, its own blocks) is allocated cluster by cluster.
        for s in 0..<geometry.frontRefblocks { refblockOffsets.append(geometry.frontRefblockOffset(s)) }
        openSpan = (front - 1) / span
        counts = [UInt16](repeating: 0, count: span)
        end = UInt64(front) * UInt64(geometry.clusterSize)
        // Spans wholly inside the front: every cluster counted once.
        if openSpan > 0 {
            let full = encodeCounts([UInt16](repeating: 1, count: span))
            for s in 0..<openSpan { try output.write(full, at: refblockOffsets[s]) }
        }
        for k in (openSpan * span)..<front { counts[k - openSpan * span] = 1 }
    }

    deinit { pending.deallocate() }

    private var clusterSize: UInt64 { UInt64(geometry.clusterSize) }
    private func span(ofByte offset: UInt64) -> Int { Int(offset / geometry.spanBytes) }
    /// Index in `counts` of the cluster holding `offset` (which must lie in the open span).
    private func index(of offset: UInt64) -> Int { Int(offset / clusterSize) - openSpan * geometry.spanClusters }

    /// Allocates one cluster; returns its offset.
    func allocateCluster() throws(ImagePackError) -> UInt64 {
        var at = alignUp(end, clusterSize)
        if span(ofByte: at) != openSpan { at = try enterNextSpan() }
        counts[index(of: at)] += 1
        end = at + clusterSize
        return at
    }

    /// Allocates `count` bytes (fewer than a cluster) for a compressed run at any byte offset;
    /// every host cluster the run's 512-byte sectors touch is counted once more.
    func allocateBytes(_ count: Int) throws(ImagePackError) -> UInt64 {
        precondition(count > 0 && count < geometry.clusterSize)
        var at = end
        if span(ofByte: alignUp(at + UInt64(count), 512) - 1) != openSpan { at = try enterNextSpan() }
        if counts[index(of: at)] == UInt16.max || counts[index(of: alignUp(at + UInt64(count), 512) - 1)] == UInt16.max {
            // A cluster already shared by 65535 runs: start this run in a fresh cluster.
            at = alignUp(at, clusterSize)
            if span(ofByte: alignUp(at + UInt64(count), 512) - 1) != openSpan { at = try enterNextSpan() }
        }
        for k in index(of: at)...index(of: alignUp(at + UInt64(count), 512) - 1) { counts[k] += 1 }
        end = at + UInt64(count)
        return at
    }

    /// Finishes the open span and opens the next one, whose block takes its first cluster.
    /// Returns the first free byte after that block.
    private func enterNextSpan() throws(ImagePackError) -> UInt64 {
        try writeOpenBlock()
        openSpan += 1
        guard openSpan < geometry.refTableCapacity else {
            throw ImagePackError(.compressionFailed, "internal error: the qcow2 file outgrew the refcount table sized for it", field: "refcount table")
        }
        let start = UInt64(openSpan) * geometry.spanBytes
        precondition(start >= end)
        precondition(refblockOffsets.count == openSpan)
        refblockOffsets.append(start)
        for k in counts.indices { counts[k] = 0 }
        counts[0] = 1
        end = start + clusterSize
        return end
    }

    private func writeOpenBlock() throws(ImagePackError) {
        try output.write(encodeCounts(counts), at: refblockOffsets[openSpan])
    }

    private func encodeCounts(_ values: [UInt16]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: values.count * 2)
        for (i, v) in values.enumerated() {
            bytes[2 * i] = UInt8(v >> 8)
            bytes[2 * i + 1] = UInt8(truncatingIfNeeded: v)
        }
        return bytes
    }

    /// Writes `bytes` at `offset`, which must be space this allocator handed out.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(ImagePackError) {
        if pendingCount > 0 && (offset != pendingOffset + UInt64(pendingCount) || pendingCount + bytes.count > pending.count) {
            try flush()
        }
        if bytes.count > pending.count {
            try output.write(bytes, at: offset)
            return
        }
        if pendingCount == 0 { pendingOffset = offset }
        UnsafeMutableRawBufferPointer(rebasing: pending[pendingCount..<pendingCount + bytes.count]).copyMemory(from: bytes)
        pendingCount += bytes.count
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(ImagePackError) {
        try withBytes(bytes) { (raw) throws(ImagePackError) in try write(raw, at: offset) }
    }

    func flush() throws(ImagePackError) {
        guard pendingCount > 0 else { return }
        try output.write(UnsafeRawBufferPointer(rebasing: pending[0..<pendingCount]), at: pendingOffset)
        pendingCount = 0
    }

    /// Writes the last block and the refcount table, and sets the file's length.
    /// - Returns: the file's length.
    func finish() throws(ImagePackError) -> UInt64 {
        try flush()
        try writeOpenBlock()
        try output.write(encodeBigEndian(refblockOffsets), at: geometry.refTableOffset)
        let length = alignUp(end, clusterSize)
        try output.truncate(to: length)
        return length
    }
}

@inline(__always)
func alignUp(_ value: UInt64, _ alignment: UInt64) -> UInt64 { (value + alignment - 1) / alignment * alignment }

extension OutputFile {
    /// Writes `bytes` at an absolute offset.
    func write(_ bytes: [UInt8], at offset: UInt64) throws(ImagePackError) {
        try withBytes(bytes) { (raw) throws(ImagePackError) in try write(raw, at: offset) }
    }
}
