import Foundation
import Synchronization
import Testing
import TestSupport
@testable import ImagePack
@testable import ImagePackSimulation

/// A disk source that fails once a read reaches `failAt`, like a disk with a bad sector.
struct FailingStreamSource: StreamSource {
    let bytes: [UInt8]
    let failAt: UInt64
    var logicalSize: UInt64 { UInt64(bytes.count) }
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        if offset + UInt64(buffer.count) > failAt {
            throw ImagePackError(.ioFailed, "simulated bad sector", offset: failAt, cause: Int(EIO))
        }
        try BytesSource(bytes).read(at: offset, into: buffer)
    }
}

/// A sink that accepts `limit` bytes, then fails like a full disk.
final class FullDiskSink: ByteSink {
    let limit: Int
    var written = 0
    init(limit: Int) { self.limit = limit }
    func write(_ bytes: UnsafeRawBufferPointer) throws(ImagePackError) {
        guard written + bytes.count <= limit else {
            throw ImagePackError(.ioFailed, "no space left on device", cause: Int(ENOSPC))
        }
        written += bytes.count
    }
}

final class Counter: @unchecked Sendable {
    var values: [Int] = []
}

/// A disk of `chunks` 64 KiB chunks mixing every content kind, in an order that varies, so
/// workers finish out of order.
func largeMixedDisk(chunks: Int, seed: UInt64) -> [UInt8] {
    let chunk = 64 << 10
    var disk: [UInt8] = []
    disk.reserveCapacity(chunks * chunk + 1000)
    var rng = SplitMix(seed: seed)
    for i in 0..<chunks {
        switch rng.next() % 5 {
        case 0: disk += [UInt8](repeating: 0, count: chunk)
        case 1: disk += [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: chunk)
        case 2: disk += randomBytes(chunk, seed: seed &+ UInt64(i))
        default: disk += textBytes(chunk, seed: seed &+ UInt64(i))
        }
    }
    disk += textBytes(1000, seed: seed)  // short last chunk
    return disk
}

@Suite("The ordered parallel pipeline")
struct PipelineTests {
    @Test("results are consumed in job order for any lane count, with a partial last round", arguments: [1, 2, 3, 4, 8])
    func order(lanes: Int) throws {
        final class Slot: @unchecked Sendable { var value = -1 }
        let slots = (0..<max(lanes, 1) * 2).map { _ in Slot() }
        var seen: [Int] = []
        try OrderedParallel.run(
            count: 103, slots: slots, lanes: lanes, cancellation: nil,
            work: { slot, j in
                if j % 7 == 0 { usleep(200) }  // make some jobs slow so others overtake them
                slot.value = j * j
            },
            consume: { slot, j in
                #expect(slot.value == j * j)
                seen.append(j)
            })
        #expect(seen == Array(0..<103))
    }

    @Test("the producer variant stops at the first false and consumes everything produced")
    func produced() throws {
        final class Slot: @unchecked Sendable {
            var input = 0
            var output = 0
        }
        let slots = (0..<4).map { _ in Slot() }
        var sum = 0
        var calls = 0
        try OrderedParallel.run(
            slots: slots, lanes: 2, cancellation: nil,
            produce: { slot, j in
                calls += 1
                guard j < 50 else { return false }
                slot.input = j
                return true
            },
            work: { slot, _ in slot.output = slot.input + 1 },
            consume: { slot, _ in sum += slot.output })
        #expect(sum == (1...50).reduce(0, +))
        #expect(calls == 51)
    }

    @Test("a consumer error stops the workers and surfaces, with jobs still in flight", arguments: [1, 2, 4])
    func consumerError(lanes: Int) throws {
        final class Slot: @unchecked Sendable {}
        let worked = Atomic<Int>(0)
        let slots = (0..<lanes * 2).map { _ in Slot() }
        #expect(throws: ImagePackError(.ioFailed, "")) {
            try OrderedParallel.run(
                count: 10_000, slots: slots, lanes: lanes, cancellation: nil,
                work: { _, _ in worked.add(1, ordering: .relaxed) },
                consume: { (_, j) throws(ImagePackError) in
                    if j == 5 { throw ImagePackError(.ioFailed, "stop") }
                })
        }
        // Backpressure: no more than the slots ahead of the failing job were ever started.
        #expect(worked.load(ordering: .relaxed) <= 6 + slots.count)
    }
}

@Suite("Parallel writing and reading: determinism, errors, cancellation")
struct ParallelRoundTripTests {
    @Test("a multi-round image is byte-identical for 1, 2, 3 and 4 threads; verify and extract agree")
    func deterministicLarge() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = largeMixedDisk(chunks: 61, seed: 21)  // many rounds of 2 x threads slots
        var images: [Data] = []
        var roots: [Digest] = []
        for threads in [1, 2, 3, 4] {
            let path = dir + "/img\(threads).ipk"
            let summary = try writeImage([("small", textBytes(5000, seed: 1)), ("root", disk)], to: path, options: .init(chunkSize: 64 << 10, threads: threads))
            images.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            roots.append(summary.rootDigest)
        }
        for image in images.dropFirst() { expectSameBytes(image, images[0]) }
        #expect(Set(roots).count == 1)

        let path = dir + "/img1.ipk"
        let reader = try ImageReader(path: path)
        for threads in [1, 2, 4] {
            let report = try reader.verify(ReadOptions(threads: threads))
            #expect(report.isValid)
            #expect(report.chunksChecked == reader.entries.filter { $0.kind != .zero }.count)
            let out = dir + "/root\(threads).raw"
            try reader.extract(stream: 1, toFile: out, options: ReadOptions(threads: threads))
            try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: out)), Data(disk))
            let (streamed, disks) = try streamAll(path, threads: threads)
            #expect(streamed.rootDigest == roots[0])
            expectSameBytes(disks[1], disk)
        }
    }

    @Test("a source that fails mid-way surfaces its error with the stream name and leaves no file", arguments: [1, 2, 4])
    func failingSource(threads: Int) throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/img.ipk"
        let bytes = largeMixedDisk(chunks: 40, seed: 3)
        let source = FailingStreamSource(bytes: bytes, failAt: 23 * 65536 + 100)
        let state = SystemState(metadata: testMetadata(), streams: [
            StreamSpec(name: "boot", source: BytesSource(textBytes(70_000, seed: 2))),
            StreamSpec(name: "data", source: source),
        ])
        do {
            try ImageWriter.write(state, toFile: path, options: .init(chunkSize: 64 << 10, threads: threads))
            Issue.record("the write should have failed")
        } catch {
            #expect(error.code == .ioFailed)
            #expect(error.stream == "data")
            #expect(error.cause == Int(EIO))
            #expect(error.path == path)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("a sink that fails stops the write with its error", arguments: [1, 2, 4])
    func failingSink(threads: Int) throws {
        let state = SystemState(metadata: testMetadata(), streams: [StreamSpec(name: "root", source: BytesSource(largeMixedDisk(chunks: 40, seed: 9)))])
        #expect(throws: ImagePackError(.ioFailed, "")) {
            try ImageWriter.write(state, to: FullDiskSink(limit: 300_000), options: .init(chunkSize: 64 << 10, threads: threads))
        }
    }

    @Test("cancellation from another thread stops a write promptly", arguments: [1, 2, 4])
    func cancelWrite(threads: Int) throws {
        let cancellation = Cancellation()
        var options = WriterOptions(chunkSize: 64 << 10, threads: threads)
        options.cancellation = cancellation
        let state = SystemState(metadata: testMetadata(), streams: [StreamSpec(name: "root", source: BytesSource(largeMixedDisk(chunks: 40, seed: 9)))])
        let progressCalls = Atomic<Int>(0)
        #expect(throws: ImagePackError(.cancelled, "")) {
            try ImageWriter.write(state, to: FullDiskSink(limit: .max), options: options) { done, _ in
                if progressCalls.add(1, ordering: .relaxed).newValue == 5 { cancellation.cancel() }
            }
        }
        #expect(progressCalls.load(ordering: .relaxed) < 40)
    }

    @Test("a damaged chunk fails extract with its chunk index, and verify lists it", arguments: [1, 2, 4])
    func damagedChunk(threads: Int) throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/img.ipk"
        let disk = (0..<30).flatMap { textBytes(64 << 10, seed: UInt64($0)) }
        _ = try writeImage([("root", disk)], to: path, options: .init(chunkSize: 64 << 10, threads: 2))
        let victim = try ImageReader(path: path).entries[17]
        // Flip one payload byte of chunk 17.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        let at = victim.recordOffset + UInt64(Layout.chunkPrefixSize) + 10
        try handle.seek(toOffset: at)
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: at)
        try handle.write(contentsOf: Data([byte ^ 0x40]))
        try handle.close()

        let reader = try ImageReader(path: path)
        let report = try reader.verify(ReadOptions(threads: threads))
        #expect(report.failures.count == 1)
        #expect(report.failures.first?.chunk == 17)
        #expect(report.failures.first?.code == .chunkChecksumMismatch)
        do {
            try reader.extract(stream: 0, toFile: dir + "/out.raw", options: ReadOptions(threads: threads))
            Issue.record("extract should have failed")
        } catch {
            #expect(error.code == .chunkChecksumMismatch)
            #expect(error.chunk == 17)
            #expect(error.stream == "root")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.raw"))
    }
}
