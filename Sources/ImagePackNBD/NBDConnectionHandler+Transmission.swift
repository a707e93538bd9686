import NIOCore
import NIOPosix

/// Requests of the transmission phase: checked on the event loop, worked on the thread pool,
/// answered back on the event loop.
extension NBDConnectionHandler {
    /// What a request's work produced.
    enum Outcome: Sendable {
        case read([NBDExport.Piece])
        case blockStatus([(length: UInt32, flags: UInt32)])
        case done
    }

    func handleRequest(context: ChannelHandlerContext, export: NBDExport, request: NBDRequest) {
        guard let command = request.command else {
            return fail(context, request, NBDRequestFailure(.invalid, "unknown command \(request.type)"))
        }
        if command == .disconnect {
            disconnecting = true
            finishDisconnect(context: context, export: export)
            return
        }
        // Checks every command shares: a payload within the limit, a range inside the disk.
        if (command == .read || command == .write) && Int(request.length) > NBDProtocol.maxPayload {
            return fail(context, request, NBDRequestFailure(structuredReplies ? .overflow : .invalid, "\(request.length) bytes is over the \(NBDProtocol.maxPayload)-byte limit"))
        }
        let (end, overflow) = request.offset.addingReportingOverflow(UInt64(request.length))
        guard !overflow, end <= export.size else {
            return fail(context, request, NBDRequestFailure(.invalid, "range \(request.offset)+\(request.length) is past the end of the disk (\(export.size) bytes)", offset: request.offset))
        }
        var work: (@Sendable () throws -> Outcome)?
        let offset = request.offset, length = Int(request.length)
        switch command {
        case .read:
            if let pieces = export.cachedRead(offset: offset, length: length) {
                return answer(context, export, request, .read(pieces))
            }
        case .blockStatus:
            guard baseAllocation else {
                return fail(context, request, NBDRequestFailure(.invalid, "NBD_CMD_BLOCK_STATUS without base:allocation negotiated"))
            }
            guard length > 0 else { return fail(context, request, NBDRequestFailure(.invalid, "NBD_CMD_BLOCK_STATUS of 0 bytes")) }
            let one = request.has(NBDProtocol.commandFlagReqOne)
            work = { .blockStatus(export.blockStatus(offset: offset, length: UInt64(length), onlyOne: one)) }
        case .write:
            guard export.isWritable else { return fail(context, request, NBDRequestFailure(.permission, "the export is read-only")) }
            let payload = request.payload!
            let fua = request.has(NBDProtocol.commandFlagFUA)
            work = {
                try export.write(offset: offset, data: payload)
                if fua { try export.flush() }
                return .done
            }
        case .writeZeroes, .trim:
            guard export.isWritable else { return fail(context, request, NBDRequestFailure(.permission, "the export is read-only")) }
            // Trimmed bytes may read back as anything; zeros (holes in the overlay) are the cheapest.
            let fua = request.has(NBDProtocol.commandFlagFUA)
            work = {
                try export.writeZeroes(offset: offset, length: length)
                if fua { try export.flush() }
                return .done
            }
        case .flush:
            work = {
                try export.flush()
                return .done
            }
        case .cache, .disconnect:
            return fail(context, request, NBDRequestFailure(.invalid, "command \(command) is not offered"))
        }
        let cost = command == .read ? length : 0
        inFlightRequests += 1
        inFlightBytes += cost
        let loop = context.eventLoop
        let outcome: EventLoopFuture<Outcome>
        if let work {
            outcome = server.threadPool.runIfActive(eventLoop: loop) { try work() }
        } else {
            outcome = export.read(offset: offset, length: length, on: loop).map { .read($0) }
        }
        outcome.assumeIsolated()
            .whenComplete { result in
                self.inFlightRequests -= 1
                self.inFlightBytes -= cost
                if case .closed = self.phase {
                    if case .success(.read(let pieces)) = result { export.release(pieces) }
                    self.releaseInstanceIfIdle()
                    return
                }
                switch result {
                case .success(let outcome): self.answer(context, export, request, outcome)
                case .failure(let error as NBDRequestFailure): self.fail(context, request, error)
                case .failure(let error): self.fail(context, request, NBDRequestFailure(.shutdown, "\(error)"))
                }
                self.scheduleFlush(context)
                if self.disconnecting {
                    self.finishDisconnect(context: context, export: export)
                } else {
                    self.resumeIfPossible(context: context)
                }
            }
    }

    /// After NBD_CMD_DISC: once nothing is in work, flush the overlay and close.
    func finishDisconnect(context: ChannelHandlerContext, export: NBDExport) {
        guard inFlightRequests == 0, case .transmission = phase else { return }
        phase = .closed
        let channel = context.channel
        server.threadPool.runIfActive(eventLoop: context.eventLoop) { try export.flush() }
            .whenComplete { _ in channel.close(promise: nil) }
    }

    private func answer(_ context: ChannelHandlerContext, _ export: NBDExport, _ request: NBDRequest, _ outcome: Outcome) {
        switch outcome {
        case .done:
            if structuredReplies {
                send(context, request, flags: NBDProtocol.replyFlagDone, type: NBDProtocol.replyTypeNone, [])
            } else {
                context.write(wrapOutboundOut(.simpleReply(cookie: request.cookie, error: 0, data: [])), promise: nil)
            }
        case .blockStatus(let runs):
            var payload = context.channel.allocator.buffer(capacity: 4 + runs.count * 8)
            payload.writeInteger(NBDProtocol.baseAllocationID)
            for run in runs {
                payload.writeInteger(run.length)
                payload.writeInteger(run.flags)
            }
            send(context, request, flags: NBDProtocol.replyFlagDone, type: NBDProtocol.replyTypeBlockStatus, [payload])
        case .read(let pieces):
            let (pieces, sent) = pinOrCopy(context, export, pieces)
            if !structuredReplies {
                context.write(wrapOutboundOut(.simpleReply(cookie: request.cookie, error: 0, data: pieces.flatMap(server.bytes))), promise: sent)
            } else if request.has(NBDProtocol.commandFlagDF) {
                // "Don't fragment": one OFFSET_DATA with everything, zeros included.
                send(context, request, flags: NBDProtocol.replyFlagDone, type: NBDProtocol.replyTypeOffsetData, [offsetBuffer(context, request.offset)] + pieces.flatMap(server.bytes), promise: sent)
            } else {
                sendStructuredRead(context, request, pieces, promise: sent)
            }
        }
    }

    /// The pieces of a read reply as they will be sent, and the promise its last write completes
    /// (sent, or failed when the connection closes), which gives the pins back.
    ///
    /// A slice of a chunk keeps its pin while the reply waits unsent, unless this connection pins
    /// ``maxPinnedChunks`` other chunks already: then the slice is copied and the pin given back.
    private func pinOrCopy(_ context: ChannelHandlerContext, _ export: NBDExport, _ pieces: [NBDExport.Piece]) -> ([NBDExport.Piece], EventLoopPromise<Void>?) {
        var kept: [Int] = []
        let out = pieces.map { piece -> NBDExport.Piece in
            guard case .chunk(let bytes, let index) = piece else { return piece }
            if pinnedChunks[index] != nil || pinnedChunks.count < Self.maxPinnedChunks {
                pinnedChunks[index, default: 0] += 1
                kept.append(index)
                return piece
            }
            var copy = context.channel.allocator.buffer(capacity: bytes.readableBytes)
            copy.writeImmutableBuffer(bytes)
            export.cache.release(index)
            return .data(copy)
        }
        guard !kept.isEmpty else { return (out, nil) }
        let sent = context.eventLoop.makePromise(of: Void.self)
        sent.futureResult.assumeIsolated().whenComplete { _ in
            for index in kept {
                if self.pinnedChunks[index]! == 1 { self.pinnedChunks[index] = nil } else { self.pinnedChunks[index]! -= 1 }
                export.cache.release(index)
            }
        }
        return (out, sent)
    }

    /// A read as OFFSET_DATA chunks (runs of data merged) and OFFSET_HOLE chunks (zero chunks,
    /// nothing sent but their place), the last one flagged DONE.
    private func sendStructuredRead(_ context: ChannelHandlerContext, _ request: NBDRequest, _ pieces: [NBDExport.Piece], promise: EventLoopPromise<Void>?) {
        var position = request.offset
        var index = 0
        if pieces.isEmpty {
            return send(context, request, flags: NBDProtocol.replyFlagDone, type: NBDProtocol.replyTypeNone, [], promise: promise)
        }
        while index < pieces.count {
            let start = position
            var parts: [ByteBuffer] = []
            let type: UInt16
            if case .zero(let n) = pieces[index] {
                type = NBDProtocol.replyTypeOffsetHole
                var hole = context.channel.allocator.buffer(capacity: 4)
                hole.writeInteger(UInt32(n))
                parts = [hole]
                position += UInt64(n)
                index += 1
            } else {
                type = NBDProtocol.replyTypeOffsetData
                while index < pieces.count, !pieces[index].isZero {
                    parts += server.bytes(pieces[index])
                    position += UInt64(pieces[index].count)
                    index += 1
                }
            }
            let last = index == pieces.count
            send(context, request, flags: last ? NBDProtocol.replyFlagDone : 0, type: type, [offsetBuffer(context, start)] + parts, promise: last ? promise : nil)
        }
    }

    private func offsetBuffer(_ context: ChannelHandlerContext, _ offset: UInt64) -> ByteBuffer {
        var b = context.channel.allocator.buffer(capacity: 8)
        b.writeInteger(offset)
        return b
    }

    private func send(_ context: ChannelHandlerContext, _ request: NBDRequest, flags: UInt16, type: UInt16, _ payload: [ByteBuffer], promise: EventLoopPromise<Void>? = nil) {
        context.write(wrapOutboundOut(.structuredChunk(cookie: request.cookie, flags: flags, type: type, payload: payload)), promise: promise)
    }

    /// An error reply: ERROR_OFFSET (or ERROR) with the message when structured, the bare errno when simple.
    func fail(_ context: ChannelHandlerContext, _ request: NBDRequest, _ failure: NBDRequestFailure) {
        if !structuredReplies {
            context.write(wrapOutboundOut(.simpleReply(cookie: request.cookie, error: failure.errno.rawValue, data: [])), promise: nil)
            return
        }
        // The message is for people; keep it well under the 64 KiB a chunk's length field allows.
        let message = Array(failure.message.utf8.prefix(4096))
        var payload = context.channel.allocator.buffer(capacity: 14 + message.count)
        payload.writeInteger(failure.errno.rawValue)
        payload.writeInteger(UInt16(message.count))
        payload.writeBytes(message)
        var type = NBDProtocol.replyTypeError
        if let offset = failure.offset, request.command == .read {
            // The failing chunk may start before the request; the offset must lie inside it.
            payload.writeInteger(max(offset, request.offset))
            type = NBDProtocol.replyTypeErrorOffset
        }
        send(context, request, flags: NBDProtocol.replyFlagDone, type: type, [payload])
    }
}
