import NIOCore
import NIOPosix

/// One client: the handshake on the event loop, then requests run on the thread pool and
/// answered as they finish (NBD lets replies overtake each other; the cookie matches them up).
///
/// Backpressure: while the socket is not writable (a slow reader) or too many requests are being
/// worked on, the handler neither starts the requests already decoded (they wait in `queued`, in
/// order) nor asks the channel for more bytes, so neither unsent replies nor the decoded chunks
/// they hold grow without bound. Stopping the reads alone is not enough: one read of the socket
/// can bring thousands of 28-byte requests, and answering them all from the cache used to queue
/// gigabytes of replies behind a client that does not read.
final class NBDConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = NBDInbound
    typealias OutboundIn = NBDOutbound
    typealias OutboundOut = NBDOutbound

    /// At most this many requests in work per connection, and at most this many bytes of reads
    /// (one larger read may start alone): enough to keep every pool thread busy for one client
    /// (nbdcopy keeps 64 reads of 256 KiB in flight per connection, qemu far less), bounded for 64
    /// of them. The bytes also bound what the replies a slow client leaves unsent can hold
    /// outside the cache's budget: their copies (see ``maxPinnedChunks``).
    static let maxInFlightRequests = 32
    static let maxInFlightBytes = 16 << 20
    /// At most this many chunks pinned by one connection's unsent replies; a reply from another
    /// chunk is copied out instead. A sequential reader's replies come from one chunk, or two at
    /// a chunk boundary, so they are hardly ever copied; a client that stops reading pins no more
    /// than this, which bounds how far it can overdraw the cache (see ``ChunkCache``).
    static let maxPinnedChunks = 2

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
    /// Requests decoded while paused, started in order when work or the socket frees up.
    var queued = CircularBuffer<NBDRequest>()
    /// A flush is scheduled for the end of this round of the event loop (see ``scheduleFlush(_:)``).
    var flushScheduled = false
    /// The most reply bytes this connection had waiting in the channel, unsent.
    var peakBuffered = 0
    /// NBD_CMD_DISC arrived: close once the requests in work are answered.
    var disconnecting = false
    /// Chunks this connection's unsent replies hold pins on, with how many replies each.
    var pinnedChunks: [Int: Int] = [:]
    /// The instance disk this connection uses (`INSTANCE/DISK`), released when the connection has
    /// closed and its last request finished.
    var instanceExport: NBDExport?
    /// An option is being worked on off the event loop (an instance's overlay opening): messages
    /// that arrive meanwhile wait in `held`, and the socket is not read.
    var optionInWork = false
    var held: [NBDInbound] = []

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
        let inbound = unwrapInboundIn(data)
        if optionInWork { return held.append(inbound) }
        handle(context: context, inbound)
    }

    /// Handles the messages that arrived while an option was worked on, until one is again.
    func replayHeld(_ context: ChannelHandlerContext) {
        while !optionInWork, !held.isEmpty { handle(context: context, held.removeFirst()) }
        flushReplies(context)
        if held.isEmpty, readPending, !optionInWork, queued.isEmpty, canStart(context) {
            readPending = false
            context.read()
        }
    }

    private func handle(context: ChannelHandlerContext, _ inbound: NBDInbound) {
        switch inbound {
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
            if !queued.isEmpty || !canStart(context) {
                queued.append(request)
            } else {
                handleRequest(context: context, export: export, request: request)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushReplies(context)
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
        releaseInstanceIfIdle()
        context.fireChannelInactive()
    }

    /// Once the connection has closed and no request is in work, gives its instance disk back.
    func releaseInstanceIfIdle() {
        guard case .closed = phase, inFlightRequests == 0, let export = instanceExport else { return }
        instanceExport = nil
        release(instance: export)
    }

    /// One user less of an instance disk, on the pool (the last one flushes and closes its
    /// overlay). At shutdown the pool no longer runs it; the server closes every instance then.
    func release(instance export: NBDExport) {
        guard let instances = server.instances else { return }
        server.threadPool.submit { state in
            if state == .active { instances.release(export) }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    // MARK: Backpressure

    var isPaused: Bool {
        inFlightRequests >= Self.maxInFlightRequests || inFlightBytes >= Self.maxInFlightBytes || disconnecting
    }

    /// Whether a new request may start now: not paused, and the socket takes more replies.
    func canStart(_ context: ChannelHandlerContext) -> Bool { !isPaused && context.channel.isWritable }

    func read(context: ChannelHandlerContext) {
        if optionInWork || !queued.isEmpty || !canStart(context) {
            readPending = true
        } else {
            context.read()
        }
    }

    /// Starts the queued requests while they may start, then reads on if all of them did.
    func resumeIfPossible(context: ChannelHandlerContext) {
        var started = false
        while !queued.isEmpty, canStart(context), case .transmission(let export) = phase {
            handleRequest(context: context, export: export, request: queued.removeFirst())
            started = true
        }
        // Replies answered from the cache are written, not yet flushed: unflushed bytes count
        // against writability too, so without this flush the socket would never drain.
        if started { flushReplies(context) }
        if queued.isEmpty, readPending, canStart(context) {
            readPending = false
            context.read()
        }
    }

    /// One flush for every reply completed in this round of the event loop: a decoded chunk
    /// completes all the reads waiting for it at once, and one `writev` sends their replies.
    func scheduleFlush(_ context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            flushReplies(context)
        }
    }

    /// Flushes, first noting how many reply bytes wait unsent: the most is just before a flush.
    func flushReplies(_ context: ChannelHandlerContext) {
        if let buffered = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes), buffered > peakBuffered {
            peakBuffered = buffered
            server.notePeakBufferedReplyBytes(buffered)
        }
        context.flush()
    }

    func protocolError(_ context: ChannelHandlerContext, _ what: String) {
        server.log("imgpack serve: protocol error, closing the connection: \(what)")
        phase = .closed
        context.close(promise: nil)
    }
}
