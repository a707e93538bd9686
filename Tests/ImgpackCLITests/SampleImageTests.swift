import Foundation
import Testing
import TestSupport

/// The committed images of samples/valid/, rebuilt with the CLI from samples/inputs/: the CLI's
/// flags must reach the same bytes as the library recipes in Tests/ImagePackTests/SampleTests.swift.
@Suite("samples through the CLI")
struct SampleImageTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("samples").path

    static let recipes: [(file: String, arguments: [String])] = [
        ("two-disks-zstd.ipk", ["--disk", "root=$IN/root.raw", "--disk", "data=$IN/data.raw", "--block-size", "data=4096", "--chunk-size", "64K"]),
        ("root-zlib.ipk", ["--disk", "root=$IN/root.raw", "--codec", "zlib", "--chunk-size", "64K"]),
        ("root-stored.ipk", ["--disk", "root=$IN/root.raw", "--codec", "stored", "--chunk-size", "64K"]),
        ("disk-nvram-memory.ipk", ["--disk", "root=$IN/root.raw", "--section", "nvram:efivars=$IN/nvram.bin", "--section", "memory:ram=$IN/memory.bin", "--level", "9", "--chunk-size", "128K"]),
    ]

    @Test("pack reproduces each sample byte for byte; verify and extract read it back", arguments: recipes.map(\.file))
    func reproduce(_ file: String) throws {
        let recipe = Self.recipes.first { $0.file == file }!
        let expected = Self.samples + "/valid/" + file
        try #require(FileManager.default.fileExists(atPath: expected), "no sample \(expected)")
        let cli = CLI()
        defer { cli.cleanUp() }
        let inputs = Self.samples + "/inputs"
        let args = recipe.arguments.map { $0.replacingOccurrences(of: "$IN", with: inputs) }
        let r = try cli.run(["pack"] + args + ["--metadata", inputs + "/metadata.json", "--threads", "2", "-o", file])
        #expect(r.status == 0, "\(r.stderr)")
        try expectSameBytes(cli.read(file), [UInt8](Data(contentsOf: URL(fileURLWithPath: expected))), "\(file) differs from the sample")

        #expect(try cli.run(["verify", expected]).status == 0)
        let x = try cli.run(["extract", expected, "--disk", "root", "-o", "out"])
        #expect(x.status == 0)
        try expectSameBytes(cli.read("out/root.raw"), [UInt8](Data(contentsOf: URL(fileURLWithPath: inputs + "/root.raw"))))
    }
}
