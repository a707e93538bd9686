import Foundation
import Testing

/// The `imgpack` binary and the NBD clients the interop tests run.
///
/// A missing tool skips its tests with a message, except in CI (`CI` set), where it fails them:
/// .ci/deps installs qemu-utils and libnbd-bin, so a missing tool there is a broken setup.
enum ExternalTools {
    static let isCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false

    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static let nbdClients = ["qemu-img", "qemu-io", "nbdinfo", "nbdcopy"]
    static var missing: [String] { nbdClients.filter { find($0) == nil } }
    /// Run the interop tests when every tool is there, and always in CI (where a missing one fails).
    static var enabled: Bool { missing.isEmpty || isCI }
    static var skipMessage: Comment { "skipped: \(missing.joined(separator: ", ")) not installed (apt-get install qemu-utils libnbd-bin)" }

    /// The `imgpack` executable: `$IMGPACK_BINARY`, else the one built beside the test bundle.
    static let imgpack: String = {
        if let path = ProcessInfo.processInfo.environment["IMGPACK_BINARY"] { return path }
        var candidates: [URL] = []
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(runner.deletingLastPathComponent().appendingPathComponent("imgpack"))
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent("imgpack"))
        }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(package.appendingPathComponent(".build/debug/imgpack"))
        for url in candidates where FileManager.default.isExecutableFile(atPath: url.path) { return url.path }
        return candidates.last!.path
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `tool arguments` to completion, output to files (no pipe can fill up and block).
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], in directory: String) throws -> Result {
        let executable = tool == "imgpack" ? imgpack : tool.hasPrefix("/") ? tool : try #require(find(tool), "\(tool) is not installed")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let id = UUID().uuidString
        let out = directory + "/.out-" + id, err = directory + "/.err-" + id
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}

/// `imgpack serve` as a child process on a Unix socket.
final class ServeProcess {
    let process = Process()
    let socket: String
    let log: String

    init(image: String, socket: String, extra: [String] = [], in directory: String) throws {
        self.socket = socket
        log = directory + "/serve-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        try? FileManager.default.removeItem(atPath: socket)
        process.executableURL = URL(fileURLWithPath: ExternalTools.imgpack)
        process.arguments = ["serve", image, "--socket", socket] + extra
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        // Ready once the socket exists; give up (and fail) if the server exits instead.
        while !FileManager.default.fileExists(atPath: socket) {
            guard process.isRunning else { throw RawNBDClient.Failure(description: "imgpack serve exited: \(logText)") }
            usleep(20_000)
        }
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func uri(_ export: String) -> String { "nbd+unix:///\(export)?socket=\(socket)" }

    /// SIGTERM, then the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { stop() }
}
