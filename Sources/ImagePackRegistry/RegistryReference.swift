import ImagePack

/// Names an image in a registry: `host[:port]/repository[:tag][@sha256:hex]`.
///
/// The registry host is always explicit (there is no default registry): `localhost:5000/team/web:1.0`,
/// `registry.example.com/vm/debian@sha256:…`. A reference without tag or digest names `latest`.
public struct RegistryReference: Sendable, Hashable, CustomStringConvertible {
    /// `host` or `host:port`.
    public let registry: String
    /// Path components separated by `/`, lower case (distribution's repository grammar).
    public let repository: String
    public let tag: String?
    /// `sha256:` + 64 hex digits.
    public let digest: String?

    public init(registry: String, repository: String, tag: String? = nil, digest: String? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// What goes in `/v2/<name>/manifests/<reference>`: the digest if given, else the tag.
    public var manifestReference: String { digest ?? tag ?? "latest" }

    public var description: String {
        var text = "\(registry)/\(repository)"
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }

    /// The same repository with another tag or digest.
    public func with(tag: String? = nil, digest: String? = nil) -> RegistryReference {
        RegistryReference(registry: registry, repository: repository, tag: tag, digest: digest)
    }

    /// The host without its port, for deciding whether plain HTTP is allowed (loopback only).
    public var host: String {
        if registry.hasPrefix("["), let close = registry.firstIndex(of: "]") {
            return String(registry[registry.index(after: registry.startIndex)..<close])
        }
        return String(registry.split(separator: ":", maxSplits: 1).first ?? "")
    }

    /// Whether the host is a loopback address (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool {
        let h = host
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }

    /// Parses `text`.
    /// - Throws: `.invalidReference`, saying which part is wrong.
    public static func parse(_ text: String) throws(ImagePackError) -> RegistryReference {
        func fail(_ why: String) -> ImagePackError {
            ImagePackError(.invalidReference, "'\(text)' is not a registry reference: \(why); write HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST], e.g. localhost:5000/team/web:1.0", field: "reference")
        }
        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let d = String(rest[rest.index(after: at)...])
            guard d.hasPrefix("sha256:"), Digest(hex: d) != nil, d == d.lowercased() else { throw fail("the digest must be sha256: followed by 64 lower-case hex digits") }
            digest = d
            rest = rest[..<at]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw fail("no registry host (the part before the first /)") }
        let registry = String(rest[..<slash])
        guard registry.contains(".") || registry.contains(":") || registry == "localhost" else {
            throw fail("'\(registry)' does not look like a registry host (it needs a dot, a port or to be localhost; there is no default registry)")
        }
        let hostName = registry.hasPrefix("[") ? registry : String(registry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0])
        guard registry.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }),
            hostName.hasPrefix("[") || hostName.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty })
        else { throw fail("the host '\(registry)' is not a host name, IP address or [IPv6]:port") }
        var path = rest[rest.index(after: slash)...]
        var tag: String?
        if let colon = path.lastIndex(of: ":"), !path[colon...].contains("/") {
            let t = String(path[path.index(after: colon)...])
            guard !t.isEmpty, t.count <= 128, t.first != "." && t.first != "-",
                t.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) })
            else { throw fail("the tag '\(t)' is not 1-128 characters of A-Z a-z 0-9 _ . - (not starting with . or -)") }
            tag = t
            path = path[..<colon]
        }
        let repository = String(path)
        let components = repository.split(separator: "/", omittingEmptySubsequences: false)
        guard !repository.isEmpty, components.allSatisfy({ c in
            !c.isEmpty && c.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || "._-".contains($0)) })
                && c.first!.isASCII && (c.first!.isLowercase || c.first!.isNumber)
        }) else {
            throw fail("the repository '\(repository)' must be lower-case components of a-z 0-9 . _ - separated by /")
        }
        return RegistryReference(registry: registry, repository: repository, tag: tag, digest: digest)
    }
}
