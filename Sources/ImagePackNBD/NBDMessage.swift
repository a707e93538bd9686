import NIOCore

/// What the client sends, as the frame decoder cuts it up.
enum NBDInbound {
    /// The 32-bit client flags that answer the server's greeting.
    case clientFlags(UInt32)
    /// An option of the handshake phase, its data whole (at most ``NBDProtocol/maxOptionLength``).
    case option(code: UInt32, data: ByteBuffer)
    /// An option whose data was longer than the server reads; the data was skipped.
    case oversizedOption(code: UInt32, length: UInt32)
    /// A command of the transmission phase.
    case request(NBDRequest)
}

/// One transmission-phase request.
struct NBDRequest {
    var flags: UInt16
    var type: UInt16
    var cookie: UInt64
    var offset: UInt64
    var length: UInt32
    /// The data of a write, `length` bytes; nil for other commands and for a write over
    /// ``NBDProtocol/maxPayload``, whose data the decoder skipped.
    var payload: ByteBuffer?

    var command: NBDProtocol.Command? { NBDProtocol.Command(rawValue: type) }
    func has(_ flag: UInt16) -> Bool { flags & flag != 0 }
}

/// What the server sends; ``NBDReplyEncoder`` turns each into bytes.
enum NBDOutbound {
    /// The greeting: magic, IHAVEOPT, handshake flags.
    case greeting(flags: UInt16)
    /// One option reply, its data already encoded.
    case optionReply(option: UInt32, type: UInt32, data: ByteBuffer)
    /// The answer to NBD_OPT_EXPORT_NAME: size, flags, and 124 zero bytes unless NO_ZEROES.
    case exportNameReply(size: UInt64, flags: UInt16, zeroes: Bool)
    /// A simple reply: header, then `data` in order (the buffers of a read, possibly zero slices).
    case simpleReply(cookie: UInt64, error: UInt32, data: [ByteBuffer])
    /// One structured reply chunk: header, then `payload` in order.
    case structuredChunk(cookie: UInt64, flags: UInt16, type: UInt16, payload: [ByteBuffer])
}
