import Foundation
import ImagePack
import ImagePackNBD
import Synchronization

/// A server on a Unix socket in a fresh directory, its log captured; ``stop()`` shuts it down
/// and removes the directory.
final class TestServer: Sendable {
    let directory: String
    let server: NBDServer
    let socket: String
    let log = LogLines()

    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("samples/valid").path
    /// Two disks ("root": data, zero, fill and stored chunks; "data": data and zero chunks), 64 KiB chunks.
    static let twoDisks = samples + "/two-disks-zstd.ipk"

    static func makeDirectory() -> String {
        let directory = NSTemporaryDirectory() + "imagepack-nbd-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    init(image: String = TestServer.twoDisks, directory: String? = nil, configure: (inout NBDServer.Configuration) -> Void = { _ in }) throws {
        self.directory = directory ?? Self.makeDirectory()
        socket = self.directory + "/nbd.sock"
        var configuration = NBDServer.Configuration(imagePath: image)
        configuration.threads = 2
        configuration.log = { [log] line in log.append(line) }
        configure(&configuration)
        server = try NBDServer(configuration: configuration)
        try server.listen(on: .unix(path: socket))
    }

    func client() throws -> RawNBDClient { try RawNBDClient(socketPath: socket) }

    /// A client past the handshake, on `export` (arguments as ``RawNBDClient/go(_:structured:baseAllocation:)``).
    func connectedClient(_ export: String = "", structured: Bool = true, baseAllocation: Bool = false) throws -> RawNBDClient {
        let c = try client()
        try c.handshake()
        try c.go(export, structured: structured, baseAllocation: baseAllocation)
        return c
    }

    func stop(removing: Bool = true) {
        server.shutdown()
        if removing { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// Lines logged by a server, for tests that check what it reports.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
