import Foundation
@testable import ImagePack
@testable import ImagePackSimulation

/// A fresh temporary directory per test, removed by the caller through `defer`.
func makeTemporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "imagepack-tests-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func removeItem(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

/// Test inputs use the library's seeded generator.
typealias SplitMix = SplitMix64

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = SplitMix(seed: seed)
    var out = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
        let v = rng.next()
        for b in 0..<8 where i + b < count { out[i + b] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(b))) }
        i += 8
    }
    return out
}

/// Text-like bytes that compress well.
func textBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    let words = ["the", "kernel", "boot", "image", "disk", "error", "info", "sector", "cloud", "instance", "region", "log", "\n", "config=", "0x", "value"]
    var rng = SplitMix(seed: seed)
    var out = [UInt8]()
    out.reserveCapacity(count + 16)
    while out.count < count {
        out.append(contentsOf: words[Int(rng.next() % UInt64(words.count))].utf8)
        out.append(0x20)
    }
    return Array(out[0..<count])
}

/// A disk mixing every kind of chunk content: text, zeros, fill, random.
func mixedDisk(chunkSize: Int, seed: UInt64) -> [UInt8] {
    var disk = textBytes(chunkSize, seed: seed)
    disk += [UInt8](repeating: 0, count: chunkSize * 2)  // two zero chunks
    disk += [UInt8](repeating: 0xFF, count: chunkSize)  // a fill chunk
    disk += randomBytes(chunkSize, seed: seed + 1)  // stored raw
    disk += textBytes(chunkSize / 3 + 17, seed: seed + 2)  // a short last chunk
    return disk
}

func testMetadata(_ name: String = "test-image") -> ImageMetadata {
    ImageMetadata(
        name: name, description: "made by the test suite", os: .init(family: "linux", distribution: "debian", version: "12"),
        architecture: .x86_64, bootMode: .uefi, vcpuCount: 2, memoryMiB: 2048, createdAt: "2026-11-27T10:00:00Z",
        sourceInstanceID: "i-0123", region: "eu-west-1", ownerAccount: "111122223333", visibility: .shared,
        sharedWith: ["444455556666"], tags: ["env": "test"])
}

/// Collects everything a streaming read produces, per stream.
/// With `references` other than `.keepWindow`, a reference's content is copied from what was
/// already collected, as a consumer that re-reads its output does.
func streamAll(_ path: String, threads: Int = 2, parents: [ImageReader] = [], references: ReferenceContent = .keepWindow) throws -> (StreamingSummary, [[UInt8]]) {
    let reader = try StreamingReader(path: path, options: ReadOptions(threads: threads, parents: parents))
    var disks: [[UInt8]] = []
    let summary = try reader.read(references: references) { event in
        switch event {
        case .begin(_, let streams):
            disks = streams.map { [UInt8](repeating: 0xEE, count: Int($0.logicalSize)) }
        case .data(let s, let offset, let bytes):
            disks[s].replaceSubrange(Int(offset)..<Int(offset) + bytes.count, with: bytes)
        case .zero(let s, let offset, let length):
            disks[s].replaceSubrange(Int(offset)..<Int(offset + length), with: repeatElement(0, count: Int(length)))
        case .reference(let c):
            let from = Array(disks[c.sourceStream][Int(c.sourceOffset)..<Int(c.sourceOffset + c.length)])
            disks[c.stream].replaceSubrange(Int(c.offset)..<Int(c.offset + c.length), with: from)
        }
    }
    return (summary, disks)
}

/// Options for the small test images: the format 1.0 layout, which the tests written for it take
/// apart byte by byte (format 1.2 images are made on purpose by the tests of the catalogue).
let legacyTestOptions: WriterOptions = {
    var options = WriterOptions(chunkSize: 64 << 10, threads: 2)
    options.catalogue = false
    return options
}()

func writeImage(_ streams: [(String, [UInt8])], to path: String, options: WriterOptions = legacyTestOptions) throws -> WriteSummary {
    let state = SystemState(metadata: testMetadata(), streams: streams.map { StreamSpec(name: $0.0, source: BytesSource($0.1)) })
    return try ImageWriter.write(state, toFile: path, options: options)
}
