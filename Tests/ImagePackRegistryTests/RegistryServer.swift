import Foundation
import Testing

/// A real registry (Debian's docker-registry, CNCF distribution 2.8) on 127.0.0.1, started by a
/// test and stopped by it: filesystem storage in a temporary directory, optionally htpasswd
/// (bcrypt) auth and TLS with a certificate made by openssl.
///
/// The port is chosen by the kernel (`addr: 127.0.0.1:0`) and read from the registry's
/// "listening on" log line, so two registries never race for a port.
final class RegistryServer {
    let directory: String
    let process: Process
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

    /// Starts a registry; with `user`/`password`, requests need basic auth.
    init(user: String? = nil, password: String? = nil, tls: Bool = false) throws {
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
        if tls {
            try Self.shell(
                "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 "
                    + "-addext subjectAltName=IP:127.0.0.1 -keyout '\(directory)/key.pem' -out '\(directory)/cert.pem' 2>/dev/null")
            config = config.replacingOccurrences(
                of: "  addr: 127.0.0.1:0\n", with: "  addr: 127.0.0.1:0\n  tls:\n    certificate: \(directory)/cert.pem\n    key: \(directory)/key.pem\n")
        }
        try config.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
        let log = directory + "/registry.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", directory + "/config.yml"]
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry") else {
            throw Unavailable(description: "/usr/bin/docker-registry is missing: run bash .ci/deps (Debian package docker-registry)")
        }
        try process.run()
        var found: Int?
        // The registry logs its address within a fraction of a second; give it up to 30 s on a loaded machine.
        for _ in 0..<300 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
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
        port = found
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
