import ImagePack

/// A ``SimulatedDisk`` after some rounds of the changes a running server makes between two
/// backups, for delta images: each round appends to a log, upgrades a few packages in place
/// (rewrites a few contiguous runs), deletes a file (its blocks are discarded and read as zeros)
/// and touches scattered 4 KiB metadata blocks (inode tables, bitmaps, journal). Deterministic in
/// the disk's seed and the generation; generation 0 is the disk itself.
public struct EvolvedDisk: StreamSource {
    public let base: SimulatedDisk
    public let generation: Int
    /// Every change of rounds 1...generation, in the order they apply.
    let changes: [Change]

    /// A range rewritten with fresh simulated content (seeded by `key`), or discarded (zeros).
    struct Change {
        var range: Range<UInt64>
        var key: UInt64
        var discard: Bool
    }

    public init(base: SimulatedDisk, generation: Int) {
        self.base = base
        self.generation = generation
        var changes: [Change] = []
        let size = base.logicalSize
        let blocks = size / 4096
        guard blocks >= 16 else {
            self.changes = []
            return
        }
        // The log lives from 5/8 of the disk on and grows by a little every round.
        var logEnd = (size / 8 * 5) & ~4095
        let logGrowth = max(4096, (size / 4096) & ~4095)  // 1/4096 of the disk a round
        for round in 1..<(max(generation, 0) + 1) {
            var rng = SimRandom(key: simHash(base.seed, 0x4556_4F4C ^ UInt64(round)))
            func range(blocks count: UInt64) -> Range<UInt64> {
                let n = min(count, blocks)
                let start = rng.below(blocks - n + 1) * 4096
                return start..<start + n * 4096
            }
            let growth = min(logGrowth, size - logEnd)
            if growth > 0 { changes.append(Change(range: logEnd..<logEnd + growth, key: rng.next(), discard: false)) }
            logEnd += growth
            for _ in 0..<2 {  // package upgrades: runs of up to 1/512 of the disk, at most 4 MiB
                changes.append(Change(range: range(blocks: max(1, min(blocks / 512, 1024) - rng.below(max(1, blocks / 1024)))), key: rng.next(), discard: false))
            }
            changes.append(Change(range: range(blocks: max(1, blocks / 2048)), key: 0, discard: true))  // a deleted file
            for _ in 0..<16 { changes.append(Change(range: range(blocks: 1), key: rng.next(), discard: false)) }  // metadata
        }
        self.changes = changes
    }

    public var logicalSize: UInt64 { base.logicalSize }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        try base.read(at: offset, into: buffer)
        let end = offset + UInt64(buffer.count)
        for change in changes where change.range.lowerBound < end && change.range.upperBound > offset {
            let from = max(change.range.lowerBound, offset), to = min(change.range.upperBound, end)
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[Int(from - offset)..<Int(to - offset)])
            if change.discard {
                target.initializeMemory(as: UInt8.self, repeating: 0)
            } else {
                // New content: what another disk of the same profile holds there (realistic data).
                try SimulatedDisk(seed: simHash(base.seed, change.key), size: base.logicalSize, profile: base.profile).read(at: from, into: target)
            }
        }
    }

    public func isKnownZero(offset: UInt64, length: Int) -> Bool {
        let end = offset + UInt64(length)
        if changes.contains(where: { !$0.discard && $0.range.lowerBound < end && $0.range.upperBound > offset }) { return false }
        return base.isKnownZero(offset: offset, length: length)
    }
}

extension SimulatedInstance {
    /// The instance of ``state(seed:disks:)`` after `generation` rounds of change (``EvolvedDisk``).
    public static func state(seed: UInt64, disks: [Disk] = defaultDisks, generation: Int) -> SystemState {
        let initial = state(seed: seed, disks: disks)
        return SystemState(metadata: initial.metadata, streams: initial.streams.map { spec in
            guard generation > 0, let disk = spec.source as? SimulatedDisk else { return spec }
            return StreamSpec(name: spec.name, kind: spec.kind, blockSize: spec.blockSize, source: EvolvedDisk(base: disk, generation: generation))
        })
    }
}
