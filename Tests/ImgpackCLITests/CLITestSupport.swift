import Foundation
import ImagePack
import ImagePackSimulation
import Testing

/// The result of one run of the `imgpack` binary.
struct RunResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs the built `imgpack` and the shell, in a scratch directory per test.
struct CLI {
    /// The `imgpack` executable, in the products directory that holds this test bundle: the test
    /// target depends on the `imgpack` target, so SwiftPM builds it there before the tests.
    static var binary: String {
        get throws {
            let path = productsDirectory.appendingPathComponent("imgpack").path
            guard FileManager.default.isExecutableFile(atPath: path) else { throw MissingBinary(path: path) }
            return path
        }
    }

    /// Where SwiftPM put the test bundle and the executables it depends on. On macOS the tests run
    /// inside `PackageTests.xctest/Contents/MacOS/` under a runner, so the bundle is looked up; on
    /// Linux the test executable *is* `PackageTests.xctest`, directly in the products directory.
    static let productsDirectory: URL = {
        #if os(macOS)
        if let bundle = Bundle.allBundles.first(where: { $0.bundleURL.pathExtension == "xctest" }) {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        #endif
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        return executable.resolvingSymlinksInPath().deletingLastPathComponent()
    }()

    /// The one failure every CLI test reports when the binary is not where SwiftPM puts it.
    struct MissingBinary: Error, CustomStringConvertible {
        var path: String
        var description: String {
            "imgpack is not at \(path), next to the test bundle; ImgpackCLITests depends on the imgpack target, and `swift test` or `swift build --build-tests` link it there"
        }
    }

    /// A fresh scratch directory; removed by ``cleanUp()``.
    let directory: String

    init() {
        directory = NSTemporaryDirectory() + "imgpack-cli-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }

    func path(_ name: String) -> String { directory + "/" + name }

    /// Runs `imgpack arguments` in the scratch directory, standard input from `stdinFile` (or empty).
    @discardableResult
    func run(_ arguments: [String], stdinFile: String? = nil, environment: [String: String] = [:]) throws -> RunResult {
        try execute(try Self.binary, arguments, stdinFile: stdinFile, environment: environment)
    }

    /// Runs `command` with /bin/sh in the scratch directory; `$IMGPACK` is the binary.
    @discardableResult
    func shell(_ command: String, environment: [String: String] = [:]) throws -> RunResult {
        var env = environment
        env["IMGPACK"] = try Self.binary
        return try execute("/bin/sh", ["-c", command], stdinFile: nil, environment: env)
    }

    func execute(_ executable: String, _ arguments: [String], stdinFile: String?, environment: [String: String]) throws -> RunResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = "80"
        env.removeValue(forKey: "SOURCE_DATE_EPOCH")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        // Files, not pipes: no deadlock however much either stream says.
        let id = UUID().uuidString
        let outPath = path(".stdout-\(id)"), errPath = path(".stderr-\(id)")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdinFile ?? "/dev/null"))
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let stdout = try Data(contentsOf: URL(fileURLWithPath: outPath))
        let stderr = String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self)
        return RunResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    // MARK: Test data

    /// Writes a sparse raw disk of `size` bytes: text at 0, random bytes at 1/2, a run of 0xAB at
    /// 3/4, holes elsewhere. Returns its bytes.
    @discardableResult
    func makeDisk(_ name: String, size: Int, seed: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        var rng = SplitMix(seed: seed)
        let words = Array("the quick brown fox jumps over the lazy dog; kernel: boot ok\n".utf8)
        for i in 0..<(size / 4) { bytes[i] = words[(i + Int(rng.next() % 3)) % words.count] }
        for i in stride(from: size / 2, to: size / 2 + size / 8, by: 8) {
            let v = rng.next()
            for b in 0..<8 where i + b < size { bytes[i + b] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(b))) }
        }
        for i in (size * 3 / 4)..<(size * 3 / 4 + size / 16) { bytes[i] = 0xAB }
        // Write only the non-zero parts, so the file has holes.
        let fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0)
        defer { close(fd) }
        precondition(ftruncate(fd, off_t(size)) == 0)
        for range in [0..<(size / 4), (size / 2)..<(size / 2 + size / 8), (size * 3 / 4)..<(size * 3 / 4 + size / 16)] {
            let n = bytes[range].withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(range.lowerBound)) }
            precondition(n == range.count)
        }
        return bytes
    }

    func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    /// Files in the scratch directory (recursively), hidden ones included.
    func listing() -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).filter { !$0.hasPrefix(".stdout-") && !$0.hasPrefix(".stderr-") }.sorted()
    }

    /// The output a running `imgpack` (process `pid`) writes into the scratch directory, as its
    /// /proc/PID/fd link; nil while it has none open. An unnamed (O_TMPFILE) file's link reads
    /// "DIR/#INODE (deleted)", a named temporary one ".NAME.imgpack-tmp-PID-N". Linux only.
    func outputBeingWritten(by pid: Int32) -> String? {
        let fds = "/proc/\(pid)/fd"
        let resolved = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path + "/"
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: fds)) ?? [] {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/" + fd),
                  target.hasPrefix(resolved) else { continue }
            let name = target.dropFirst(resolved.count)
            if (name.hasPrefix("#") && name.hasSuffix(" (deleted)")) || name.contains(".imgpack-tmp-") { return fds + "/" + fd }
        }
        return nil
    }

    /// Allocated bytes of a file (st_blocks × 512).
    func allocated(_ name: String) -> Int {
        var info = stat()
        precondition(stat(path(name), &info) == 0)
        return Int(info.st_blocks) * 512
    }

    /// Packs two small disks (4 MiB "root", 2 MiB "data") into `image` with 256 KiB chunks.
    func packSample(_ image: String = "sample.ipk", extra: [String] = []) throws -> (root: [UInt8], data: [UInt8]) {
        let root = try makeDisk("root.raw", size: 4 << 20, seed: 1)
        let data = try makeDisk("data.raw", size: 2 << 20, seed: 2)
        let result = try run(["pack", "--disk", "root=root.raw", "--disk", "data=data.raw", "--name", "sample", "--chunk-size", "256K", "-o", image] + extra)
        #expect(result.status == 0, "pack failed: \(result.stderr)")
        return (root, data)
    }
}

/// Test inputs use the library's seeded generator.
typealias SplitMix = SplitMix64

/// A JSON document as nested dictionaries.
func jsonObject(_ data: Data) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}
