import NIOCore
import NIOPosix

/// One client: the handshake on the event loop, then requests run on the thread pool and
/// answered as they finish (NBD lets replies overtake each other; the cookie matches them up).
///
/// Backpressure: the handler stops asking the channel for more bytes while the socket is not
/// writable (a slow reader) or while too many requests are being worked on, so neither queued
/// replies nor decoded chunks grow without bound.
final class NBDConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = NBDInbound
    typealias OutboundIn = NBDOutbound
    typealias OutboundOut = NBDOutbound

    /// At most this many requests in work per connection, and at most this many bytes of reads:
    /// enough to keep every pool thread busy for one client, bounded for 64 of them.
    static let maxInFlightRequests = 32
    static let maxInFlightBytes = 64 << 20

    enum Phase {
        case awaitingClientFlags
        case options
        case transmission(NBDExport)
        case closed
    }

    let server: NBDServerContext
    var phase = Phase.awaitingClientFlags
    var noZeroes = false
    var structuredReplies = false
    /// The export `base:allocation` was selected for by NBD_OPT_SET_META_CONTEXT, if any.
    var metaContextExport: String?
    var baseAllocation = false
    var inFlightRequests = 0
    var inFlightBytes = 0
    /// A `read` the handler held back while paused.
    var readPending = false
    /// NBD_CMD_DISC arrived: close once the requests in work are answered.
    var disconnecting = false

    init(server: NBDServerContext) { self.server = server }

    // MARK: Channel events

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(.greeting(flags: NBDProtocol.flagFixedNewstyle | NBDProtocol.flagNoZeroes)), promise: nil)
        let timeout = server.handshakeTimeout
        context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            switch phase {
            case .awaitingClientFlags, .options:
                protocolError(context, "no export chosen within \(timeout.nanoseconds / 1_000_000) ms of connecting")
            case .transmission, .closed:
                break
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .clientFlags(let flags):
            guard case .awaitingClientFlags = phase else { return protocolError(context, "client flags twice") }
            let known = NBDProtocol.clientFlagFixedNewstyle | NBDProtocol.clientFlagNoZeroes
            guard flags & ~known == 0 else { return protocolError(context, "unknown client flags 0x\(String(flags, radix: 16))") }
            noZeroes = flags & NBDProtocol.clientFlagNoZeroes != 0
            phase = .options
        case .option(let code, let data):
            guard case .options = phase else { return protocolError(context, "option \(code) outside the handshake") }
            handleOption(context: context, code: code, data: data)
        case .oversizedOption(let code, let length):
            guard case .options = phase, code != NBDProtocol.Option.exportName.rawValue else {
                return protocolError(context, "option \(code) of \(length) bytes")
            }
            replyError(context, option: code, .errorTooBig, "option of \(length) bytes is over the \(NBDProtocol.maxOptionLength)-byte limit")
        case .request(let request):
            guard case .transmission(let export) = phase else { return protocolError(context, "a request before the handshake ended") }
            handleRequest(context: context, export: export, request: request)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A decoder violation (bad magic), or the peer reset the connection: nothing to answer.
        if !(error is IOError) { server.log("imgpack serve: closing a connection: \(error)") }
        phase = .closed
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        phase = .closed
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    // MARK: Backpressure

    var isPaused: Bool {
        inFlightRequests >= Self.maxInFlightRequests || inFlightBytes >= Self.maxInFlightBytes || disconnecting
    }

    func read(context: ChannelHandlerContext) {
        if isPaused || !context.channel.isWritable {
            readPending = true
        } else {
            context.read()
        }
    }

    func resumeIfPossible(context: ChannelHandlerContext) {
        if readPending, !isPaused, context.channel.isWritable {
            readPending = false
            context.read()
        }
    }

    func protocolError(_ context: ChannelHandlerContext, _ what: String) {
        server.log("imgpack serve: protocol error, closing the connection: \(what)")
        phase = .closed
        context.close(promise: nil)
    }
}
