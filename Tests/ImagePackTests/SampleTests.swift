import Foundation
import Testing
import TestSupport
@testable import ImagePack

/// The repository's samples/ folder.
let samplesDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path + "/samples"
}()

/// How each valid sample is made: its input files and writer options.
struct SampleRecipe: Sendable {
    let file: String
    let streams: [(name: String, kind: StreamKind, blockSize: UInt32, input: String)]
    let options: WriterOptions

    static let all: [SampleRecipe] = [
        SampleRecipe(
            file: "two-disks-zstd.ipk",
            streams: [("root", .disk, 512, "root.raw"), ("data", .disk, 4096, "data.raw")],
            options: .init(codec: .zstd, chunkSize: 64 << 10, threads: 2)),
        SampleRecipe(file: "root-zlib.ipk", streams: [("root", .disk, 512, "root.raw")], options: .init(codec: .zlib, chunkSize: 64 << 10, threads: 2)),
        SampleRecipe(file: "root-stored.ipk", streams: [("root", .disk, 512, "root.raw")], options: .init(codec: .stored, chunkSize: 64 << 10, threads: 2)),
        SampleRecipe(
            file: "disk-nvram-memory.ipk",
            streams: [("root", .disk, 512, "root.raw"), ("efivars", .nvram, 1, "nvram.bin"), ("ram", .memory, 4096, "memory.bin")],
            options: .init(codec: .zstd, level: 9, chunkSize: 128 << 10, threads: 2)),
    ]

    func state() throws -> SystemState {
        let json = try Data(contentsOf: URL(fileURLWithPath: samplesDirectory + "/inputs/metadata.json"))
        let metadata = try JSONDecoder().decode(ImageMetadata.self, from: json)
        return SystemState(metadata: metadata, streams: try streams.map { s in
            StreamSpec(name: s.name, kind: s.kind, blockSize: s.blockSize, source: try FileSource(path: samplesDirectory + "/inputs/" + s.input))
        })
    }
}

@Suite("Samples: valid images in samples/valid, their inputs in samples/inputs")
struct SampleTests {
    /// `REGENERATE_SAMPLES=1 swift test --filter SampleTests` rewrites inputs and images.
    static let regenerate = ProcessInfo.processInfo.environment["REGENERATE_SAMPLES"] == "1"

    static func writeInputs() throws {
        let inputs = samplesDirectory + "/inputs"
        try FileManager.default.createDirectory(atPath: inputs, withIntermediateDirectories: true)
        func save(_ bytes: [UInt8], _ name: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: inputs + "/" + name)) }
        try save(mixedDisk(chunkSize: 64 << 10, seed: 2026), "root.raw")
        var data = [UInt8](repeating: 0, count: 256 << 10)
        data.replaceSubrange(8192..<8192 + 30_000, with: textBytes(30_000, seed: 3))
        try save(data, "data.raw")
        var nvram = [UInt8](repeating: 0xFF, count: 64 << 10)
        nvram += textBytes(1000, seed: 4)
        nvram += [UInt8](repeating: 0, count: 4096)
        try save(nvram, "nvram.bin")
        var memory: [UInt8] = []
        for i in 0..<8 {
            let page: [UInt8] = i % 3 == 0 ? [UInt8](repeating: 0, count: 32 << 10) : textBytes(32 << 10, seed: UInt64(100 + i))
            memory += page
        }
        try save(memory, "memory.bin")
        var metadata = testMetadata("sample-debian-12")
        metadata.description = "ImagePack sample image; inputs in samples/inputs"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(metadata).write(to: URL(fileURLWithPath: inputs + "/metadata.json"))
    }

    @Test("each valid sample decodes to its inputs through both readers", arguments: SampleRecipe.all.map(\.file))
    func samplesReadBack(file: String) throws {
        let recipe = SampleRecipe.all.first { $0.file == file }!
        let path = samplesDirectory + "/valid/" + file
        if Self.regenerate {
            if file == SampleRecipe.all[0].file { try Self.writeInputs() }
            try FileManager.default.createDirectory(atPath: samplesDirectory + "/valid", withIntermediateDirectories: true)
            try ImageWriter.write(recipe.state(), toFile: path, overwrite: true, options: recipe.options)
        }
        let reader = try ImageReader(path: path)
        #expect(try reader.verify(ReadOptions(threads: 2)).isValid)
        let (summary, disks) = try streamAll(path)
        #expect(summary.rootDigest == reader.rootDigest)
        for (i, s) in recipe.streams.enumerated() {
            let input = Array(try Data(contentsOf: URL(fileURLWithPath: samplesDirectory + "/inputs/" + s.input)))
            try expectSameBytes(reader.read(stream: i, at: 0, count: input.count), input)
            expectSameBytes(disks[i], input)
            #expect(reader.streams[i].kind == s.kind)
        }
    }

    @Test("writing the inputs again gives byte-identical samples (the format and writer are stable)", arguments: SampleRecipe.all.map(\.file))
    func samplesAreReproducible(file: String) throws {
        let recipe = SampleRecipe.all.first { $0.file == file }!
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        try ImageWriter.write(recipe.state(), toFile: dir + "/again.ipk", options: recipe.options)
        let again = try Data(contentsOf: URL(fileURLWithPath: dir + "/again.ipk"))
        let committed = try Data(contentsOf: URL(fileURLWithPath: samplesDirectory + "/valid/" + file))
        expectSameBytes(again, committed, "if the format changed on purpose, bump the spec version and regenerate with REGENERATE_SAMPLES=1")
    }
}
