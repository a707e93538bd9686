import ImagePack

/// A failure of the server outside one client's request: binding, opening the image, an overlay
/// that belongs to another image. Request failures go to the client as NBD errors instead.
public struct NBDServerError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure, stable for callers and tests.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        /// True when the command line asked for something impossible (exit 2), false for the
        /// operating system or the overlay file (exit 3 / 1 as the CLI decides).
        public let isUsage: Bool
        init(_ name: String, usage: Bool) {
            self.name = name
            isUsage = usage
        }
        public var description: String { name }
        public static func == (a: Code, b: Code) -> Bool { a.name == b.name }
        public func hash(into h: inout Hasher) { h.combine(name) }

        /// No disk of that name, or the image has no disk at all.
        public static let noSuchExport = Code("noSuchExport", usage: true)
        /// Configuration options that cannot go together.
        public static let invalidConfiguration = Code("invalidConfiguration", usage: true)
        /// A TCP address that is not loopback without `allowRemote`, or one that does not parse.
        public static let refusedAddress = Code("refusedAddress", usage: true)
        /// The overlay file is not an overlay, is damaged, or its fields are out of range (spec/OVERLAY.md).
        public static let invalidOverlay = Code("invalidOverlay", usage: false)
        /// The overlay was made for another image or disk (root digest, name or size differ).
        public static let overlayMismatch = Code("overlayMismatch", usage: true)
        /// A system call on the overlay or the socket failed; `cause` is the errno.
        public static let io = Code("io", usage: false)
    }

    public var code: Code
    public var message: String
    public var path: String?
    public var offset: UInt64?
    public var field: String?
    public var cause: Int32?

    init(_ code: Code, _ message: String, path: String? = nil, offset: UInt64? = nil, field: String? = nil, cause: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.field = field
        self.cause = cause
    }

    /// An I/O failure of the overlay file, as the IO layer's read and write loops report it
    /// (the call, the offset and errno).
    init(_ error: ImagePackError) {
        self.init(.io, "overlay: \(error.message)", path: error.path, offset: error.offset, cause: error.cause.map { Int32(truncatingIfNeeded: $0) })
    }

    public var description: String {
        var parts: [String] = []
        if let path { parts.append(path) }
        if let offset { parts.append("offset \(offset)") }
        if let field { parts.append("field \(field)") }
        var text = (parts.isEmpty ? "" : parts.joined(separator: ", ") + ": ") + message
        if let cause { text += " (errno \(cause))" }
        return text
    }
}

/// A request that failed: the NBD error to send, and what to log.
struct NBDRequestFailure: Error {
    var errno: NBDErrno
    var message: String
    /// Where in the export the failure is, for NBD_REPLY_TYPE_ERROR_OFFSET.
    var offset: UInt64?

    /// A chunk that failed to read or verify: EIO, with the rule and chunk in the message.
    init(_ error: ImagePackError, at offset: UInt64?) {
        errno = .io
        message = error.description
        self.offset = offset
    }

    init(_ errno: NBDErrno, _ message: String, offset: UInt64? = nil) {
        self.errno = errno
        self.message = message
        self.offset = offset
    }
}
