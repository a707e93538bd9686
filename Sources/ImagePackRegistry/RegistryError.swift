import ImagePack

/// The registry client's own failures; each one's category picks the CLI's exit status (invalid
/// content 1, usage 2, I/O 3), and each message says what to do.
extension ImagePackError.Code {
    /// The registry answered with an HTTP status the operation cannot continue from.
    public static let registryRequestFailed = Self.defined("registryRequestFailed", .io)
    /// The registry could not be reached (connection refused, TLS handshake, timeout).
    public static let registryUnreachable = Self.defined("registryUnreachable", .io)
    /// The registry refused the credentials, or asked for some and none were given.
    public static let registryAuthenticationFailed = Self.defined("registryAuthenticationFailed", .usage)
    /// A blob's bytes do not hash to the digest that names it (a corrupt registry or proxy).
    public static let blobDigestMismatch = Self.defined("blobDigestMismatch", .invalidImage)
    /// The manifest is not an ImagePack image, or disagrees with its config (spec/REGISTRY.md §5).
    public static let manifestInvalid = Self.defined("manifestInvalid", .invalidImage)
    /// The tag or digest does not exist in the repository.
    public static let manifestUnknown = Self.defined("manifestUnknown", .usage)
    /// A reference that cannot name an image in a registry (`host[:port]/repository[:tag][@digest]`).
    public static let invalidReference = Self.defined("invalidReference", .usage)
}
