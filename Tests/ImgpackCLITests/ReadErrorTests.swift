import Foundation
import ImagePack
import Testing

/// A disk or an image that cannot be read (EIO, as a failing device gives) fails the command with
/// exit 3, a message naming the file, the operation and the exact pread offset and length, and
/// nothing published. The failure is injected by an LD_PRELOAD shim (Tests/Fixtures/eio-shim.c)
/// built here with the system C compiler.
@Suite("read errors", .serialized)
struct ReadErrorTests {
    /// Tests/Fixtures/eio-shim.c, found from this file's path.
    static let shimSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/eio-shim.c").path
    static let compiler: String? = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Builds the shim into `cli`'s directory (hidden, so listings ignore it) and returns its path.
    static func buildShim(in cli: CLI) throws -> String {
        let output = cli.path(".eio-shim.so")
        let result = try cli.execute(try #require(compiler), ["-shared", "-fPIC", "-O1", "-o", output, shimSource, "-ldl"], stdinFile: nil, environment: [:])
        try #require(result.status == 0, "cannot build the EIO shim: \(result.stderr)")
        return output
    }

    /// Runs `arguments` with reads of `file` covering byte `offset` failing with EIO, and checks:
    /// exit 3, the file and "pread of N bytes at offset M" in the message with M...M+N covering
    /// `offset`, and no new file in the directory.
    func expectReadError(_ cli: CLI, shim: String, file: String, offset: Int, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = cli.listing()
        let resolved = URL(fileURLWithPath: cli.path(file)).resolvingSymlinksInPath().path
        let result = try cli.run(arguments, environment: ["LD_PRELOAD": shim, "EIO_PATH": resolved, "EIO_OFFSET": String(offset)])
        let command = arguments.prefix(2).joined(separator: " ")
        #expect(result.status == 3, "\(command): exit \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(file), "\(command) does not name \(file): \(result.stderr)", sourceLocation: sourceLocation)
        let match = result.stderr.firstMatch(of: /pread of (\d+) bytes at offset (\d+) failed: Input\/output error/)
        #expect(match != nil, "\(command) does not name the pread: \(result.stderr)", sourceLocation: sourceLocation)
        if let match, let length = Int(match.1), let at = Int(match.2) {
            #expect(at <= offset && offset < at + length, "\(command): the pread named (\(length) bytes at \(at)) does not cover \(offset)", sourceLocation: sourceLocation)
        }
        #expect(cli.listing() == before, "\(command) left files behind", sourceLocation: sourceLocation)
    }

    @Test("EIO reading a disk (pack, import) or an image (verify, extract, export) exits 3, names the pread and publishes nothing",
          .enabled(if: compiler != nil, "builds an LD_PRELOAD shim with the system C compiler"),
          .enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd"), "the shim finds paths through /proc"))
    func readErrors() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let shim = try Self.buildShim(in: cli)
        _ = try cli.packSample()  // sample.ipk of root.raw (4 MiB) and data.raw (2 MiB), 256 KiB chunks
        try FileManager.default.createDirectory(atPath: cli.path("out"), withIntermediateDirectories: true)

        // 300000 is in the text at the start of root.raw, inside the second 256 KiB chunk.
        try expectReadError(cli, shim: shim, file: "root.raw", offset: 300_000,
                            ["pack", "--disk", "root=root.raw", "--name", "eio", "--chunk-size", "256K", "-o", "x.ipk"])
        try expectReadError(cli, shim: shim, file: "root.raw", offset: 300_000,
                            ["import", "root.raw", "--name", "eio", "--chunk-size", "256K", "-o", "x.ipk"])
        // The middle of the image is chunk data: the readers' preads of it cover that byte.
        let middle = Int(try #require(system_stat(cli.path("sample.ipk"))).size) / 2
        try expectReadError(cli, shim: shim, file: "sample.ipk", offset: middle, ["verify", "sample.ipk"])
        try expectReadError(cli, shim: shim, file: "sample.ipk", offset: middle, ["extract", "sample.ipk", "-o", "out"])
        try expectReadError(cli, shim: shim, file: "sample.ipk", offset: middle, ["export", "sample.ipk", "--disk", "root", "--format", "raw", "-o", "root.out"])
        try expectReadError(cli, shim: shim, file: "sample.ipk", offset: middle, ["export", "sample.ipk", "--disk", "root", "--format", "qcow2", "-o", "root.qcow2"])
    }

    @Test("the shim fails only the reads that cover its offset", .enabled(if: compiler != nil, "builds an LD_PRELOAD shim"))
    func shimIsSelective() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let shim = try Self.buildShim(in: cli)
        _ = try cli.packSample()
        let resolved = URL(fileURLWithPath: cli.path("sample.ipk")).resolvingSymlinksInPath().path
        // Past the end of the file no read covers the offset: verify passes under the shim.
        let result = try cli.run(["verify", "sample.ipk"], environment: ["LD_PRELOAD": shim, "EIO_PATH": resolved, "EIO_OFFSET": "999999999999"])
        #expect(result.status == 0, "\(result.stderr)")
    }
}
