/// An error raised by ImagePack, made to be read by a person and matched by a program.
///
/// Every error says what went wrong (``code``), which rule of `spec/FORMAT.md` it breaks
/// (``rule``, e.g. `"V7"`), where (``offset``, ``chunk``, ``stream``, ``field``), the underlying
/// cause when there is one (an errno, a zstd or zlib return code) and what to do about it.
/// Two errors are equal when their codes are equal, so tests can write `error.code == .chunkChecksumMismatch`.
public struct ImagePackError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added without breaking a caller's `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        /// The exit-code class this failure belongs to (see ``Category``).
        public let category: Category
        init(_ name: String, _ category: Category) {
            self.name = name
            self.category = category
        }
        public var description: String { name }
        public static func == (a: Code, b: Code) -> Bool { a.name == b.name }
        public func hash(into h: inout Hasher) { h.combine(name) }
    }

    /// Broad classes of failure; the CLI maps them to exit codes.
    public enum Category: String, Sendable {
        /// The image (or an imported file) breaks a rule: corrupt, truncated or hostile.
        case invalidImage
        /// The caller asked for something impossible (bad option, unknown disk, existing file).
        case usage
        /// The operating system refused an operation (open, read, write, rename).
        case io
        /// A library we call failed in a way the input does not explain.
        case `internal`
        /// The image is intact but no signature on it verifies with a key the caller trusts.
        case untrusted
    }

    // Read-only to callers: an error describes what was found and is not edited downstream. Inside
    // the library, context is added through `enriched(chunk:stream:)` and the other copy helpers
    // below, never by assigning a field of a copy.
    public internal(set) var code: Code
    /// What went wrong and what to do, in plain words.
    public internal(set) var message: String
    /// The validation rule of spec/FORMAT.md, such as V12.
    public internal(set) var rule: Rule?
    /// Byte offset in the image (or the imported file) where the problem was found.
    public internal(set) var offset: UInt64?
    /// Index of the chunk in the image's index (0-based): its index entry number, in every reader.
    public internal(set) var chunk: Int?
    /// Name or index of the stream (disk or section).
    public internal(set) var stream: String?
    /// Name of the offending field.
    public internal(set) var field: String?
    /// errno, zstd or zlib return code.
    public internal(set) var cause: Int?
    /// Path of the file the error concerns, when known.
    public internal(set) var path: String?

    public init(
        _ code: Code, _ message: String, rule: Rule? = nil, offset: UInt64? = nil, chunk: Int? = nil,
        stream: String? = nil, field: String? = nil, cause: Int? = nil, path: String? = nil
    ) {
        self.code = code
        self.message = message
        self.rule = rule
        self.offset = offset
        self.chunk = chunk
        self.stream = stream
        self.field = field
        self.cause = cause
        self.path = path
    }

    public static func == (a: ImagePackError, b: ImagePackError) -> Bool { a.code == b.code }
    public func hash(into h: inout Hasher) { h.combine(code) }

    public var description: String {
        var parts: [String] = []
        if let path { parts.append(path) }
        if let rule { parts.append("rule \(rule)") }
        if let offset { parts.append("offset \(offset)") }
        if let stream { parts.append("stream \(stream)") }
        if let chunk { parts.append("chunk \(chunk)") }
        if let field { parts.append("field \(field)") }
        var text = parts.isEmpty ? "" : parts.joined(separator: ", ") + ": "
        text += "\(code.name): \(message)"
        if let cause { text += " (cause \(cause))" }
        return text
    }

    /// Returns a copy with the path filled in, unless one is set already.
    package func at(path: String) -> ImagePackError {
        var copy = self
        if copy.path == nil { copy.path = path }
        return copy
    }

    /// Returns a copy with the chunk (its index entry number) and stream filled in where they are
    /// still nil: the place that knows the chunk adds it without overwriting what a deeper layer said.
    public func enriched(chunk: Int? = nil, stream: String? = nil) -> ImagePackError {
        var copy = self
        if copy.chunk == nil { copy.chunk = chunk }
        if copy.stream == nil { copy.stream = stream }
        return copy
    }

    /// Returns a copy that cites `rule` instead of the rule it had: a generic check (a field cursor,
    /// a shape check) raised it, and the caller knows which rule of the spec it breaks there.
    func citing(_ rule: Rule) -> ImagePackError {
        var copy = self
        copy.rule = rule
        return copy
    }

    /// Returns a copy located at `offset`: a helper that saw only a slice reported a relative place.
    func located(at offset: UInt64) -> ImagePackError {
        var copy = self
        copy.offset = offset
        return copy
    }

    /// Returns a copy without the path, for a report that names its file once.
    func withoutPath() -> ImagePackError {
        var copy = self
        copy.path = nil
        return copy
    }

    /// Returns a copy whose path reads `path`, replacing any path it had (the CLI shows "<stdin>" for "-").
    public func replacing(path: String) -> ImagePackError {
        var copy = self
        copy.path = path
        return copy
    }
}

extension ImagePackError.Code {
    // Structure of the container (spec §2-§4).
    public static let badMagic = Self("badMagic", .invalidImage)
    public static let unsupportedVersion = Self("unsupportedVersion", .invalidImage)
    public static let unknownCriticalFeature = Self("unknownCriticalFeature", .invalidImage)
    public static let reservedFieldNotZero = Self("reservedFieldNotZero", .invalidImage)
    public static let headerChecksumMismatch = Self("headerChecksumMismatch", .invalidImage)
    public static let footerChecksumMismatch = Self("footerChecksumMismatch", .invalidImage)
    public static let recordChecksumMismatch = Self("recordChecksumMismatch", .invalidImage)
    public static let unknownRecordType = Self("unknownRecordType", .invalidImage)
    public static let unexpectedRecord = Self("unexpectedRecord", .invalidImage)
    public static let truncated = Self("truncated", .invalidImage)
    public static let trailingData = Self("trailingData", .invalidImage)
    public static let malformedField = Self("malformedField", .invalidImage)
    public static let limitExceeded = Self("limitExceeded", .invalidImage)
    // Metadata and streams (spec §5-§6).
    public static let metadataChecksumMismatch = Self("metadataChecksumMismatch", .invalidImage)
    public static let invalidMetadata = Self("invalidMetadata", .invalidImage)
    /// The CTLG document does not match the SHA-256 its record stores (V52).
    public static let catalogueDigestMismatch = Self("catalogueDigestMismatch", .invalidImage)
    public static let invalidStreamName = Self("invalidStreamName", .invalidImage)
    public static let streamTableMismatch = Self("streamTableMismatch", .invalidImage)
    // Chunks (spec §7).
    public static let chunkHeaderChecksumMismatch = Self("chunkHeaderChecksumMismatch", .invalidImage)
    public static let chunkChecksumMismatch = Self("chunkChecksumMismatch", .invalidImage)
    public static let chunkHashMismatch = Self("chunkHashMismatch", .invalidImage)
    public static let decompressionFailed = Self("decompressionFailed", .invalidImage)
    public static let chunkSizeMismatch = Self("chunkSizeMismatch", .invalidImage)
    public static let unknownChunkKind = Self("unknownChunkKind", .invalidImage)
    public static let unknownCodec = Self("unknownCodec", .invalidImage)
    public static let chunkLayoutInvalid = Self("chunkLayoutInvalid", .invalidImage)
    public static let indexMismatch = Self("indexMismatch", .invalidImage)
    /// A delta image was read without the parent image it names (V49).
    public static let parentRequired = Self("parentRequired", .invalidImage)
    /// The parent supplied is not the one the image names, the chain loops or is too deep (V49),
    /// or the parent lacks a range a chunk needs (V50).
    public static let parentMismatch = Self("parentMismatch", .invalidImage)
    /// A reference chunk's target is not an earlier data or fill record of the same length and
    /// content digest (V34), or lies farther back than maxReferenceDistance (V60).
    public static let referenceInvalid = Self("referenceInvalid", .invalidImage)
    // Index and root (spec §8-§9).
    public static let indexChecksumMismatch = Self("indexChecksumMismatch", .invalidImage)
    public static let rootDigestMismatch = Self("rootDigestMismatch", .invalidImage)
    // Imported formats.
    public static let unsupportedInput = Self("unsupportedInput", .invalidImage)
    public static let invalidInput = Self("invalidInput", .invalidImage)
    /// A source changed while it was read (a disk in use): the image would hold a state that never
    /// existed. Counted with invalid images (imgpack exits 1): what was read is inconsistent.
    public static let sourceChanged = Self("sourceChanged", .invalidImage)
    // Caller errors.
    public static let invalidArgument = Self("invalidArgument", .usage)
    /// A key file is not an Ed25519 key in a form imgpack reads (PEM PKCS#8, PEM SPKI, OpenSSH).
    public static let invalidKey = Self("invalidKey", .usage)
    /// `sign` with a key that has already signed the image.
    public static let alreadySigned = Self("alreadySigned", .usage)
    /// A SIGN record's signature does not verify with the public key its keyID names (rule V48).
    public static let signatureInvalid = Self("signatureInvalid", .invalidImage)
    /// No signature on the image verifies with a trusted key.
    public static let untrustedImage = Self("untrustedImage", .untrusted)
    public static let destinationExists = Self("destinationExists", .usage)
    public static let noSuchStream = Self("noSuchStream", .usage)
    public static let rangeOutOfBounds = Self("rangeOutOfBounds", .usage)
    // Operating system and libraries.
    public static let ioFailed = Self("ioFailed", .io)
    public static let compressionFailed = Self("compressionFailed", .internal)
    public static let cancelled = Self("cancelled", .usage)
}
