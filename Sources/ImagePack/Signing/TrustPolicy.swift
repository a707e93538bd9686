/// One SIGN record of an image (spec §9.2).
public struct ImageSignature: Sendable, Hashable {
    /// SHA-256 of the signer's raw public key.
    public let keyID: Digest
    /// The 64-byte Ed25519 signature of `"IMGPACK-SIGN-v1\0"` ‖ rootDigest.
    public let signature: [UInt8]
    /// Where the record starts in the file.
    public let recordOffset: UInt64
}

/// What a ``TrustPolicy`` makes of one signature.
public enum SignatureStatus: String, Sendable, Codable {
    /// Signed by a trusted key, and the signature verifies against the image's root digest.
    case verifiedTrusted = "verified-trusted"
    /// By a key the policy does not hold. A SIGN record names its key only by id, so without the
    /// key the signature can be neither verified nor refuted; it counts for nothing.
    case unknownKey = "unknown-key"
    /// By a trusted key, but the signature does not verify against this image's root digest: it
    /// was made for another image, or the record was forged (rule V48).
    case invalid
}

/// The verdict on one signature.
public struct SignatureVerdict: Sendable, Hashable {
    public let signature: ImageSignature
    public let status: SignatureStatus
}

/// The public keys a caller trusts to publish images. Trust is the reader's policy, never the
/// image's (spec §9.2): an image names its signers, the policy decides whether they count.
public struct TrustPolicy: Sendable {
    /// The trusted keys by key id.
    public private(set) var keys: [Digest: PublicKey] = [:]

    public init(trustedKeys: [PublicKey] = []) {
        for key in trustedKeys { keys[key.keyID] = key }
    }

    public mutating func trust(_ key: PublicKey) { keys[key.keyID] = key }

    /// Trusts every `*.pub` file of `directory` (PEM SPKI or OpenSSH); other files are ignored.
    /// - Throws: `.ioFailed` if the directory cannot be read, `.invalidKey` for a `.pub` file
    ///   that is not an Ed25519 public key (a trust store with a broken entry is refused, not
    ///   half used), `.invalidArgument` when it holds no key at all.
    public mutating func trustKeys(inDirectory directory: String) throws(ImagePackError) {
        guard let names = system_directoryEntries(directory) else {
            let code = system_errno
            throw ImagePackError(.ioFailed, "cannot read the trust directory: \(errnoText(code))", cause: Int(code), path: directory)
        }
        let files = names.filter { $0.hasSuffix(".pub") }.sorted()
        guard !files.isEmpty else {
            throw ImagePackError(.invalidArgument, "the trust directory holds no .pub key files", path: directory)
        }
        for name in files { trust(try PublicKey(contentsOf: directory + "/" + name)) }
    }

    /// Judges each of `signatures` made over the image whose root digest is `root`.
    public func evaluate(_ signatures: [ImageSignature], rootDigest root: Digest) -> [SignatureVerdict] {
        signatures.map { signature in
            guard let key = keys[signature.keyID] else { return SignatureVerdict(signature: signature, status: .unknownKey) }
            let valid = key.isValidSignature(signature.signature, forRoot: root)
            return SignatureVerdict(signature: signature, status: valid ? .verifiedTrusted : .invalid)
        }
    }

    /// Judges every signature of the image `reader` opened.
    public func evaluate(_ reader: ImageReader) -> [SignatureVerdict] { evaluate(reader.signatures, rootDigest: reader.rootDigest) }

    /// Accepts the image only if a trusted key signed it and no signature by a trusted key fails.
    /// - Returns: the verdicts, for reports.
    /// - Throws: `.signatureInvalid` (rule V48, an invalid image) for a signature by a trusted key
    ///   that does not verify; otherwise `.untrustedImage` when no signature is by a trusted key.
    @discardableResult
    public func check(_ signatures: [ImageSignature], rootDigest root: Digest, path: String? = nil) throws(ImagePackError) -> [SignatureVerdict] {
        let verdicts = evaluate(signatures, rootDigest: root)
        if let bad = verdicts.first(where: { $0.status == .invalid }) {
            throw ImagePackError(
                .signatureInvalid,
                "the signature by trusted key \(bad.signature.keyID.hex) does not verify against the image's root digest \(root): it was made for another image or forged; do not use this image",
                rule: .v48, offset: bad.signature.recordOffset + 56, field: "signature", path: path)
        }
        guard verdicts.contains(where: { $0.status == .verifiedTrusted }) else {
            let signers = signatures.isEmpty ? "it has no signatures" : "it is signed only by key\(signatures.count == 1 ? "" : "s") " + signatures.map(\.keyID.hex).joined(separator: ", ")
            throw ImagePackError(
                .untrustedImage,
                "the image is intact but not signed by a trusted key (\(keys.count) trusted): \(signers); add the publisher's public key (--trusted-key, --trust-dir) if you trust it",
                path: path)
        }
        return verdicts
    }

    /// ``check(_:rootDigest:path:)`` for an image opened by `reader`.
    @discardableResult
    public func check(_ reader: ImageReader) throws(ImagePackError) -> [SignatureVerdict] {
        try check(reader.signatures, rootDigest: reader.rootDigest, path: reader.path)
    }
}
