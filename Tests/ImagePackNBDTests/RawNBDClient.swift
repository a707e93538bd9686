#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A deliberately dumb NBD client over a blocking Unix socket: it sends exactly the bytes a test
/// asks for (bad magic included) and reads replies field by field, so tests see the wire.
///
/// Receives time out after 20 s so that a server bug fails a test instead of hanging the suite.
final class RawNBDClient {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let fd: Int32

    init(socketPath: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.prefix(raw.count - 1))
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let cause = errno
            close(fd)
            throw Failure(description: "connect \(socketPath): errno \(cause)")
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { systemSend(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            done += n
        }
    }

    /// Exactly `count` bytes, or nil if the server closed the connection first.
    func receive(_ count: Int) throws -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + done, count - done, 0) }
            if n == 0 || (n < 0 && errno == ECONNRESET) { return nil }
            guard n > 0 else { throw Failure(description: "recv: errno \(errno) (timed out?)") }
            done += n
        }
        return bytes
    }

    func receiveAll(_ count: Int) throws -> [UInt8] {
        guard let bytes = try receive(count) else { throw Failure(description: "the server closed the connection") }
        return bytes
    }

    /// True once the server has closed the connection (reads EOF, skipping anything still queued).
    func serverClosed() throws -> Bool {
        var scratch = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n == 0 || (n < 0 && errno == ECONNRESET) { return true }
            if n < 0 { return false }
        }
    }

    // MARK: Encoding

    static func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    static func value<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as: T.Type = T.self) -> T {
        bytes[offset..<offset + MemoryLayout<T>.size].reduce(T(0)) { $0 << 8 | T($1) }
    }

    // MARK: Handshake

    /// Reads the greeting and answers with FIXED_NEWSTYLE | NO_ZEROES; returns the handshake flags.
    @discardableResult
    func handshake() throws -> UInt16 {
        let greeting = try receiveAll(18)
        guard Self.value(greeting, at: 0, as: UInt64.self) == 0x4e42_444d_4147_4943 else { throw Failure(description: "bad greeting") }
        try send(Self.be(UInt32(3)))
        return Self.value(greeting, at: 16)
    }

    func option(_ code: UInt32, _ data: [UInt8] = []) throws {
        try send(Self.be(UInt64(0x4948_4156_454f_5054)) + Self.be(code) + Self.be(UInt32(data.count)) + data)
    }

    struct OptionReply {
        var option: UInt32
        var type: UInt32
        var data: [UInt8]
        var isError: Bool { type & 0x8000_0000 != 0 }
    }

    func optionReply() throws -> OptionReply {
        let header = try receiveAll(20)
        guard Self.value(header, at: 0, as: UInt64.self) == 0x0003_e889_0455_65a9 else { throw Failure(description: "bad option reply magic") }
        let length = Int(Self.value(header, at: 16, as: UInt32.self))
        return OptionReply(option: Self.value(header, at: 8), type: Self.value(header, at: 12), data: try receiveAll(length))
    }

    /// Replies up to and including the ACK (or the first error).
    func optionReplies() throws -> [OptionReply] {
        var replies: [OptionReply] = []
        while true {
            let reply = try optionReply()
            replies.append(reply)
            if reply.type == 1 || reply.isError { return replies }
        }
    }

    static func goData(_ export: String) -> [UInt8] {
        be(UInt32(export.utf8.count)) + Array(export.utf8) + be(UInt16(0))
    }

    /// Structured replies (optionally), base:allocation (optionally), then NBD_OPT_GO; returns the export size.
    @discardableResult
    func go(_ export: String = "", structured: Bool = true, baseAllocation: Bool = false) throws -> (size: UInt64, flags: UInt16) {
        if structured {
            try option(8)
            guard try optionReply().type == 1 else { throw Failure(description: "structured replies refused") }
        }
        if baseAllocation {
            let query = "base:allocation"
            try option(10, Self.be(UInt32(export.utf8.count)) + Array(export.utf8) + Self.be(UInt32(1)) + Self.be(UInt32(query.utf8.count)) + Array(query.utf8))
            let replies = try optionReplies()
            guard replies.count == 2, replies[0].type == 4 else { throw Failure(description: "base:allocation refused") }
        }
        try option(7, Self.goData(export))
        let replies = try optionReplies()
        guard let info = replies.first(where: { $0.type == 3 && Self.value($0.data, at: 0, as: UInt16.self) == 0 }), replies.last?.type == 1 else {
            throw Failure(description: "NBD_OPT_GO failed: \(replies.map(\.type))")
        }
        return (Self.value(info.data, at: 2), Self.value(info.data, at: 10))
    }

    // MARK: Transmission

    func request(_ type: UInt16, flags: UInt16 = 0, cookie: UInt64, offset: UInt64, length: UInt32, payload: [UInt8] = []) throws {
        try send(Self.requestBytes(type, flags: flags, cookie: cookie, offset: offset, length: length, payload: payload))
    }

    /// One request on the wire, for tests that send many in one `send` (each `send` of its own
    /// costs the socket's buffer a whole packet, so a thousand separate ones would block).
    static func requestBytes(_ type: UInt16, flags: UInt16 = 0, cookie: UInt64, offset: UInt64, length: UInt32, payload: [UInt8] = []) -> [UInt8] {
        be(UInt32(0x2560_9513)) + be(flags) + be(type) + be(cookie) + be(offset) + be(length) + payload
    }

    /// A simple reply's error and cookie, and `dataLength` bytes after it when the error is 0.
    func simpleReply(dataLength: Int = 0) throws -> (error: UInt32, cookie: UInt64, data: [UInt8]) {
        let header = try receiveAll(16)
        guard Self.value(header, at: 0, as: UInt32.self) == 0x6744_6698 else { throw Failure(description: "not a simple reply") }
        let error: UInt32 = Self.value(header, at: 4)
        return (error, Self.value(header, at: 8), error == 0 ? try receiveAll(dataLength) : [])
    }

    struct Chunk {
        var flags: UInt16
        var type: UInt16
        var cookie: UInt64
        var payload: [UInt8]
        var isDone: Bool { flags & 1 != 0 }
        var errorValue: UInt32 { RawNBDClient.value(payload, at: 0) }
    }

    func structuredChunk() throws -> Chunk {
        let header = try receiveAll(20)
        guard Self.value(header, at: 0, as: UInt32.self) == 0x668e_33ef else { throw Failure(description: "not a structured reply") }
        let length = Int(Self.value(header, at: 16, as: UInt32.self))
        return Chunk(flags: Self.value(header, at: 4), type: Self.value(header, at: 6), cookie: Self.value(header, at: 8), payload: try receiveAll(length))
    }

    /// The chunks of one structured reply, up to the one flagged DONE.
    func structuredReply() throws -> [Chunk] {
        var chunks: [Chunk] = []
        repeat { chunks.append(try structuredChunk()) } while !chunks.last!.isDone
        return chunks
    }

    /// Assembles a structured read reply into bytes (holes as zeros); nil if it carried an error.
    static func assemble(_ chunks: [Chunk], offset: UInt64, length: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0xEE, count: length)
        for chunk in chunks {
            switch chunk.type {
            case 1:
                let at = Int(value(chunk.payload, at: 0, as: UInt64.self) - offset)
                bytes.replaceSubrange(at..<at + chunk.payload.count - 8, with: chunk.payload[8...])
            case 2:
                let at = Int(value(chunk.payload, at: 0, as: UInt64.self) - offset)
                let n = Int(value(chunk.payload, at: 8, as: UInt32.self))
                bytes.replaceSubrange(at..<at + n, with: repeatElement(0, count: n))
            case 0: break
            default: return nil
            }
        }
        return bytes
    }
}

/// `send(2)`, out of the way of ``RawNBDClient/send(_:)``.
private func systemSend(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int {
    send(fd, buffer, count, flags)
}
