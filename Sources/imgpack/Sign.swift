import ArgumentParser
import ImagePack

/// `imgpack sign`: add a publisher's signature over the image's root digest.
struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign an image with an Ed25519 private key.",
        discussion: """
            Adds a SIGN record: the key's signature of the image's root digest (spec §9.2). An \
            image may carry several signatures, one per key; signing again with the same key is \
            refused. The root digest does not change, and neither do the chunks.

            The image is opened and every chunk verified first (CRC, decode, digest): a \
            signature vouches for the state the image holds, so a damaged image is refused. A \
            delta is verified through its parents (--parent, --parent-dir, matched by root \
            digest) and refused without them (V49). A format 1.0 image keeps its \
            signatures next to the footer, so the signed image is written as a new file beside \
            it (the data copied by the kernel, not re-encoded) and renamed over it: an \
            interrupted sign, a crash or a full disk leaves the image exactly as it was.

            --key takes a PEM PKCS#8 Ed25519 private key, as `imgpack key generate` or `openssl \
            genpkey -algorithm ed25519` write it.
            """)

    @Argument(help: ArgumentHelp("The image file to sign (changed in place, atomically).", valueName: "image"), completion: .file())
    var image: String

    @Option(help: ArgumentHelp("The private key file (PEM PKCS#8 Ed25519).", valueName: "file"), completion: .file())
    var key: String

    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup var json: JSONOption

    func validate() throws {
        if image == "-" { throw ValidationError("sign changes an image file in place; it cannot sign standard input.") }
    }

    func run() throws {
        let signingKey = try SigningKey(contentsOf: key)
        let outcome = try ImageSigner.sign(imageAt: image, with: signingKey, verifying: ReadOptions(cancellation: Interrupts.install(), parents: try parents.open()))
        if json.json {
            try printJSON(SignJSONReport(path: image, rootDigest: outcome.rootDigest.description, keyID: outcome.keyID.hex, signatures: outcome.signatureCount, fileLength: outcome.fileLength))
        } else {
            print("signed \(image): key id \(outcome.keyID.hex); root \(outcome.rootDigest); \(outcome.signatureCount) signature\(outcome.signatureCount == 1 ? "" : "s") (image rewritten beside itself and renamed into place)")
        }
    }
}

/// `sign --json`.
struct SignJSONReport: Encodable {
    var schema = 1
    var path: String
    var rootDigest: String
    var keyID: String
    /// Signatures on the image now, the new one included.
    var signatures: Int
    var fileLength: UInt64
}
