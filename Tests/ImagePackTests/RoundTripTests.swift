import Foundation
import Testing
import TestSupport
@testable import ImagePack
@testable import ImagePackSimulation

@Suite("Round trips through the writer and both readers")
struct RoundTripTests {
    @Test("every codec round-trips every chunk kind, with a short last chunk", arguments: Codec.allCases.filter { $0 != .zstdPatch })
    func everyCodec(codec: Codec) throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/img.ipk"
        let disk = mixedDisk(chunkSize: 64 << 10, seed: 7)
        let summary = try writeImage([("root", disk)], to: path, options: .init(codec: codec, chunkSize: 64 << 10, threads: 2))
        #expect(summary.chunksByKind[.zero] == 2)
        #expect(summary.chunksByKind[.fill] == 1)
        if codec != .stored { #expect(summary.chunksByCodec[codec, default: 0] >= 2) }
        #expect(summary.chunksByCodec[.stored, default: 0] >= 1)  // the random chunk does not shrink

        let reader = try ImageReader(path: path)
        #expect(reader.rootDigest == summary.rootDigest)
        #expect(reader.metadata == testMetadata())
        try expectSameBytes(reader.read(stream: 0, at: 0, count: disk.count), disk)
        let report = try reader.verify(ReadOptions(threads: 2))
        #expect(report.isValid)

        let (streamed, disks) = try streamAll(path)
        #expect(streamed.rootDigest == summary.rootDigest)
        expectSameBytes(disks, [disk])
    }

    @Test("empty, all-zero and random disks, several streams in one image")
    func severalStreams() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/img.ipk"
        let streams: [(String, [UInt8])] = [
            ("empty", []), ("zeros", [UInt8](repeating: 0, count: 300_000)), ("random", randomBytes(200_001, seed: 3)),
            ("text", textBytes(65536 * 3, seed: 4)),
        ]
        let summary = try writeImage(streams, to: path)
        let reader = try ImageReader(path: path)
        #expect(reader.streams.map(\.name) == streams.map(\.0))
        for (i, s) in streams.enumerated() {
            try expectSameBytes(reader.read(stream: i, at: 0, count: s.1.count), s.1)
        }
        let (streamed, disks) = try streamAll(path)
        #expect(streamed.rootDigest == summary.rootDigest)
        expectSameBytes(disks, streams.map(\.1))
    }

    @Test("random-access reads at random offsets equal the source")
    func randomReads() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/img.ipk"
        let disk = mixedDisk(chunkSize: 64 << 10, seed: 11) + textBytes(100_000, seed: 12)
        _ = try writeImage([("a", randomBytes(1000, seed: 1)), ("root", disk)], to: path)
        let reader = try ImageReader(path: path)
        var rng = SplitMix(seed: 99)
        for _ in 0..<300 {
            let offset = Int(rng.next() % UInt64(disk.count))
            let length = Int(rng.next() % UInt64(min(300_000, disk.count - offset) + 1))
            try expectSameBytes(reader.read(stream: 1, at: UInt64(offset), count: length), Array(disk[offset..<offset + length]))
        }
        #expect(throws: ImagePackError(.rangeOutOfBounds, "")) { try reader.read(stream: 1, at: UInt64(disk.count), count: 1) }
    }

    @Test("identical input and options give identical bytes, for any thread count")
    func deterministic() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = mixedDisk(chunkSize: 64 << 10, seed: 5)
        var images: [Data] = []
        for threads in [1, 2, 4] {
            let path = dir + "/img\(threads).ipk"
            _ = try writeImage([("root", disk)], to: path, options: .init(chunkSize: 64 << 10, threads: threads))
            images.append(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        expectSameBytes(images[0], images[1])
        expectSameBytes(images[0], images[2])
    }

    @Test("an existing destination is not replaced without overwrite")
    func noOverwrite() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/img.ipk"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ImagePackError(.destinationExists, "")) { try writeImage([("root", [1, 2, 3])], to: path) }
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: path)), Data("precious".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["img.ipk"])
        _ = try ImageWriter.write(
            SystemState(metadata: testMetadata(), streams: [StreamSpec(name: "root", source: BytesSource([1, 2, 3]))]),
            toFile: path, overwrite: true)
        #expect(try ImageReader(path: path).read(stream: 0, at: 0, count: 3) == [1, 2, 3])
    }

    @Test("extraction writes holes for zero chunks")
    func sparseExtract() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/img.ipk"
        var disk = [UInt8](repeating: 0, count: 64 << 20)
        disk.replaceSubrange(0..<4096, with: randomBytes(4096, seed: 1))
        _ = try writeImage([("root", disk)], to: path, options: .init(chunkSize: 1 << 20, threads: 2))
        let reader = try ImageReader(path: path)
        try reader.extract(stream: 0, toFile: dir + "/root.raw")
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: dir + "/root.raw")), Data(disk))
        var info = stat()
        stat(dir + "/root.raw", &info)
        #expect(Int(info.st_blocks) * 512 < 4 << 20, "64 MiB with one data chunk should occupy about 1 MiB")
    }
}
