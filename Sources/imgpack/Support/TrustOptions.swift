import ArgumentParser
import ImagePack

/// `--trusted-key` and `--trust-dir`: which publishers' signatures make an image acceptable
/// (verify, info, extract, export). Without either, signatures are listed but not required.
struct TrustOptions: ParsableArguments {
    @Option(
        name: .customLong("trusted-key"),
        help: ArgumentHelp("A publisher's public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.", valueName: "file"),
        completion: .file())
    var trustedKeys: [String] = []

    @Option(
        name: .customLong("trust-dir"),
        help: ArgumentHelp("Trust every *.pub key file in this directory.", valueName: "dir"),
        completion: .directory)
    var trustDirectory: String?

    /// Whether the caller asked for a trust check.
    var isRequested: Bool { !trustedKeys.isEmpty || trustDirectory != nil }

    /// The policy the options describe; nil when none was asked for.
    func policy() throws(ImagePackError) -> TrustPolicy? {
        guard isRequested else { return nil }
        var policy = TrustPolicy()
        for path in trustedKeys { policy.trust(try PublicKey(contentsOf: path)) }
        if let trustDirectory { try policy.trustKeys(inDirectory: trustDirectory) }
        return policy
    }
}

/// One signature as `info` and `verify --json` report it.
struct SignatureReport: Encodable {
    var keyID: String
    /// "verified-trusted", "unknown-key" or "invalid" with keys given; nil without.
    var status: String?

    static func list(_ signatures: [ImageSignature], rootDigest: Digest, policy: TrustPolicy?) -> [SignatureReport] {
        guard let policy else { return signatures.map { SignatureReport(keyID: $0.keyID.hex) } }
        return policy.evaluate(signatures, rootDigest: rootDigest).map { SignatureReport(keyID: $0.signature.keyID.hex, status: $0.status.rawValue) }
    }
}
