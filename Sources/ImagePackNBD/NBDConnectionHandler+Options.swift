import NIOCore

/// The option haggling of the fixed newstyle handshake.
extension NBDConnectionHandler {
    func handleOption(context: ChannelHandlerContext, code: UInt32, data: ByteBuffer) {
        var data = data
        switch NBDProtocol.Option(rawValue: code) {
        case .exportName:
            // No error reply exists for this option: a name that serves nothing closes the connection.
            let name = data.readString(length: data.readableBytes) ?? ""
            choose(context, name: name) { [self] result in
                switch result {
                case .success(let export):
                    context.write(wrapOutboundOut(.exportNameReply(size: export.size, flags: export.transmissionFlags, zeroes: !noZeroes)), promise: nil)
                    enterTransmission(export, name: name)
                case .failure(let error):
                    protocolError(context, "NBD_OPT_EXPORT_NAME \"\(name)\": \(error.message)")
                }
            }
        case .abort:
            phase = .closed
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.optionReply(option: code, type: NBDProtocol.OptionReply.ack.rawValue, data: ByteBuffer())))
                .whenComplete { _ in channel.close(promise: nil) }
        case .list:
            guard data.readableBytes == 0 else { return replyError(context, option: code, .errorInvalid, "NBD_OPT_LIST takes no data") }
            for export in server.exports {
                var payload = context.channel.allocator.buffer(capacity: 64)
                let name = Array(export.name.utf8)
                payload.writeInteger(UInt32(name.count))
                payload.writeBytes(name)
                payload.writeString(export.description + (server.instances == nil ? "" : "; INSTANCE/\(export.name) is a writable instance of it"))
                reply(context, option: code, .server, payload)
            }
            reply(context, option: code, .ack)
        case .info, .go:
            handleInfo(context: context, code: code, data: &data, go: code == NBDProtocol.Option.go.rawValue)
        case .structuredReply:
            guard data.readableBytes == 0 else { return replyError(context, option: code, .errorInvalid, "NBD_OPT_STRUCTURED_REPLY takes no data") }
            structuredReplies = true
            reply(context, option: code, .ack)
        case .listMetaContext, .setMetaContext:
            handleMetaContext(context: context, code: code, data: &data, set: code == NBDProtocol.Option.setMetaContext.rawValue)
        case .startTLS, nil:
            replyError(context, option: code, .errorUnsupported, "option \(code) is not supported")
        }
    }

    /// NBD_OPT_INFO and NBD_OPT_GO: export name, then a list of information requests.
    private func handleInfo(context: ChannelHandlerContext, code: UInt32, data: inout ByteBuffer, go: Bool) {
        guard let nameLength = data.readInteger(as: UInt32.self), Int(nameLength) <= data.readableBytes,
            let name = data.readString(length: Int(nameLength)), let count = data.readInteger(as: UInt16.self),
            data.readableBytes == Int(count) * 2
        else { return replyError(context, option: code, .errorInvalid, "malformed NBD_OPT_INFO/GO data") }
        var requested: Set<UInt16> = []
        for _ in 0..<count { requested.insert(data.readInteger(as: UInt16.self)!) }
        let answer = { [self] (size: UInt64, flags: UInt16, description: String) in
            var info = context.channel.allocator.buffer(capacity: 12)
            info.writeInteger(NBDProtocol.infoExport)
            info.writeInteger(size)
            info.writeInteger(flags)
            reply(context, option: code, .info, info)
            if requested.contains(NBDProtocol.infoName) {
                var payload = context.channel.allocator.buffer(capacity: 2 + name.utf8.count)
                payload.writeInteger(NBDProtocol.infoName)
                payload.writeString(name)
                reply(context, option: code, .info, payload)
            }
            if requested.contains(NBDProtocol.infoDescription) {
                var payload = context.channel.allocator.buffer(capacity: 64)
                payload.writeInteger(NBDProtocol.infoDescription)
                payload.writeString(description)
                reply(context, option: code, .info, payload)
            }
            sendBlockSizes(context, option: code)
            reply(context, option: code, .ack)
        }
        if !go, case .success(.instance(let instance, let disk)) = server.target(named: name) {
            // INFO opens nothing: an instance disk is its image disk, writable.
            return answer(disk.size, NBDExport.transmissionFlags(writable: true), "\(disk.description(writable: true)), instance \"\(instance)\"")
        }
        choose(context, name: name) { [self] result in
            switch result {
            case .success(let export):
                answer(export.size, export.transmissionFlags, export.description)
                if go { enterTransmission(export, name: name) }
            case .failure(let error):
                replyError(context, option: code, error.code == .noSuchExport ? .errorUnknown : .errorPolicy, error.message + (error.code == .noSuchExport ? "; see NBD_OPT_LIST" : ""))
            }
        }
    }

    /// The export `name` names, handed to `then` on the event loop: at once for a disk; for an
    /// instance's disk once its overlay is open, which touches files and so runs on the thread
    /// pool, the connection's further messages held until then.
    private func choose(_ context: ChannelHandlerContext, name: String, then: @escaping (Result<NBDExport, NBDServerError>) -> Void) {
        switch server.target(named: name) {
        case .failure(let error):
            then(.failure(error))
        case .success(.export(let export)):
            then(.success(export))
        case .success(.instance(let instance, let disk)):
            let instances = server.instances!
            optionInWork = true
            server.threadPool.runIfActive(eventLoop: context.eventLoop) {
                try instances.acquire(instance: instance, stream: disk.stream, disk: disk.name, size: disk.size)
            }.assumeIsolated().whenComplete { [self] result in
                optionInWork = false
                if case .closed = phase {
                    if case .success(let export) = result { release(instance: export) }
                    return
                }
                switch result {
                case .success(let export):
                    instanceExport = export
                    then(.success(export))
                case .failure(let error as NBDServerError):
                    server.log("imgpack serve: instance \(instance): \(error)")
                    then(.failure(error))
                case .failure(let error):
                    then(.failure(NBDServerError(.io, "the server is shutting down (\(error))")))
                }
                flushReplies(context)
                replayHeld(context)
            }
        }
    }

    /// Enters the transmission phase on `export`, chosen by `name`.
    private func enterTransmission(_ export: NBDExport, name: String) {
        phase = .transmission(export)
        baseAllocation = metaContextExport.map { chosen in
            chosen == name || (Instances.split(name) == nil && Instances.split(chosen) == nil && server.export(named: chosen) === export)
        } ?? false
    }

    private func sendBlockSizes(_ context: ChannelHandlerContext, option code: UInt32) {
        // Any offset and length work; 4 KiB is the overlay's block, 32 MiB the largest payload.
        var sizes = context.channel.allocator.buffer(capacity: 14)
        sizes.writeInteger(NBDProtocol.infoBlockSize)
        sizes.writeInteger(UInt32(1))
        sizes.writeInteger(UInt32(4096))
        sizes.writeInteger(UInt32(NBDProtocol.maxPayload))
        reply(context, option: code, .info, sizes)
    }

    /// NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT: only `base:allocation` exists.
    private func handleMetaContext(context: ChannelHandlerContext, code: UInt32, data: inout ByteBuffer, set: Bool) {
        if set && !structuredReplies {
            return replyError(context, option: code, .errorInvalid, "NBD_OPT_SET_META_CONTEXT needs structured replies first")
        }
        guard let nameLength = data.readInteger(as: UInt32.self), Int(nameLength) <= data.readableBytes,
            let name = data.readString(length: Int(nameLength)), let count = data.readInteger(as: UInt32.self)
        else { return replyError(context, option: code, .errorInvalid, "malformed meta context data") }
        var queries: [String] = []
        for _ in 0..<count {
            guard let length = data.readInteger(as: UInt32.self), Int(length) <= data.readableBytes, let query = data.readString(length: Int(length)) else {
                return replyError(context, option: code, .errorInvalid, "malformed meta context query")
            }
            queries.append(query)
        }
        guard data.readableBytes == 0 else { return replyError(context, option: code, .errorInvalid, "trailing bytes after the meta context queries") }
        if case .failure(let error) = server.target(named: name) {
            return replyError(context, option: code, .errorUnknown, error.message)
        }
        let matches: Bool
        if set {
            matches = queries.contains(NBDProtocol.baseAllocation)
            metaContextExport = matches ? name : nil
        } else {
            matches = queries.isEmpty || queries.contains(NBDProtocol.baseAllocation) || queries.contains("base:")
        }
        if matches {
            var payload = context.channel.allocator.buffer(capacity: 20)
            payload.writeInteger(NBDProtocol.baseAllocationID)
            payload.writeString(NBDProtocol.baseAllocation)
            reply(context, option: code, .metaContext, payload)
        }
        reply(context, option: code, .ack)
    }

    func reply(_ context: ChannelHandlerContext, option: UInt32, _ type: NBDProtocol.OptionReply, _ data: ByteBuffer = ByteBuffer()) {
        context.write(wrapOutboundOut(.optionReply(option: option, type: type.rawValue, data: data)), promise: nil)
    }

    func replyError(_ context: ChannelHandlerContext, option: UInt32, _ type: NBDProtocol.OptionReply, _ message: String) {
        var data = context.channel.allocator.buffer(capacity: message.utf8.count)
        data.writeString(message)
        reply(context, option: option, type, data)
    }
}
