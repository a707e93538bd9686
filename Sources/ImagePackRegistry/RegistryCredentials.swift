import Foundation
import ImagePack

/// A user name and password (or token) for a registry. Its description never shows the password,
/// so printing one by mistake leaks nothing.
public struct RegistryCredentials: Sendable, CustomStringConvertible {
    public let username: String
    let password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "credentials of \(username)" }

    /// `Basic base64(user:password)` for an Authorization header.
    var basicAuthorization: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }

    /// The credentials the docker/podman `auth.json` files hold for `registry`, looked up where
    /// those tools keep them: `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
    /// `~/.config/containers/auth.json`, `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`;
    /// the first file with an entry for the registry wins. `file` overrides the search.
    /// - Throws: `.invalidArgument` when a named file cannot be read or parsed (a file that is
    ///   merely absent from the search path is skipped).
    public static func fromAuthFiles(registry: String, file: String? = nil) throws(ImagePackError) -> RegistryCredentials? {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let file {
            candidates = [file]
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            if let f = environment["REGISTRY_AUTH_FILE"] { candidates.append(f) }
            if let r = environment["XDG_RUNTIME_DIR"] { candidates.append(r + "/containers/auth.json") }
            candidates.append(home + "/.config/containers/auth.json")
            if let d = environment["DOCKER_CONFIG"] { candidates.append(d + "/config.json") }
            candidates.append(home + "/.docker/config.json")
        }
        for path in candidates {
            guard let data = FileManager.default.contents(atPath: path) else {
                if file != nil { throw ImagePackError(.invalidArgument, "cannot read the auth file", path: path) }
                continue
            }
            guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ImagePackError(.invalidArgument, "the auth file is not JSON (expected {\"auths\": {\"HOST\": {\"auth\": \"BASE64\"}}})", path: path)
            }
            let auths = root["auths"] as? [String: Any] ?? [:]
            // Entries may be written as "host", "https://host" or "host/v1/".
            let entry = auths.first { key, _ in
                var k = Substring(key)
                for prefix in ["https://", "http://"] where k.hasPrefix(prefix) { k = k.dropFirst(prefix.count) }
                return k.split(separator: "/").first.map(String.init) == registry
            }?.value as? [String: Any]
            guard let entry else { continue }
            if let auth = entry["auth"] as? String, let decoded = Data(base64Encoded: auth), let text = String(data: decoded, encoding: .utf8),
                let colon = text.firstIndex(of: ":")
            {
                return RegistryCredentials(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
            }
            if let user = entry["username"] as? String, let password = entry["password"] as? String {
                return RegistryCredentials(username: user, password: password)
            }
        }
        return nil
    }
}

/// One challenge of a `WWW-Authenticate` header: `Basic realm="…"` or
/// `Bearer realm="…",service="…",scope="…"` (RFC 7235 auth-params, as registries send them).
struct AuthChallenge: Equatable {
    var scheme: String
    var parameters: [String: String]

    /// Parses the first challenge of a header value.
    static func parse(_ header: String) -> AuthChallenge? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else {
            return trimmed.isEmpty ? nil : AuthChallenge(scheme: trimmed.lowercased(), parameters: [:])
        }
        let scheme = trimmed[..<space].lowercased()
        var parameters: [String: String] = [:]
        var rest = Substring(trimmed[trimmed.index(after: space)...])
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let c = rest.first, c != "\"" {
                    if c == "\\" { rest = rest.dropFirst() }
                    if let d = rest.first { value.append(d) }
                    rest = rest.dropFirst()
                }
                rest = rest.dropFirst()
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            parameters[name] = value
        }
        return AuthChallenge(scheme: scheme, parameters: parameters)
    }
}
