import Foundation
import Testing
import Synchronization

/// One run of a program.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
    /// The `--json` report on standard output.
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]) ?? [:] }
}

/// A scratch directory and the built `imgpack` (next to the test bundle: this test target depends
/// on the imgpack target).
struct Workspace {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "imgpack-registry-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }
    func path(_ name: String) -> String { directory + "/" + name }

    static let imgpack: String = {
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        return executable.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("imgpack").path
    }()

    /// Runs imgpack with a cache of this workspace's own (unless `arguments` name one).
    @discardableResult
    func imgpack(_ arguments: [String], stdin: String? = nil) throws -> Run {
        var args = arguments
        if !args.contains("--blob-cache"), ["pull", "ls-remote", "info"].contains(args.first ?? "") { args += ["--blob-cache", path("cache")] }
        return try execute(Self.imgpack, args, stdin: stdin)
    }

    /// Starts imgpack without waiting (for the kill tests).
    func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.imgpack)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        return process
    }

    func execute(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = directory
        environment.removeValue(forKey: "REGISTRY_AUTH_FILE")
        environment.removeValue(forKey: "XDG_RUNTIME_DIR")
        environment.removeValue(forKey: "DOCKER_CONFIG")
        process.environment = environment
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so neither fills up and blocks the child.
        let errData = Mutex<Data>(Data())
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            errData.withLock { $0 = data }
            finished.signal()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        finished.wait()
        return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
    }

    /// A raw disk of `megabytes` MiB: text-like runs, random runs and zero runs, from `seed`,
    /// so that it compresses like a real disk and has zero chunks that are never uploaded.
    func makeDisk(_ name: String, megabytes: Int, seed: UInt64) throws -> String {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
        var bytes = [UInt8](repeating: 0, count: megabytes << 20)
        var i = 0
        while i < bytes.count {
            let run = min(bytes.count - i, Int((next() >> 24) % (96 << 10)) + 4096)
            // High bits: an LCG's low bits repeat with a short period.
            switch (next() >> 40) % 4 {
            case 0: break  // zeros
            case 1:
                for j in i..<(i + run) { bytes[j] = UInt8(truncatingIfNeeded: next() >> 33) }
            default:
                let words = Array("the quick brown fox jumps over the lazy dog 0123456789 ".utf8)
                let shift = Int((next() >> 40) % UInt64(words.count))
                for j in i..<(i + run) { bytes[j] = words[(j + shift) % words.count] }
            }
            i += run
        }
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Overwrites `count` bytes at `offset` of a file with a new pattern (a changed file inside a disk).
    func change(_ name: String, at offset: Int, count: Int, seed: UInt8) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(name)))
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }))
        try handle.close()
    }

    /// Packs a raw disk into an image with 256 KiB chunks (enough records for several layers).
    func pack(_ disk: String, to image: String) throws {
        let r = try imgpack(["pack", "--disk", "root=\(path(disk))", "-o", path(image), "--chunk-size", "256K", "--quiet", "--force"])
        guard r.status == 0 else { throw RegistryServer.Unavailable(description: "pack failed: \(r.stderr)") }
    }

    func data(_ name: String) -> Data { FileManager.default.contents(atPath: path(name)) ?? Data() }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
}
