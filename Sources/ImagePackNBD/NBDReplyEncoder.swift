import NIOCore

/// Turns ``NBDOutbound`` into bytes: a small header buffer, then the reply's data buffers as they
/// are, so that decoded chunks (and the shared zero buffer) reach the socket without a copy.
///
/// Not a `MessageToByteEncoder`, which would copy every read into one output buffer.
final class NBDReplyEncoder: ChannelOutboundHandler {
    typealias OutboundIn = NBDOutbound
    typealias OutboundOut = ByteBuffer

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var header = context.channel.allocator.buffer(capacity: 32)
        var body: [ByteBuffer] = []
        switch unwrapOutboundIn(data) {
        case .greeting(let flags):
            header.writeInteger(NBDProtocol.initialMagic)
            header.writeInteger(NBDProtocol.optionMagic)
            header.writeInteger(flags)
        case .optionReply(let option, let type, let payload):
            header.writeInteger(NBDProtocol.optionReplyMagic)
            header.writeInteger(option)
            header.writeInteger(type)
            header.writeInteger(UInt32(payload.readableBytes))
            body = [payload]
        case .exportNameReply(let size, let flags, let zeroes):
            header.writeInteger(size)
            header.writeInteger(flags)
            if zeroes { header.writeRepeatingByte(0, count: 124) }
        case .simpleReply(let cookie, let error, let payload):
            header.writeInteger(NBDProtocol.simpleReplyMagic)
            header.writeInteger(error)
            header.writeInteger(cookie)
            body = payload
        case .structuredChunk(let cookie, let flags, let type, let payload):
            header.writeInteger(NBDProtocol.structuredReplyMagic)
            header.writeInteger(flags)
            header.writeInteger(type)
            header.writeInteger(cookie)
            header.writeInteger(UInt32(payload.reduce(0) { $0 + $1.readableBytes }))
            body = payload
        }
        body.removeAll { $0.readableBytes == 0 }
        if body.isEmpty {
            context.write(wrapOutboundOut(header), promise: promise)
            return
        }
        context.write(wrapOutboundOut(header), promise: nil)
        for part in body.dropLast() { context.write(wrapOutboundOut(part), promise: nil) }
        context.write(wrapOutboundOut(body.last!), promise: promise)
    }
}
