import Crypto

/// A SHA-256 digest: the strong hash of chunk contents, metadata, the stream table and the root (spec §2.3).
public struct Digest: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The 32 digest bytes, stored inline as four words to avoid an allocation per chunk.
    package let words: (UInt64, UInt64, UInt64, UInt64)

    package static let byteCount = 32
    /// All zero bytes: "no digest" where a field is optional (e.g. no parent).
    package static let zero = Digest(words: (0, 0, 0, 0))

    package init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    /// Reads 32 bytes.
    package init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 32)
        words = (
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        )
    }

    package init<D: Crypto.Digest>(_ digest: D) {
        self = digest.withUnsafeBytes { Digest(bytes: $0) }
    }

    /// Parses 64 hexadecimal characters, optionally prefixed with "sha256:".
    public init?(hex: String) {
        var text = Substring(hex)
        if text.hasPrefix("sha256:") { text = text.dropFirst(7) }
        guard text.count == 64 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self = bytes.withUnsafeBytes { Digest(bytes: $0) }
    }

    /// SHA-256 of `bytes`.
    package static func sha256(_ bytes: UnsafeRawBufferPointer) -> Digest {
        // update(bufferPointer:) goes straight to BoringSSL's SHA256_Update (SHA-NI on x86_64).
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return Digest(hasher.finalize())
    }

    package static func sha256(_ bytes: [UInt8]) -> Digest {
        bytes.withUnsafeBytes { sha256($0) }
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for word in [words.0, words.1, words.2, words.3] {
            withUnsafeBytes(of: word.littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { "sha256:" + hex }

    public static func == (a: Digest, b: Digest) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }
    public func hash(into h: inout Hasher) {
        h.combine(words.0)
        h.combine(words.1)
        h.combine(words.2)
        h.combine(words.3)
    }
    public static func < (a: Digest, b: Digest) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

/// Incremental SHA-256 for structures built from several fields (the root digest).
struct DigestBuilder {
    private var hasher = SHA256()
    mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
    mutating func update(_ digest: Digest) { update(digest.bytes) }
    mutating func update<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { hasher.update(bufferPointer: $0) }
    }
    func finalize() -> Digest { Digest(hasher.finalize()) }
}
