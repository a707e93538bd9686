import Testing
import TestSupport
@testable import ImagePack
@testable import ImagePackSimulation

/// Test cases are chosen with splitmix64 (the simulator itself uses xoshiro256**).
private struct CaseRandom {
    var generator: SplitMix64
    init(state: UInt64) { generator = SplitMix64(seed: state) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func below(_ n: UInt64) -> UInt64 { generator.next(below: n) }
}

private func bytes(_ disk: SimulatedDisk, at offset: UInt64, count: Int) throws -> [UInt8] {
    var out = [UInt8](repeating: 0xAA, count: count)
    try out.withUnsafeMutableBytes { try disk.read(at: offset, into: $0) }
    return out
}

private let mib: UInt64 = 1 << 20

@Suite("Simulated disk")
struct SimulatedDiskTests {
    @Test("The same seed gives the same bytes", arguments: SimulationProfile.allCases)
    func sameSeedSameBytes(profile: SimulationProfile) throws {
        let a = SimulatedDisk(seed: 11, size: 3 * mib, profile: profile)
        let b = SimulatedDisk(seed: 11, size: 3 * mib, profile: profile)
        try expectSameBytes(bytes(a, at: 0, count: Int(3 * mib)), bytes(b, at: 0, count: Int(3 * mib)))
    }

    @Test("Different seeds and profiles give different bytes")
    func differentSeedsDiffer() throws {
        let first = try bytes(SimulatedDisk(seed: 1, size: 4 * mib), at: 0, count: Int(4 * mib))
        let second = try bytes(SimulatedDisk(seed: 2, size: 4 * mib), at: 0, count: Int(4 * mib))
        let database = try bytes(SimulatedDisk(seed: 1, size: 4 * mib, profile: .database), at: 0, count: Int(4 * mib))
        expectDifferentBytes(first, second)
        expectDifferentBytes(first, database)
        // Not just a different layout: the first allocated blocks differ too.
        expectDifferentBytes(first[4096..<65536], second[4096..<65536])
    }

    @Test("Reads at any offset and length equal slices of a sequential read")
    func randomReadsMatchSequential() throws {
        let size = 24 * mib + 12345
        let disk = SimulatedDisk(seed: 7, size: size)
        let whole = try bytes(disk, at: 0, count: Int(size))
        var rng = CaseRandom(state: 99)
        for _ in 0..<200 {
            let length: UInt64 =
                switch rng.below(4) {
                case 0: 1 + rng.below(100)
                case 1: 4096 - 16 + rng.below(32)  // around a block
                case 2: 65536 + rng.below(8192)  // straddling regions
                default: 1 + rng.below(300_000)
                }
            var offset = rng.below(size - length + 1)
            if rng.below(4) == 0 { offset = ((offset >> 16) << 16) &- rng.below(8) }  // just before a region
            offset = min(offset, size - length)
            let part = try bytes(disk, at: offset, count: Int(length))
            expectSameBytes(part[...], whole[Int(offset)..<Int(offset + length)], "offset \(offset) length \(length)")
        }
    }

    @Test("Content does not depend on the disk's size", arguments: SimulationProfile.allCases)
    func sizeIndependent(profile: SimulationProfile) throws {
        let small = SimulatedDisk(seed: 5, size: 5 * mib + 777, profile: profile)
        let large = SimulatedDisk(seed: 5, size: 64 * mib, profile: profile)
        let count = Int(small.logicalSize)
        try expectSameBytes(bytes(small, at: 0, count: count), bytes(large, at: 0, count: count))
    }

    @Test("Unallocated share is in the profile's band", arguments: [
        (SimulationProfile.server, 0.40...0.65), (.database, 0.05...0.25), (.zeroHeavy, 0.85...0.95), (.random, 0.0...0.0),
    ])
    func zeroFraction(profile: SimulationProfile, band: ClosedRange<Double>) {
        let size: UInt64 = 8 << 30
        let disk = SimulatedDisk(seed: 3, size: size, profile: profile)
        var zero: UInt64 = 0
        for offset in stride(from: 0, to: size, by: 1 << 16) where disk.isKnownZero(offset: offset, length: 1 << 16) {
            zero += 1 << 16
        }
        let fraction = Double(zero) / Double(size)
        #expect(band.contains(fraction), "\(profile): \(fraction)")
    }

    @Test("isKnownZero agrees with the content")
    func knownZeroAgrees() throws {
        let size = 24 * mib
        let disk = SimulatedDisk(seed: 21, size: size)
        let whole = try bytes(disk, at: 0, count: Int(size))
        var zeroRegions = 0
        for region in 0..<Int(size >> 16) {
            let slice = whole[region << 16..<(region + 1) << 16]
            let known = disk.isKnownZero(offset: UInt64(region) << 16, length: 1 << 16)
            // An allocated region is never all zeros, so the layout and the bytes agree exactly.
            #expect(known == slice.allSatisfy { $0 == 0 }, "region \(region)")
            if known { zeroRegions += 1 }
        }
        #expect(zeroRegions > 0 && zeroRegions < Int(size >> 16))
        var rng = CaseRandom(state: 4)
        for _ in 0..<300 {
            let length = Int(1 + rng.below(rng.below(2) == 0 ? 70_000 : 6_000_000))
            let offset = Int(rng.below(size - UInt64(length) + 1))
            let known = disk.isKnownZero(offset: UInt64(offset), length: length)
            let regions = (offset >> 16)...((offset + length - 1) >> 16)
            #expect(known == regions.allSatisfy { disk.isKnownZero(offset: UInt64($0) << 16, length: 1 << 16) })
            if known { #expect(whole[offset..<offset + length].allSatisfy { $0 == 0 }) }
        }
        #expect(disk.isKnownZero(offset: size, length: 0))
        #expect(!disk.isKnownZero(offset: size - 1, length: 2))
    }

    @Test("Reads past the end throw rangeOutOfBounds")
    func readPastEnd() throws {
        let disk = SimulatedDisk(seed: 1, size: 10_000)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(throws: ImagePackError(.rangeOutOfBounds, "")) {
            try buffer.withUnsafeMutableBytes { try disk.read(at: 9_990, into: $0) }
        }
        #expect(throws: ImagePackError(.rangeOutOfBounds, "")) {
            try buffer.withUnsafeMutableBytes { try disk.read(at: 20_000, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<0])) }
        }
        try buffer.withUnsafeMutableBytes { try disk.read(at: 9_984, into: $0) }
        try buffer.withUnsafeMutableBytes { try disk.read(at: 10_000, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<0])) }
    }

    @Test("Duplicate 64 KiB regions exist for deduplication to find")
    func duplicatesExist() throws {
        let disk = SimulatedDisk(seed: 8, size: 1 << 30)
        var firstSeen: [UInt64: UInt64] = [:]
        var pairs: [(UInt64, UInt64)] = []
        for region in 0..<UInt64(1 << 14) {
            let plan = disk.regionPlan(region)
            guard plan.isDuplicate else { continue }
            if let earlier = firstSeen[plan.regionKey] { pairs.append((earlier, region)) } else { firstSeen[plan.regionKey] = region }
        }
        #expect(pairs.count > 100)
        for (a, b) in pairs.prefix(3) {
            let first = try bytes(disk, at: a << 16, count: 1 << 16)
            try expectSameBytes(first, bytes(disk, at: b << 16, count: 1 << 16))
            #expect(!first.allSatisfy { $0 == 0 })
        }
    }

    @Test("Concurrent reads return the same bytes")
    func concurrentReads() async throws {
        let disk = SimulatedDisk(seed: 13, size: 4 * mib)
        let expected = try bytes(disk, at: 0, count: Int(4 * mib))
        let part = Int(mib / 2)
        try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for index in 0..<8 {
                group.addTask { (index, try bytes(disk, at: UInt64(index * part), count: part)) }
            }
            for try await (index, got) in group {
                expectSameBytes(got[...], expected[index * part..<(index + 1) * part])
            }
        }
    }

    @Test("Block 0 carries a protective MBR and a GPT header")
    func partitionTable() throws {
        let first = try bytes(SimulatedDisk(seed: 1, size: mib), at: 0, count: 1024)
        #expect(first[510] == 0x55 && first[511] == 0xAA)
        #expect(first[450] == 0xEE)
        #expect(Array(first[512..<520]) == Array("EFI PART".utf8))
    }
}

@Suite("Simulated instance")
struct SimulatedInstanceTests {
    @Test("Metadata is deterministic and plausible")
    func metadata() {
        let a = SimulatedInstance.metadata(seed: 42)
        #expect(a == SimulatedInstance.metadata(seed: 42))
        #expect(a != SimulatedInstance.metadata(seed: 43))
        #expect(a.name.hasPrefix("sim-") && a.name.count == 20)
        #expect(a.os == .init(family: "linux", distribution: "debian", version: "12"))
        #expect(a.architecture == .x86_64 && a.bootMode == .uefi && a.visibility == .custom)
        #expect(a.sourceInstanceID?.hasPrefix("i-") == true)
        #expect(a.createdAt?.count == 20 && a.createdAt?.hasSuffix("Z") == true)
        #expect(a.tags["Name"] == a.name)
    }

    @Test("RFC 3339 dates", arguments: [
        (UInt64(0), "1970-01-01T00:00:00Z"), (1_672_531_200, "2023-01-01T00:00:00Z"),
        (951_825_599, "2000-02-29T11:59:59Z"), (1_735_689_599, "2024-12-31T23:59:59Z"),
    ])
    func rfc3339(seconds: UInt64, text: String) {
        #expect(SimulatedInstance.rfc3339(seconds: seconds) == text)
    }

    @Test("The default state has a root and a data disk with distinct content")
    func defaultState() throws {
        let state = SimulatedInstance.state(seed: 9, rootSize: 8 * mib, dataSize: 4 * mib)
        #expect(state.disks.map(\.name) == ["root", "data"])
        #expect(state.disks.map(\.source.logicalSize) == [8 * mib, 4 * mib])
        let root = try #require(state.disks[0].source as? SimulatedDisk)
        let data = try #require(state.disks[1].source as? SimulatedDisk)
        #expect(root.profile == .server && data.profile == .database)
        #expect(root.seed != data.seed)
        // A disk's content follows its name, not its position.
        let swapped = SimulatedInstance.state(seed: 9, disks: [(name: "data", size: 4 * mib, profile: .database)])
        #expect((swapped.disks[0].source as? SimulatedDisk)?.seed == data.seed)
        #expect(SimulatedInstance.state(seed: 9).disks.count == 2)
    }
}

@Suite("Simulated generations")
struct SimulatedGenerationTests {
    @Test("a generation is deterministic in (seed, N), changes a little of the disk each round, and generation 0 is the disk")
    func generations() throws {
        let base = SimulatedDisk(seed: 9, size: 16 << 20, profile: .server)
        func bytes(_ source: any StreamSource) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: Int(source.logicalSize))
            try withMutableBytes(&out) { (raw) throws(ImagePackError) in try source.read(at: 0, into: raw) }
            return out
        }
        let g0 = try bytes(base)
        try expectSameBytes(bytes(EvolvedDisk(base: base, generation: 0)), g0)
        let g1 = try bytes(EvolvedDisk(base: base, generation: 1))
        let g2 = try bytes(EvolvedDisk(base: base, generation: 2))
        try expectSameBytes(bytes(EvolvedDisk(base: base, generation: 2)), g2)
        func changedBlocks(_ a: [UInt8], _ b: [UInt8]) -> Int {
            stride(from: 0, to: a.count, by: 4096).filter { a[$0..<$0 + 4096] != b[$0..<$0 + 4096] }.count
        }
        let one = changedBlocks(g0, g1), two = changedBlocks(g0, g2)
        #expect(one > 0 && one < g0.count / 4096 / 20, "round 1 changed \(one) of \(g0.count / 4096) blocks")
        #expect(two > 0, "round 2 changes more")
        expectDifferentBytes(g2, g1, "round 2 changes more")
    }
}
