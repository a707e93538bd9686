import NIOCore

/// Cuts the client's bytes into ``NBDInbound`` messages.
///
/// The phase needs no state from the handler: after the 4 bytes of client flags, an option starts
/// with IHAVEOPT and a request with the request magic, and the first 4 bytes of the two differ.
/// The handler rejects a request during the handshake or an option after it. Any other magic is
/// a protocol error that closes the connection (the stream cannot be resynchronized).
struct NBDFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = NBDInbound

    /// Why the decoder gave up on a connection.
    struct ProtocolViolation: Error, CustomStringConvertible {
        var description: String
    }

    private var awaitingClientFlags = true
    /// Bytes of an oversized option or write still to skip.
    private var discarding = 0

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if discarding > 0 {
            let skip = min(discarding, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: skip)
            discarding -= skip
            return discarding == 0 ? .continue : .needMoreData
        }
        if awaitingClientFlags {
            guard let flags = buffer.readInteger(as: UInt32.self) else { return .needMoreData }
            awaitingClientFlags = false
            context.fireChannelRead(wrapInboundOut(.clientFlags(flags)))
            return .continue
        }
        guard let magic = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        if magic == NBDProtocol.requestMagic {
            return decodeRequest(context: context, buffer: &buffer)
        }
        if magic == UInt32(truncatingIfNeeded: NBDProtocol.optionMagic >> 32) {
            return try decodeOption(context: context, buffer: &buffer)
        }
        throw ProtocolViolation(description: "bad magic 0x\(String(magic, radix: 16)) at the start of a message")
    }

    private mutating func decodeOption(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= 16 else { return .needMoreData }
        let start = buffer.readerIndex
        let magic = buffer.getInteger(at: start, as: UInt64.self)!
        guard magic == NBDProtocol.optionMagic else {
            throw ProtocolViolation(description: "bad option magic 0x\(String(magic, radix: 16))")
        }
        let code = buffer.getInteger(at: start + 8, as: UInt32.self)!
        let length = buffer.getInteger(at: start + 12, as: UInt32.self)!
        if Int(length) > NBDProtocol.maxOptionLength {
            buffer.moveReaderIndex(forwardBy: 16)
            discarding = Int(length)
            context.fireChannelRead(wrapInboundOut(.oversizedOption(code: code, length: length)))
            return .continue
        }
        guard buffer.readableBytes >= 16 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 16)
        let data = buffer.readSlice(length: Int(length))!
        context.fireChannelRead(wrapInboundOut(.option(code: code, data: data)))
        return .continue
    }

    private mutating func decodeRequest(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        guard buffer.readableBytes >= 28 else { return .needMoreData }
        let start = buffer.readerIndex
        var request = NBDRequest(
            flags: buffer.getInteger(at: start + 4)!, type: buffer.getInteger(at: start + 6)!,
            cookie: buffer.getInteger(at: start + 8)!, offset: buffer.getInteger(at: start + 16)!,
            length: buffer.getInteger(at: start + 24)!, payload: nil)
        if request.command == .write {
            if Int(request.length) > NBDProtocol.maxPayload {
                buffer.moveReaderIndex(forwardBy: 28)
                discarding = Int(request.length)
            } else {
                guard buffer.readableBytes >= 28 + Int(request.length) else { return .needMoreData }
                buffer.moveReaderIndex(forwardBy: 28)
                request.payload = buffer.readSlice(length: Int(request.length))!
            }
        } else {
            buffer.moveReaderIndex(forwardBy: 28)
        }
        context.fireChannelRead(wrapInboundOut(.request(request)))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial message at EOF is dropped: the client is gone and nobody can be answered.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
