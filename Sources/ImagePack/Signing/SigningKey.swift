import Crypto
import Foundation

/// An Ed25519 private key that signs images (spec §9.2).
///
/// Stored as PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`), the form `openssl genpkey -algorithm
/// ed25519` writes, so keys made by either tool work with both. The key never appears in an
/// error message or in any output.
public struct SigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    /// A new random key.
    public static func generate() -> SigningKey { SigningKey(key: .init()) }

    init(key: Curve25519.Signing.PrivateKey) { self.key = key }

    /// A key from its 32-byte seed (RFC 8032 §5.1.5), as PKCS#8 stores it.
    public init(seed: some Collection<UInt8>) throws(ImagePackError) {
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: Array(seed)) else {
            throw ImagePackError(.invalidKey, "an Ed25519 private key is a 32-byte seed, got \(seed.count) bytes")
        }
        self.key = key
    }

    /// Parses a PEM PKCS#8 Ed25519 private key.
    public init(pem: String) throws(ImagePackError) {
        let der = try PEM.decode(pem, label: "PRIVATE KEY", what: "an Ed25519 private key")
        guard der.count == KeyEncoding.pkcs8Prefix.count + 32, der.starts(with: KeyEncoding.pkcs8Prefix) else {
            throw ImagePackError(.invalidKey, "the PRIVATE KEY block is not an Ed25519 key in PKCS#8 form (expected the 48 bytes that `openssl genpkey -algorithm ed25519` writes)")
        }
        try self.init(seed: der.suffix(32))
    }

    /// Reads a PEM PKCS#8 private key file.
    public init(contentsOf path: String) throws(ImagePackError) {
        do throws(ImagePackError) { try self.init(pem: try KeyEncoding.readText(path, what: "private key")) } catch {
            throw error.at(path: path)
        }
    }

    /// The PEM PKCS#8 text of the key.
    public var pemRepresentation: String {
        PEM.encode(KeyEncoding.pkcs8Prefix + Array(key.rawRepresentation), label: "PRIVATE KEY")
    }

    public var publicKey: PublicKey { PublicKey(key: key.publicKey) }

    /// The Ed25519 signature of `root` as a SIGN record carries it (64 bytes, over
    /// `"IMGPACK-SIGN-v1\0"` ‖ root).
    public func signature(forRoot root: Digest) -> [UInt8] {
        // Ed25519 signing cannot fail for a valid key: the throwing API covers other curves.
        Array(try! key.signature(for: SignatureRecords.message(for: root)))
    }
}

/// An Ed25519 public key, named in SIGN records by its key id.
///
/// Read from PEM SPKI (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout` writes and as
/// `imgpack key generate` writes to NAME.pub) or from an OpenSSH `ssh-ed25519 AAAA…` line.
public struct PublicKey: Sendable, Hashable {
    /// The 32-byte public key (RFC 8032 §5.1.5).
    public let rawRepresentation: [UInt8]
    /// SHA-256 of ``rawRepresentation``: how SIGN records and trust policies name the key (spec §9.2).
    public let keyID: Digest

    init(key: Curve25519.Signing.PublicKey) {
        rawRepresentation = Array(key.rawRepresentation)
        keyID = Digest.sha256(rawRepresentation)
    }

    public init(rawRepresentation raw: some Collection<UInt8>) throws(ImagePackError) {
        guard raw.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: Array(raw)) else {
            throw ImagePackError(.invalidKey, "an Ed25519 public key is 32 bytes, got \(raw.count)")
        }
        self.init(key: key)
    }

    /// Parses a PEM SPKI public key or an OpenSSH `ssh-ed25519` line.
    public init(text: String) throws(ImagePackError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("ssh-ed25519 ") {
            try self.init(rawRepresentation: try KeyEncoding.openSSHKey(trimmed))
            return
        }
        let der = try PEM.decode(text, label: "PUBLIC KEY", what: "an Ed25519 public key (or an ssh-ed25519 line)")
        guard der.count == KeyEncoding.spkiPrefix.count + 32, der.starts(with: KeyEncoding.spkiPrefix) else {
            throw ImagePackError(.invalidKey, "the PUBLIC KEY block is not an Ed25519 key (expected the 44-byte SubjectPublicKeyInfo that `openssl pkey -pubout` writes)")
        }
        try self.init(rawRepresentation: der.suffix(32))
    }

    /// Reads a public key file (PEM SPKI or OpenSSH).
    public init(contentsOf path: String) throws(ImagePackError) {
        do throws(ImagePackError) { try self.init(text: try KeyEncoding.readText(path, what: "public key")) } catch {
            throw error.at(path: path)
        }
    }

    /// The PEM SPKI text of the key.
    public var pemRepresentation: String { PEM.encode(KeyEncoding.spkiPrefix + rawRepresentation, label: "PUBLIC KEY") }

    /// Whether `signature` is this key's Ed25519 signature of the image whose root is `root`.
    public func isValidSignature(_ signature: [UInt8], forRoot root: Digest) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation) else { return false }
        return key.isValidSignature(signature, for: SignatureRecords.message(for: root))
    }
}

/// The fixed DER around Ed25519 keys (RFC 8410): an Ed25519 key's encodings differ only in the
/// 32 key bytes, so a prefix comparison parses them exactly, with no general ASN.1 decoder.
enum KeyEncoding {
    /// PrivateKeyInfo { version 0, AlgorithmIdentifier { 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }.
    static let pkcs8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
    /// SubjectPublicKeyInfo { AlgorithmIdentifier { 1.3.101.112 }, BIT STRING (0 unused bits, 32 bytes) }.
    static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
    /// Key files are a few hundred bytes; anything much larger is not one.
    static let maxFileSize = 64 << 10

    static func readText(_ path: String, what: String) throws(ImagePackError) -> String {
        let file = try ReadableFile(path: path)
        guard let size = file.size, size <= UInt64(maxFileSize) else {
            throw ImagePackError(.invalidKey, "the \(what) file is larger than \(maxFileSize) bytes; it is not a key")
        }
        return String(decoding: try file.read(at: 0, count: Int(size)), as: UTF8.self)
    }

    /// The key bytes of `ssh-ed25519 BASE64 [comment]` (RFC 8709: string "ssh-ed25519", string key).
    static func openSSHKey(_ line: String) throws(ImagePackError) -> [UInt8] {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 2, let blob = Data(base64Encoded: String(fields[1])) else {
            throw ImagePackError(.invalidKey, "the ssh-ed25519 line has no valid base64 key")
        }
        let name = Array("ssh-ed25519".utf8)
        let expected: [UInt8] = [0, 0, 0, UInt8(name.count)] + name + [0, 0, 0, 32]
        let bytes = [UInt8](blob)
        guard bytes.count == expected.count + 32, bytes.starts(with: expected) else {
            throw ImagePackError(.invalidKey, "the ssh-ed25519 line does not hold a 32-byte Ed25519 key")
        }
        return Array(bytes.suffix(32))
    }

    static func openSSHLine(_ key: PublicKey, comment: String) -> String {
        let name = Array("ssh-ed25519".utf8)
        let blob: [UInt8] = [0, 0, 0, UInt8(name.count)] + name + [0, 0, 0, 32] + key.rawRepresentation
        return "ssh-ed25519 " + Data(blob).base64EncodedString() + (comment.isEmpty ? "" : " " + comment)
    }
}

/// RFC 7468 text encoding: one labelled block of base64 in 64-character lines.
enum PEM {
    static func encode(_ der: [UInt8], label: String) -> String {
        let body = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(body)\n-----END \(label)-----\n"
    }

    /// The DER bytes of the first `label` block in `text`.
    static func decode(_ text: String, label: String, what: String) throws(ImagePackError) -> [UInt8] {
        let begin = "-----BEGIN \(label)-----", end = "-----END \(label)-----"
        guard let start = text.range(of: begin), let stop = text.range(of: end, range: start.upperBound..<text.endIndex) else {
            let found = text.range(of: "-----BEGIN ").map { String(text[$0.upperBound...].prefix(while: { $0 != "-" })) }
            throw ImagePackError(.invalidKey, "not \(what): no \(begin) block" + (found.map { " (found a \($0) block)" } ?? ""))
        }
        let base64 = text[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: String(base64)) else {
            throw ImagePackError(.invalidKey, "the \(label) block is not valid base64")
        }
        return [UInt8](data)
    }
}
