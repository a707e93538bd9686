/// One entry of the STRM record (spec §6).
public struct StreamInfo: Sendable, Hashable {
    public var name: String
    public var kind: StreamKind
    public var blockSize: UInt32
    public var logicalSize: UInt64

    package init(name: String, kind: StreamKind, blockSize: UInt32, logicalSize: UInt64) {
        self.name = name
        self.kind = kind
        self.blockSize = blockSize
        self.logicalSize = logicalSize
    }
}

enum StreamTable {
    /// The STRM body without its trailing CRC; its SHA-256 enters the root digest.
    static func encodeBody(_ streams: [StreamInfo]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(streams.count))
        w.u32(0)
        for s in streams {
            let name = Array(s.name.utf8)
            w.u8(s.kind.rawValue)
            w.u8(UInt8(name.count))
            w.u16(0)
            w.u32(s.blockSize)
            w.u64(s.logicalSize)
            w.append(name)
        }
        return w.bytes
    }

    /// Parses a STRM body (without CRC) found at `offset` (rules V13-V15).
    static func decodeBody(_ body: [UInt8], at offset: UInt64, limits: ImageLimits) throws(ImagePackError) -> [StreamInfo] {
        var c = ByteCursor(body, base: offset, context: "stream table")
        let count = try c.u32("streamCount")
        guard count >= 1, Int(count) <= limits.maxStreams else {
            throw ImagePackError(.limitExceeded, "stream count \(count) is outside 1...\(limits.maxStreams)", rule: .v13, offset: offset, field: "streamCount")
        }
        try c.reserved(4, "reserved")
        var streams: [StreamInfo] = []
        var names = Set<String>()
        for i in 0..<Int(count) {
            c.context = "stream \(i)"
            let kindAt = c.offset
            let kindRaw = try c.u8("kind")
            guard let kind = StreamKind(rawValue: kindRaw) else {
                throw ImagePackError(.malformedField, "stream kind \(kindRaw) is unknown", rule: .v13, offset: kindAt, stream: "\(i)", field: "kind")
            }
            let nameLength = Int(try c.u8("nameLength"))
            try c.reserved(2, "reserved")
            let blockAt = c.offset
            let blockSize = try c.u32("blockSize")
            guard blockSize >= 1, blockSize <= 65536, blockSize & (blockSize - 1) == 0 else {
                throw ImagePackError(.malformedField, "block size \(blockSize) is not a power of two up to 65536", rule: .v13, offset: blockAt, stream: "\(i)", field: "blockSize")
            }
            let sizeAt = c.offset
            let size = try c.u64("logicalSize")
            guard size <= limits.maxStreamSize else {
                throw ImagePackError(.limitExceeded, "stream size \(size) exceeds the limit \(limits.maxStreamSize)", rule: .v14, offset: sizeAt, stream: "\(i)", field: "logicalSize")
            }
            let nameAt = c.offset
            let nameBytes = Array(try c.take(nameLength, "name"))
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw ImagePackError(.invalidStreamName, "stream name is not UTF-8", rule: .v15, offset: nameAt, stream: "\(i)", field: "name")
            }
            do throws(ImagePackError) { try StreamName.validate(name, limits: limits) } catch {
                throw error.located(at: nameAt).enriched(stream: "\(i)")
            }
            guard names.insert(name).inserted else {
                throw ImagePackError(.invalidStreamName, "stream name \"\(name)\" appears twice", rule: .v15, offset: nameAt, stream: "\(i)", field: "name")
            }
            streams.append(StreamInfo(name: name, kind: kind, blockSize: blockSize, logicalSize: size))
        }
        guard c.remaining == 0 else {
            throw ImagePackError(.malformedField, "stream table has \(c.remaining) bytes after its last entry", rule: .v13, offset: c.offset)
        }
        return streams
    }
}

/// Stream names double as file names on extraction, so they are restricted (rule V15).
public enum StreamName {
    /// Throws unless `name` is 1...limit bytes of `A-Z a-z 0-9 . _ -`, not starting with a dot.
    public static func validate(_ name: String, limits: ImageLimits = .init()) throws(ImagePackError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= limits.maxNameLength else {
            throw ImagePackError(.invalidStreamName, "stream name must be 1 to \(limits.maxNameLength) bytes", rule: .v15, field: "name")
        }
        let allowed = bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x2D
        }
        guard allowed, bytes[0] != 0x2E else {
            throw ImagePackError(.invalidStreamName, "stream name \"\(name.debugDescription.dropFirst().dropLast())\" is not a safe file name: use letters, digits, '.', '_' and '-', not starting with '.'", rule: .v15, field: "name")
        }
    }
}
