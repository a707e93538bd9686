import Foundation
import ImagePack
@testable import ImagePackNBD
import Testing
import TestSupport

/// The server against a raw client in the same process: the handshake, replies of both kinds,
/// and every way a client can misbehave.
@Suite("NBD protocol")
struct NBDProtocolTests {
    static let reader = try! ImageReader(path: TestServer.twoDisks)
    static func disk(_ name: String) -> [UInt8] {
        let s = try! reader.streamIndex(named: name)
        return try! reader.read(stream: s, at: 0, count: Int(reader.streams[s].logicalSize))
    }

    @Test("the handshake offers fixed newstyle, lists every disk, and refuses unknown options and exports")
    func handshake() throws {
        let t = try TestServer()
        defer { t.stop() }
        let c = try t.client()
        #expect(try c.handshake() == 3)
        try c.option(3)
        let list = try c.optionReplies()
        let names = list.filter { $0.type == 2 }.map { reply in
            String(decoding: reply.data[4..<4 + Int(RawNBDClient.value(reply.data, at: 0, as: UInt32.self))], as: UTF8.self)
        }
        #expect(names == ["root", "data"])
        try c.option(99)
        #expect(try c.optionReply().type == 0x8000_0001)
        try c.option(7, RawNBDClient.goData("nope"))
        #expect(try c.optionReply().type == 0x8000_0006)
        try c.option(10, RawNBDClient.be(UInt32(0)) + RawNBDClient.be(UInt32(0)))
        #expect(try c.optionReply().type == 0x8000_0003, "SET_META_CONTEXT before structured replies")
        try c.option(6, Array(repeating: 0, count: 70_000))
        #expect(try c.optionReply().type == 0x8000_0009, "an option over 64 KiB is too big")
        let (size, flags) = try c.go("data")
        #expect(size == 262_144)
        #expect(flags & 0x2 != 0, "read-only")
        #expect(flags & 0x100 != 0, "multi-conn")
    }

    @Test("reads match the image with simple and structured replies; zero chunks come as holes")
    func reads() throws {
        let t = try TestServer()
        defer { t.stop() }
        let root = Self.disk("root")
        let simple = try t.connectedClient("root", structured: false)
        try simple.request(0, cookie: 7, offset: 0, length: UInt32(root.count))
        let reply = try simple.simpleReply(dataLength: root.count)
        #expect(reply.error == 0 && reply.cookie == 7)
        expectSameBytes(reply.data, root)

        let structured = try t.connectedClient("", structured: true)
        try structured.request(0, cookie: 8, offset: 1000, length: 300_000)
        let chunks = try structured.structuredReply()
        #expect(chunks.allSatisfy { $0.cookie == 8 })
        #expect(chunks.contains { $0.type == 2 }, "the zero chunks at 64-192 KiB are a hole")
        expectSameBytes(RawNBDClient.assemble(chunks, offset: 1000, length: 300_000) ?? [], Array(root[1000..<301_000]))
        try structured.request(0, flags: 4, cookie: 9, offset: 60_000, length: 10_000)
        let unfragmented = try structured.structuredReply()
        #expect(unfragmented.count == 1 && unfragmented[0].type == 1, "DF: one OFFSET_DATA")
        expectSameBytes(Array(unfragmented[0].payload[8...]), Array(root[60_000..<70_000]))
    }

    @Test("block status reports zero chunks as hole+zero and everything else as data")
    func blockStatus() throws {
        let t = try TestServer()
        defer { t.stop() }
        let c = try t.connectedClient("root", baseAllocation: true)
        let size = Self.reader.streams[0].logicalSize
        try c.request(7, cookie: 1, offset: 0, length: UInt32(size))
        let reply = try c.structuredReply()
        #expect(reply.count == 1 && reply[0].type == 5)
        var runs: [(UInt32, UInt32)] = []
        let payload = reply[0].payload
        for at in stride(from: 4, to: payload.count, by: 8) {
            runs.append((RawNBDClient.value(payload, at: at), RawNBDClient.value(payload, at: at + 4)))
        }
        var expected: [(UInt32, UInt32)] = []
        for entry in Self.reader.chunks(ofStream: 0) {
            let flags: UInt32 = entry.kind == .zero ? 3 : 0
            if let last = expected.last, last.1 == flags { expected[expected.count - 1].0 += entry.logicalLength } else { expected.append((entry.logicalLength, flags)) }
        }
        #expect(runs.map(\.0) == expected.map(\.0))
        #expect(runs.map(\.1) == expected.map(\.1))
    }

    @Test("bad requests get their errno and the connection keeps working")
    func requestErrors() throws {
        let t = try TestServer()
        defer { t.stop() }
        let c = try t.connectedClient("data", structured: false)
        try c.request(0, cookie: 1, offset: 262_144 - 10, length: 11)
        #expect(try c.simpleReply().error == 22, "read past the end: EINVAL")
        try c.request(0, cookie: 2, offset: 0, length: 33 << 20)
        #expect(try c.simpleReply().error == 22, "over 32 MiB without structured replies: EINVAL")
        try c.request(1, cookie: 3, offset: 0, length: 4, payload: [1, 2, 3, 4])
        #expect(try c.simpleReply().error == 1, "write to a read-only export: EPERM")
        try c.request(42, cookie: 4, offset: 0, length: 0)
        #expect(try c.simpleReply().error == 22, "unknown command: EINVAL")
        try c.request(7, cookie: 5, offset: 0, length: 4096)
        #expect(try c.simpleReply().error == 22, "block status without base:allocation: EINVAL")
        try c.request(0, cookie: 6, offset: 0, length: 16)
        let ok = try c.simpleReply(dataLength: 16)
        #expect(ok.error == 0 && ok.data == Array(Self.disk("data")[0..<16]))

        let s = try t.connectedClient("data")
        try s.request(0, cookie: 9, offset: 0, length: 33 << 20)
        let big = try s.structuredReply()
        #expect(big.count == 1 && big[0].type == 0x8001 && big[0].errorValue == 75, "over 32 MiB with structured replies: EOVERFLOW")
        try s.request(1, cookie: 10, offset: 0, length: 33 << 20, payload: [UInt8](repeating: 0, count: 33 << 20))
        #expect(try s.structuredReply()[0].errorValue == 75, "an oversized write's data is skipped, not taken for requests")
        try s.request(2, cookie: 11, offset: 0, length: 0)
        #expect(try s.serverClosed(), "NBD_CMD_DISC closes")
    }

    @Test("bad magic, a request during the handshake and unknown client flags close that connection only")
    func violations() throws {
        let t = try TestServer()
        defer { t.stop() }
        let bad = try t.client()
        try bad.handshake()
        try bad.send(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        #expect(try bad.serverClosed())
        let early = try t.client()
        try early.handshake()
        try early.request(0, cookie: 1, offset: 0, length: 1)
        #expect(try early.serverClosed())
        let flags = try t.client()
        _ = try flags.receiveAll(18)
        try flags.send(RawNBDClient.be(UInt32(0x80)))
        #expect(try flags.serverClosed())
        let good = try t.connectedClient("root", structured: false)
        try good.request(0, cookie: 1, offset: 0, length: 8)
        #expect(try good.simpleReply(dataLength: 8).data == Array(Self.disk("root")[0..<8]))
        #expect(t.log.all.contains { $0.contains("bad magic") })
    }

    @Test("a client that vanishes mid-reply or reads nothing does not disturb the others")
    func vanishingAndSlowClients() throws {
        let t = try TestServer()
        defer { t.stop() }
        let root = Self.disk("root")
        // Never reads: its replies pile up until the socket is full, then the server stops reading its requests.
        let slow = try t.connectedClient("root", structured: false)
        for cookie in 0..<200 { try slow.request(0, cookie: UInt64(cookie), offset: 0, length: UInt32(root.count)) }
        do {
            let gone = try t.connectedClient("root")
            for cookie in 0..<50 { try gone.request(0, cookie: UInt64(cookie), offset: 0, length: UInt32(root.count)) }
        }
        let good = try t.connectedClient("root", structured: false)
        try good.request(0, cookie: 1, offset: 0, length: UInt32(root.count))
        try expectSameBytes(good.simpleReply(dataLength: root.count).data, root)
    }

    @Test("a client that sends a thousand reads before reading any reply finds them all answered, with few reply bytes ever waiting unsent")
    func slowReaderBackpressure() throws {
        let t = try TestServer()
        defer { t.stop() }
        let data = Self.disk("data")
        let c = try t.connectedClient("data", structured: false)
        // 1000 x 256 KiB = 250 MiB of replies asked for in 28 KB of requests, which one read of the
        // socket brings in whole: answered all at once from the cache, they would all wait in the
        // channel. Backpressure starts a request only while the channel takes more bytes.
        let count = 1000
        try c.send((0..<count).flatMap { RawNBDClient.requestBytes(0, cookie: UInt64($0), offset: 0, length: UInt32(data.count)) })
        var cookies = Set<UInt64>()
        for _ in 0..<count {
            let reply = try c.simpleReply(dataLength: data.count)
            #expect(reply.error == 0)
            if reply.data != data { Issue.record("reply \(reply.cookie) differs from the disk") }
            cookies.insert(reply.cookie)
        }
        #expect(cookies.count == count)
        // The write buffer's high-water mark, the reads in work and one reply.
        let bound = NBDServer.writeBufferWaterMark.high + NBDConnectionHandler.maxInFlightBytes + data.count
        #expect(t.server.context.peakBufferedReplyBytes > 0)
        #expect(t.server.context.peakBufferedReplyBytes <= bound, "\(t.server.context.peakBufferedReplyBytes) reply bytes waited unsent")
    }

    @Test("connections over --max-connections are closed; the others keep being served")
    func maxConnections() throws {
        let t = try TestServer { $0.maxConnections = 2 }
        defer { t.stop() }
        let a = try t.client(), b = try t.client()
        try a.handshake()
        try b.handshake()
        let c = try t.client()
        #expect(try c.serverClosed())
        try a.go("data", structured: false)
        try a.request(0, cookie: 1, offset: 0, length: 4)
        #expect(try a.simpleReply(dataLength: 4).error == 0)
        #expect(t.log.all.contains { $0.contains("max-connections") })
    }

    @Test("each chunk is decoded once however often it is read")
    func cacheDecodesOnce() throws {
        let t = try TestServer()
        defer { t.stop() }
        let c = try t.connectedClient("root", structured: false)
        let size = Int(Self.reader.streams[0].logicalSize)
        for cookie in 0..<5 {
            try c.request(0, cookie: UInt64(cookie), offset: 0, length: UInt32(size))
            _ = try c.simpleReply(dataLength: size)
        }
        let stored = Self.reader.chunks(ofStream: 0).filter(\.needsDecoding).count  // zero and fill chunks are never decoded
        #expect(t.server.cacheStatistics.misses == stored)
    }

    @Test("pipelined sequential reads come back whole, matched by cookie, each chunk decoded once despite readahead")
    func pipelinedSequentialReads() throws {
        let t = try TestServer()
        defer { t.stop() }
        let root = Self.disk("root")
        let c = try t.connectedClient("root", structured: false)
        let piece = 4096
        let count = root.count / piece
        for i in 0..<count { try c.request(0, cookie: UInt64(i), offset: UInt64(i * piece), length: UInt32(piece)) }
        var received: [UInt64: [UInt8]] = [:]
        for _ in 0..<count {
            let reply = try c.simpleReply(dataLength: piece)
            #expect(reply.error == 0)
            received[reply.cookie] = reply.data
        }
        #expect((0..<count).allSatisfy { received[UInt64($0)] == Array(root[$0 * piece..<($0 + 1) * piece]) })
        let stored = Self.reader.chunks(ofStream: 0).filter(\.needsDecoding).count  // zero and fill chunks are never decoded
        #expect(t.server.cacheStatistics.misses == stored)
    }

    @Test("a delta is served through its parent, which a read of a shared chunk needs; without parents it is refused at start (V49)")
    func deltaWithParent() throws {
        let samples = TestServer.samples
        let parent = try ImageReader(path: samples + "/small.ipk")
        let delta = try ImageReader(path: samples + "/small-delta.ipk", parents: [parent])
        #expect(delta.parentDigest == parent.rootDigest)
        let stream = delta.streams.firstIndex { $0.kind == .disk }!
        let name = delta.streams[stream].name
        let expected = try delta.read(stream: stream, at: 0, count: Int(delta.streams[stream].logicalSize))
        #expect(delta.chunks(ofStream: stream).contains { $0.kind == .parent }, "the sample shares chunks with its parent")

        let error = #expect(throws: ImagePackError.self) { try NBDServer(configuration: .init(imagePath: samples + "/small-delta.ipk")) }
        #expect(error?.code == .parentRequired && error?.rule == .v49)

        let t = try TestServer(image: samples + "/small-delta.ipk") { $0.parents = [parent] }
        defer { t.stop() }
        let c = try t.connectedClient(name, structured: false)
        try c.request(0, cookie: 1, offset: 0, length: UInt32(expected.count))
        let reply = try c.simpleReply(dataLength: expected.count)
        #expect(reply.error == 0)
        expectSameBytes(reply.data, expected)
    }

    @Test("shutdown removes the socket")
    func shutdownRemovesSocket() throws {
        let t = try TestServer()
        #expect(FileManager.default.fileExists(atPath: t.socket))
        t.stop(removing: false)
        #expect(!FileManager.default.fileExists(atPath: t.socket))
        try? FileManager.default.removeItem(atPath: t.directory)
    }

    @Test("a TCP address off the loopback is refused without allowRemote")
    func remoteRefused() throws {
        let t = try TestServer()
        defer { t.stop() }
        #expect(throws: NBDServerError.self) { try t.server.listen(on: .tcp(host: "0.0.0.0", port: 0)) }
        let bound = try t.server.listen(on: .tcp(host: "127.0.0.1", port: 0))
        guard case .tcp(_, let port) = bound else { Issue.record("not TCP"); return }
        #expect(port > 0)
    }
}

@Suite("NBD handshake timeout")
struct NBDHandshakeTimeoutTests {
    @Test("a client that never finishes the handshake is disconnected; one that did is kept")
    func idleHandshake() throws {
        let t = try TestServer { $0.handshakeTimeout = .milliseconds(200) }
        defer { t.stop() }
        let served = try t.connectedClient("data", structured: false)
        let idle = try t.client()
        try idle.handshake()
        #expect(try idle.serverClosed())
        try served.request(0, cookie: 1, offset: 0, length: 4)
        #expect(try served.simpleReply(dataLength: 4).error == 0)
        #expect(t.log.all.contains { $0.contains("no export chosen") })
    }
}
