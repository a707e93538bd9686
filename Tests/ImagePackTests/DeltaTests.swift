import Foundation
import Testing
import TestSupport
@testable import ImagePack

/// The generations of one disk used by the delta tests: each changes a few scattered 4 KiB
/// blocks, appends to a "log" and rewrites one region, deterministic in (seed, generation).
func evolvedDisk(_ base: [UInt8], generation: Int, seed: UInt64) -> [UInt8] {
    var disk = base
    var rng = SplitMix(seed: seed &+ UInt64(generation) &* 0x9E37_79B9)
    for _ in 0..<3 {
        let block = Int(rng.next() % UInt64(disk.count / 4096))
        disk.replaceSubrange(block * 4096..<block * 4096 + 4096, with: textBytes(4096, seed: rng.next()))
    }
    disk += textBytes(5000, seed: rng.next())
    return disk
}

@Suite("Delta images: parent chunks, chains, identity, refusals")
struct DeltaTests {
    static let chunk = 64 << 10

    func write(_ disk: [UInt8], to path: String, parent: ImageReader? = nil, chunkSize: Int = DeltaTests.chunk) throws -> WriteSummary {
        var options = WriterOptions(chunkSize: chunkSize, threads: 2)
        options.catalogue = false  // the format 1.0 layout these tests measure byte for byte
        options.parent = parent
        return try writeImage([("root", disk), ("nvram", textBytes(9000, seed: 5))], to: path, options: options)
    }

    @Test("a delta of an unchanged disk is all parent chunks and has the full image's root digest")
    func unchanged() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = mixedDisk(chunkSize: Self.chunk, seed: 3) + textBytes(Self.chunk * 4, seed: 4)
        let full = try write(disk, to: dir + "/base.ipk")
        let base = try ImageReader(path: dir + "/base.ipk")
        let delta = try write(disk, to: dir + "/delta.ipk", parent: base)
        #expect(delta.rootDigest == full.rootDigest)
        #expect(delta.payloadBytes == 0)
        #expect(delta.chunksByKind[.data, default: 0] == 0 && delta.chunksByKind[.fill, default: 0] == 0)
        #expect(delta.chunksByKind[.parent, default: 0] > 0)
        #expect(delta.fileLength < 4096)

        let reader = try ImageReader(path: dir + "/delta.ipk", parents: [base])
        #expect(reader.parentDigest == full.rootDigest)
        try expectSameBytes(reader.read(stream: 0, at: 0, count: disk.count), disk)
        #expect(try reader.verify(ReadOptions(threads: 2)).isValid)
        let header = try FileHeader.decode(try ReadableFile(path: dir + "/delta.ipk").read(at: 0, count: 64))
        #expect(header.critical == .parent)
    }

    @Test("chains 1 to 5 deep read back every generation, by random access and streaming", arguments: 1...5)
    func chains(depth: Int) throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        var disks = [textBytes(Self.chunk * 6 + 123, seed: 11)]
        for g in 1...depth { disks.append(evolvedDisk(disks[g - 1], generation: g, seed: 11)) }
        var readers: [ImageReader] = []
        var fullRoots: [Digest] = []
        for (g, disk) in disks.enumerated() {
            let summary = try write(disk, to: dir + "/g\(g).ipk", parent: readers.last)
            fullRoots.append(try write(disk, to: dir + "/full\(g).ipk").rootDigest)
            #expect(summary.rootDigest == fullRoots[g])
            if g > 0 { #expect(summary.chunksByKind[.parent, default: 0] > 0) }
            // Each generation is opened with the whole pool below it, in reverse order.
            readers.append(try ImageReader(path: dir + "/g\(g).ipk", parents: readers.reversed()))
        }
        let top = readers[depth]
        #expect(top.parents.readers.count == depth)
        try expectSameBytes(top.read(stream: 0, at: 0, count: disks[depth].count), disks[depth])
        #expect(try top.verify(ReadOptions(threads: 2)).isValid)
        let (streamed, content) = try streamAll(dir + "/g\(depth).ipk", parents: Array(readers[0..<depth]))
        #expect(streamed.rootDigest == fullRoots[depth])
        expectSameBytes(content[0], disks[depth])
        // Extraction through the chain equals extraction of the full image.
        try top.extract(stream: 0, toFile: dir + "/out.raw")
        try expectSameBytes([UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/out.raw"))), disks[depth])
    }

    @Test("a delta opened without its parent shows its structure, and a read needing the parent fails with V49")
    func missingParent() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = textBytes(Self.chunk * 3, seed: 1)
        let base = try write(disk, to: dir + "/base.ipk")
        _ = try write(disk, to: dir + "/delta.ipk", parent: try ImageReader(path: dir + "/base.ipk"))
        let reader = try ImageReader(path: dir + "/delta.ipk")
        #expect(reader.parentDigest == base.rootDigest)
        let error = #expect(throws: ImagePackError.self) { try reader.read(stream: 0, at: 0, count: 10) }
        #expect(error?.code == .parentRequired)
        #expect(error?.rule == .v49)
        #expect(error?.message.contains(base.rootDigest.description) == true)
        let streaming = #expect(throws: ImagePackError.self) { try streamAll(dir + "/delta.ipk") }
        #expect(streaming?.rule == .v49)
        let verify = #expect(throws: ImagePackError.self) { try reader.verify() }
        #expect(verify?.rule == .v49)
    }

    @Test("a parent that is not the one the delta names is refused (V49), naming the expected digest")
    func wrongParent() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let base = try write(textBytes(Self.chunk * 3, seed: 1), to: dir + "/base.ipk")
        _ = try write(textBytes(Self.chunk * 3, seed: 2), to: dir + "/other.ipk")
        _ = try write(textBytes(Self.chunk * 3, seed: 1), to: dir + "/delta.ipk", parent: try ImageReader(path: dir + "/base.ipk"))
        let other = try ImageReader(path: dir + "/other.ipk")
        let error = #expect(throws: ImagePackError.self) { try ImageReader(path: dir + "/delta.ipk", parents: [other]) }
        #expect(error?.code == .parentRequired)
        #expect(error?.rule == .v49)
        #expect(error?.message.contains(base.rootDigest.description) == true)
        let streaming = #expect(throws: ImagePackError.self) { try streamAll(dir + "/delta.ipk", parents: [other]) }
        #expect(streaming?.rule == .v49)
    }

    @Test("a parent chunk whose parent content does not hash to the delta's digest fails V28")
    func parentContentMismatch() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        _ = try write(textBytes(Self.chunk * 3, seed: 1), to: dir + "/base.ipk")
        _ = try write(textBytes(Self.chunk * 3, seed: 2), to: dir + "/other.ipk")
        _ = try write(textBytes(Self.chunk * 3, seed: 1), to: dir + "/delta.ipk", parent: try ImageReader(path: dir + "/base.ipk"))
        let delta = try ImageReader(path: dir + "/delta.ipk", parents: [try ImageReader(path: dir + "/base.ipk")])
        // Bypass the root digest match, as a parent forged to carry the right digest would.
        let forged = ParentChain(readers: [try ImageReader(path: dir + "/other.ipk")], unresolved: nil)
        var out = [UInt8](repeating: 0, count: Self.chunk)
        let error = #expect(throws: ImagePackError.self) {
            try withMutableBytes(&out) { (raw) throws(ImagePackError) in try delta.decodeChunk(0, into: raw, parents: forged) }
        }
        #expect(error?.code == .chunkHashMismatch)
        #expect(error?.rule == .v28)
        #expect(error?.chunk == 0)
    }

    @Test("a chain deeper than ImageLimits.maxParentDepth is refused (V49)")
    func depthLimit() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        var disk = textBytes(Self.chunk * 2, seed: 1)
        var readers: [ImageReader] = []
        for g in 0..<4 {
            _ = try write(disk, to: dir + "/g\(g).ipk", parent: readers.last)
            readers.append(try ImageReader(path: dir + "/g\(g).ipk", parents: readers))
            disk = evolvedDisk(disk, generation: g + 1, seed: 1)
        }
        var limits = ImageLimits()
        limits.maxParentDepth = 2
        let error = #expect(throws: ImagePackError.self) { try ImageReader(path: dir + "/g3.ipk", limits: limits, parents: readers) }
        #expect(error?.code == .parentMismatch)
        #expect(error?.rule == .v49)
        limits.maxParentDepth = 3
        #expect(try ImageReader(path: dir + "/g3.ipk", limits: limits, parents: readers).parents.readers.count == 3)
    }

    @Test("a delta of an unchanged state has its parent's root digest; the chain resolves through the full image, and a pool with only the delta is a loop (V49)")
    func sameDigestChain() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = textBytes(Self.chunk * 3, seed: 8)
        _ = try write(disk, to: dir + "/full.ipk")
        let full = try ImageReader(path: dir + "/full.ipk")
        _ = try write(disk, to: dir + "/same.ipk", parent: full)
        let same = try ImageReader(path: dir + "/same.ipk", parents: [full])
        #expect(same.rootDigest == full.rootDigest)
        let next = evolvedDisk(disk, generation: 1, seed: 8)
        _ = try write(next, to: dir + "/next.ipk", parent: same)
        let reader = try ImageReader(path: dir + "/next.ipk", parents: [same, full])
        #expect(reader.parents.readers.map(\.path) == [full.path])
        try expectSameBytes(reader.read(stream: 0, at: 0, count: next.count), next)
        let error = #expect(throws: ImagePackError.self) { try ImageReader(path: dir + "/next.ipk", parents: [same]) }
        #expect(error?.code == .parentMismatch)
        #expect(error?.rule == .v49)
    }

    @Test("a delta's chunk size must be its parent's")
    func chunkSizeMismatch() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        _ = try write(textBytes(Self.chunk * 3, seed: 1), to: dir + "/base.ipk")
        let base = try ImageReader(path: dir + "/base.ipk")
        let error = #expect(throws: ImagePackError.self) { try write(textBytes(Self.chunk * 3, seed: 1), to: dir + "/d.ipk", parent: base, chunkSize: 128 << 10) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.field == "chunkSize")
        #expect(!FileManager.default.fileExists(atPath: dir + "/d.ipk"))
    }

    @Test("the validator checks a delta's structure without its parent")
    func validatorStructure() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = textBytes(Self.chunk * 3, seed: 1)
        _ = try write(disk, to: dir + "/base.ipk")
        _ = try write(evolvedDisk(disk, generation: 1, seed: 1), to: dir + "/delta.ipk", parent: try ImageReader(path: dir + "/base.ipk"))
        let report = try ImageValidator.validate(path: dir + "/delta.ipk")
        #expect(report.isValid, "\(report.problems)")
    }
}

@Suite("Delta images: zstd-patch, validation with parents, flatten, simulated generations")
struct DeltaEncodingTests {
    static let chunk = 64 << 10

    @Test("changed chunks are encoded against the parent's (zstd-patch) when that is smaller, and read back")
    func zstdPatch() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = textBytes(Self.chunk * 8, seed: 21)
        _ = try writeImage([("root", disk)], to: dir + "/base.ipk")
        let base = try ImageReader(path: dir + "/base.ipk")
        let next = evolvedDisk(disk, generation: 1, seed: 21)
        var options = WriterOptions(chunkSize: Self.chunk, threads: 2)
        options.catalogue = false
        options.parent = base
        let delta = try writeImage([("root", next)], to: dir + "/delta.ipk", options: options)
        let plain = try writeImage([("root", next)], to: dir + "/full.ipk")
        #expect(delta.chunksByCodec[.zstdPatch, default: 0] >= 1)
        #expect(delta.rootDigest == plain.rootDigest)
        let reader = try ImageReader(path: dir + "/delta.ipk", parents: [base])
        try expectSameBytes(reader.read(stream: 0, at: 0, count: next.count), next)
        #expect(try reader.verify(ReadOptions(threads: 2)).isValid)
        let (_, streamed) = try streamAll(dir + "/delta.ipk", parents: [base])
        expectSameBytes(streamed, [next])
        // With the parent, the validator decodes every chunk; without it, the structure only.
        let full = try ImageValidator.validate(path: dir + "/delta.ipk", options: ValidationOptions(read: ReadOptions(threads: 2, parents: [base])))
        let structural = try ImageValidator.validate(path: dir + "/delta.ipk")
        #expect(full.isValid && structural.isValid)
        #expect(full.checkedChunks > structural.checkedChunks)
    }

    @Test("a zstd-patch chunk whose parent has no chunk at exactly its range fails V50")
    func patchNeedsParentChunk() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = textBytes(Self.chunk * 4, seed: 22)
        _ = try writeImage([("root", disk)], to: dir + "/base.ipk")
        var options = WriterOptions(chunkSize: Self.chunk, threads: 2)
        options.catalogue = false
        options.parent = try ImageReader(path: dir + "/base.ipk")
        _ = try writeImage([("root", evolvedDisk(disk, generation: 1, seed: 22))], to: dir + "/delta.ipk", options: options)
        let delta = try ImageReader(path: dir + "/delta.ipk")
        let patched = try #require(delta.entries.firstIndex { $0.codec == .zstdPatch })
        // A parent of the same name whose stream is shorter than the patched chunk's range.
        _ = try writeImage([("root", Array(disk[0..<Int(delta.entries[patched].logicalOffset) + 100]))], to: dir + "/short.ipk")
        let chain = ParentChain(readers: [try ImageReader(path: dir + "/short.ipk")], unresolved: nil)
        var out = [UInt8](repeating: 0, count: Int(delta.entries[patched].logicalLength))
        let error = #expect(throws: ImagePackError.self) {
            try withMutableBytes(&out) { (raw) throws(ImagePackError) in try delta.decodeChunk(patched, into: raw, parents: chain) }
        }
        #expect(error?.code == .parentMismatch)
        #expect(error?.rule == .v50)
    }

    @Test("flattening a delta gives the full image's root digest and content")
    func flatten() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = mixedDisk(chunkSize: Self.chunk, seed: 23)
        _ = try writeImage([("root", disk)], to: dir + "/base.ipk")
        let base = try ImageReader(path: dir + "/base.ipk")
        let next = evolvedDisk(disk, generation: 1, seed: 23)
        var options = WriterOptions(chunkSize: Self.chunk, threads: 2)
        options.catalogue = false
        options.parent = base
        let delta = try writeImage([("root", next)], to: dir + "/delta.ipk", options: options)
        let full = try writeImage([("root", next)], to: dir + "/full.ipk")
        let reader = try ImageReader(path: dir + "/delta.ipk", parents: [base])
        let flat = try ImageWriter.write(SystemState(image: reader), toFile: dir + "/flat.ipk", options: { var o = WriterOptions(chunkSize: Self.chunk, threads: 2); o.catalogue = false; return o }())
        #expect(flat.rootDigest == delta.rootDigest)
        #expect(flat.rootDigest == full.rootDigest)
        // Same state, same options: the flattened image is the full pack byte for byte.
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: dir + "/flat.ipk")), Data(contentsOf: URL(fileURLWithPath: dir + "/full.ipk")))
    }
}
