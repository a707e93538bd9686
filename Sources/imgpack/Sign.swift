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

            The image is opened and its structure checked first (header, index, root digest, \
            signatures): the signature binds the root digest, and every reader checks each \
            chunk against the digests the root covers, so a damaged chunk can never pass as the \
            signed state. --verify also decodes and checks every chunk before signing (a delta \
            through its parents, --parent, --parent-dir; refused without them, V49), for an \
            image that came from elsewhere; it costs a full read.

            A format 1.2 image has room \
            for the record in its tail area: it is written there and flushed, then the footer \
            is switched to it with one write, in constant time. A format 1.0 image keeps its \
            signatures next to the footer, so the signed image is written as a new file beside \
            it (the data copied by the kernel, not re-encoded) and renamed over it. Either way an \
            interrupted sign, a crash or a full disk leaves the image exactly as it was.

            --key takes a PEM PKCS#8 Ed25519 private key, as `imgpack key generate` or `openssl \
            genpkey -algorithm ed25519` write it.
            """)

    @Argument(help: ArgumentHelp("The image file to sign (changed in place, atomically).", valueName: "image"), completion: .file())
    var image: String

    @Option(help: ArgumentHelp("The private key file (PEM PKCS#8 Ed25519).", valueName: "file"), completion: .file())
    var key: String

    @Flag(help: "Decode and check every chunk before signing (a full read; a delta needs its parents).")
    var verify = false

    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup var json: JSONOption

    func validate() throws {
        if image == "-" { throw ValidationError("sign changes an image file in place; it cannot sign standard input.") }
        if !verify, !(parents.files.isEmpty && parents.directories.isEmpty) {
            throw ValidationError("--parent and --parent-dir are read only with --verify (signing checks the structure alone, which needs no parent); add --verify.")
        }
    }

    func run() throws {
        let signingKey = try SigningKey(contentsOf: key)
        let outcome = try ImageSigner.sign(
            imageAt: image, with: signingKey,
            verifying: verify ? ReadOptions(cancellation: Interrupts.install(), parents: try parents.open()) : nil)
        if json.json {
            try printJSON(SignJSONReport(path: image, rootDigest: outcome.rootDigest.description, keyID: outcome.keyID.hex, signatures: outcome.signatureCount, fileLength: outcome.fileLength))
        } else {
            print("signed \(image): key id \(outcome.keyID.hex); root \(outcome.rootDigest); \(outcome.signatureCount) signature\(outcome.signatureCount == 1 ? "" : "s") (\(outcome.inPlace ? "written into the image's tail area" : "image rewritten beside itself and renamed into place"))")
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
