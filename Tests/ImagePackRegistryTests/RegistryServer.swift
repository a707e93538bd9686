import Foundation
import Glibc
import Testing

/// A real registry (Debian's docker-registry, CNCF distribution 2.8) on 127.0.0.1, started by a
/// test and stopped by it: filesystem storage in a temporary directory, optionally htpasswd
/// (bcrypt) auth and TLS with a certificate made by openssl.
///
/// The port is chosen by the kernel (`addr: 127.0.0.1:0`) and read from the registry's
/// "listening on" log line, so two registries never race for a port.
final class RegistryServer {
    let directory: String
    private(set) var process: Process
    let port: Int
    let tls: Bool
    /// The CA certificate (the self-signed server certificate itself) with `tls`.
    var caFile: String { directory + "/cert.pem" }
    var address: String { "127.0.0.1:\(port)" }
    var storage: String { directory + "/data" }
    /// Registry options the CLI needs for this server (plain HTTP on loopback, or its CA).
    var clientArguments: [String] { tls ? ["--ca-file", caFile] : ["--insecure"] }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// distribution's `auth: token:` settings: requests need a bearer token from `realm`, signed
    /// by a certificate of `rootCertBundle`, issued by `issuer` for `service`.
    struct TokenAuth {
        var realm: String
        var service: String
        var issuer: String
        var rootCertBundle: String
    }

    /// Starts a registry; with `user`/`password`, requests need basic auth; with `token`, bearer tokens.
    init(user: String? = nil, password: String? = nil, tls: Bool = false, token: TokenAuth? = nil) throws {
        directory = NSTemporaryDirectory() + "imgpack-registry-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.tls = tls
        var config = """
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: \(directory)/data
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:0

            """
        if let user, let password {
            try Self.shell("htpasswd -Bbc '\(directory)/htpasswd' '\(user)' '\(password)' 2>/dev/null")
            config += """
                auth:
                  htpasswd:
                    realm: imgpack-tests
                    path: \(directory)/htpasswd

                """
        }
        if let token {
            config += """
                auth:
                  token:
                    realm: \(token.realm)
                    service: \(token.service)
                    issuer: \(token.issuer)
                    rootcertbundle: \(token.rootCertBundle)

                """
        }
        if tls {
            try Self.shell(
                "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 "
                    + "-addext subjectAltName=IP:127.0.0.1 -keyout '\(directory)/key.pem' -out '\(directory)/cert.pem' 2>/dev/null")
            config = config.replacingOccurrences(
                of: "  addr: 127.0.0.1:0\n", with: "  addr: 127.0.0.1:0\n  tls:\n    certificate: \(directory)/cert.pem\n    key: \(directory)/key.pem\n")
        }
        try config.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: directory + "/registry.log", contents: nil)
        (process, port) = try Self.launch(directory: directory)
    }

    /// Starts docker-registry on `directory/config.yml`, logging to `directory/registry.log`, and
    /// returns it with the port it listens on (read from the log lines it adds).
    private static func launch(directory: String) throws -> (Process, Int) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry") else {
            throw Unavailable(description: "/usr/bin/docker-registry is missing: run bash .ci/deps (Debian package docker-registry)")
        }
        let log = directory + "/registry.log"
        let logged = ((try? FileManager.default.attributesOfItem(atPath: log))?[.size] as? Int) ?? 0
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", directory + "/config.yml"]
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        var found: Int?
        // The registry logs its address within a fraction of a second; give it up to 30 s on a loaded machine.
        for _ in 0..<300 {
            let text = String(decoding: (FileManager.default.contents(atPath: log) ?? Data()).dropFirst(logged), as: UTF8.self)
            if let range = text.range(of: "listening on 127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                found = Int(digits)
                break
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        guard let found else {
            process.terminate()
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw Unavailable(description: "docker-registry did not start: \(text.suffix(2000))")
        }
        return (process, found)
    }

    /// Kills the registry with SIGKILL (no goodbye to its clients) and waits for it to go.
    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Starts the registry again on the same port and storage (after ``kill()``).
    func restart() throws {
        let file = directory + "/config.yml"
        let config = try String(contentsOfFile: file, encoding: .utf8)
        try config.replacingOccurrences(of: "addr: 127.0.0.1:0\n", with: "addr: 127.0.0.1:\(port)\n").write(toFile: file, atomically: true, encoding: .utf8)
        let (process, port) = try Self.launch(directory: directory)
        self.process = process
        guard port == self.port else { throw Unavailable(description: "the registry came back on port \(port), not \(self.port)") }
    }

    /// The blob GETs the registry answered, from its access log (gorilla's combined format:
    /// `"GET /v2/<repository>/blobs/<digest> HTTP/1.1" <status> <body bytes>`): which blobs a
    /// command read and how many bytes of them travelled.
    func blobReads() -> [(digest: String, bytes: Int)] {
        let text = (try? String(contentsOfFile: directory + "/registry.log", encoding: .utf8)) ?? ""
        var reads: [(digest: String, bytes: Int)] = []
        for line in text.split(separator: "\n") {
            guard let get = line.range(of: "\"GET /v2/"), let blobs = line.range(of: "/blobs/sha256:", range: get.upperBound..<line.endIndex) else { continue }
            let digest = "sha256:" + line[blobs.upperBound...].prefix { $0.isHexDigit }
            guard let quote = line.range(of: "\" ", range: blobs.upperBound..<line.endIndex) else { continue }
            let fields = line[quote.upperBound...].split(separator: " ", maxSplits: 2)
            guard fields.count >= 2, let status = Int(fields[0]), (200..<300).contains(status), let bytes = Int(fields[1]) else { continue }
            reads.append((digest, bytes))
        }
        return reads
    }

    /// Stops the registry and removes its storage.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Bytes the registry stores (blobs, manifests, links): how much a push added.
    func storedBytes() -> UInt64 {
        guard let walker = FileManager.default.enumerator(atPath: storage) else { return 0 }
        var total: UInt64 = 0
        while let name = walker.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: storage + "/" + name)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? UInt64) ?? 0 }
        }
        return total
    }

    /// Where the registry keeps a blob's bytes (distribution's filesystem layout).
    func blobPath(_ digest: String) -> String {
        let hex = digest.replacingOccurrences(of: "sha256:", with: "")
        return "\(storage)/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    @discardableResult
    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Unavailable(description: "`\(command)` failed with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
