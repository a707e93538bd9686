import NIOCore

/// The option haggling of the fixed newstyle handshake.
extension NBDConnectionHandler {
    func handleOption(context: ChannelHandlerContext, code: UInt32, data: ByteBuffer) {
        var data = data
        switch NBDProtocol.Option(rawValue: code) {
        case .exportName:
            let name = data.readString(length: data.readableBytes) ?? ""
            guard let export = server.export(named: name) else { return protocolError(context, "NBD_OPT_EXPORT_NAME of unknown export \"\(name)\"") }
            context.write(wrapOutboundOut(.exportNameReply(size: export.size, flags: export.transmissionFlags, zeroes: !noZeroes)), promise: nil)
            phase = .transmission(export)
            baseAllocation = selectsBaseAllocation(export)
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
                payload.writeString(export.description)
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
        guard let export = server.export(named: name) else {
            return replyError(context, option: code, .errorUnknown, "no export named \"\(name)\"; see NBD_OPT_LIST")
        }
        var info = context.channel.allocator.buffer(capacity: 12)
        info.writeInteger(NBDProtocol.infoExport)
        info.writeInteger(export.size)
        info.writeInteger(export.transmissionFlags)
        reply(context, option: code, .info, info)
        if requested.contains(NBDProtocol.infoName) {
            var payload = context.channel.allocator.buffer(capacity: 2 + export.name.utf8.count)
            payload.writeInteger(NBDProtocol.infoName)
            payload.writeString(export.name)
            reply(context, option: code, .info, payload)
        }
        if requested.contains(NBDProtocol.infoDescription) {
            var payload = context.channel.allocator.buffer(capacity: 64)
            payload.writeInteger(NBDProtocol.infoDescription)
            payload.writeString(export.description)
            reply(context, option: code, .info, payload)
        }
        // Any offset and length work; 4 KiB is the overlay's block, 32 MiB the largest payload.
        var sizes = context.channel.allocator.buffer(capacity: 14)
        sizes.writeInteger(NBDProtocol.infoBlockSize)
        sizes.writeInteger(UInt32(1))
        sizes.writeInteger(UInt32(NBDProtocol.preferredBlockSize))
        sizes.writeInteger(UInt32(NBDProtocol.maxPayload))
        reply(context, option: code, .info, sizes)
        reply(context, option: code, .ack)
        if go {
            phase = .transmission(export)
            baseAllocation = selectsBaseAllocation(export)
        }
    }

    /// Whether the last NBD_OPT_SET_META_CONTEXT chose `base:allocation` for `export` (by its
    /// name or, for the first disk, by "").
    private func selectsBaseAllocation(_ export: NBDExport) -> Bool {
        guard let name = metaContextExport else { return false }
        return server.export(named: name) === export
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
        guard server.export(named: name) != nil else {
            return replyError(context, option: code, .errorUnknown, "no export named \"\(name)\"")
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
