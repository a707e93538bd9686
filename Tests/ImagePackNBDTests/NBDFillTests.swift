import Foundation
import ImagePack
@testable import ImagePackNBD
import Testing
import TestSupport

/// Fill chunks (an 8-byte pattern repeated) are served from their checked pattern: nothing is
/// decoded or allocated per chunk, any offset within the pattern reads right, and a damaged
/// fill record is an I/O error on its range only.
@Suite("NBD fill chunks")
struct NBDFillTests {
    /// A disk of 64 KiB chunks: one of data, then three of "ABCDEFGH" repeated (a pattern whose
    /// bytes all differ, so a read that starts at the wrong byte of it shows), then data again.
    static let disk: [UInt8] = {
        var bytes = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        bytes += [UInt8](repeating: 0, count: 3 * 65536).indices.map { Array("ABCDEFGH".utf8)[$0 % 8] }
        bytes += (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        return bytes
    }()

    /// The disk packed as the "root" disk of an image in `directory`.
    static func image(in directory: String) throws -> (path: String, fill: ChunkEntry) {
        try Data(disk).write(to: URL(fileURLWithPath: directory + "/fill.raw"))
        let pack = try ExternalTools.run("imgpack", ["pack", "--disk", "root=fill.raw", "--chunk-size", "64K", "-q", "-o", "fill.ipk"], in: directory)
        try #require(pack.status == 0, "\(pack.stderr)")
        let reader = try ImageReader(path: directory + "/fill.ipk")
        let fill = try #require(reader.chunks(ofStream: 0).first { $0.kind == .fill })
        return (directory + "/fill.ipk", fill)
    }

    @Test("reads of a fill chunk at every phase of its pattern, simple and structured, decode nothing")
    func servedFromPattern() throws {
        let directory = TestServer.makeDirectory()
        let (image, f) = try Self.image(in: directory)
        let t = try TestServer(image: image, directory: directory)
        defer { t.stop() }
        #expect(f.logicalLength >= 64)
        let structured = try t.connectedClient("root")
        let simple = try t.connectedClient("root", structured: false)
        var cookie: UInt64 = 0
        for phase in 0..<9 {
            let offset = f.logicalOffset + UInt64(phase), length = Int(f.logicalLength) - phase - 1
            let expected = Self.disk[Int(offset)..<Int(offset) + length]
            cookie += 1
            try structured.request(0, cookie: cookie, offset: offset, length: UInt32(length))
            expectSameBytes(RawNBDClient.assemble(try structured.structuredReply(), offset: offset, length: length) ?? [], expected, "phase \(phase), structured")
            try simple.request(0, cookie: cookie, offset: offset, length: UInt32(length))
            let reply = try simple.simpleReply(dataLength: length)
            #expect(reply.error == 0, "phase \(phase), simple")
            expectSameBytes(reply.data, expected, "phase \(phase), simple")
        }
        #expect(t.server.cacheStatistics.misses == 0, "no chunk was decoded")
        #expect(t.server.chunkMemory.peakBytes == 0, "no chunk buffer was held")
        // A read across the fill chunk and its neighbours still assembles the disk's bytes.
        let start = f.logicalOffset > 100 ? f.logicalOffset - 100 : 0
        let end = min(f.logicalEnd + 100, UInt64(Self.disk.count))
        try structured.request(0, cookie: 99, offset: start, length: UInt32(end - start))
        expectSameBytes(RawNBDClient.assemble(try structured.structuredReply(), offset: start, length: Int(end - start)) ?? [], Self.disk[Int(start)..<Int(end)])
    }

    @Test("an overlay write inside a fill chunk keeps the pattern around it")
    func partialWriteOverFill() throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (image, fill) = try Self.image(in: directory)
        let t = try TestServer(image: image, directory: directory) { $0.overlayPath = directory + "/root.overlay" }
        defer { t.stop(removing: false) }
        let c = try t.connectedClient("root", structured: false)
        let at = fill.logicalOffset + 4099
        try c.request(1, cookie: 1, offset: at, length: 3, payload: [1, 2, 3])
        #expect(try c.simpleReply().error == 0)
        var expected = Self.disk
        expected.replaceSubrange(Int(at)..<Int(at) + 3, with: [1, 2, 3])
        let block = Int(at) / 4096 * 4096
        try c.request(0, cookie: 2, offset: UInt64(block), length: 8192)
        let reply = try c.simpleReply(dataLength: 8192)
        #expect(reply.error == 0)
        expectSameBytes(reply.data, expected[block..<block + 8192])
    }

    @Test(
        "a damaged fill record is an I/O error on its range only, logged with its rule",
        arguments: [("pattern", "V26"), ("pattern and CRC", "V28")])
    func damagedFill(what: String, rule: String) throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (original, f) = try Self.image(in: directory)
        let image = directory + "/damaged.ipk"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: original)))
        // spec/FORMAT.md §7.1: a 16-byte envelope, then the body: payloadCRC at 24, headerCRC (of
        // the envelope and body bytes 0-63) at 64, the payload (here the 8-byte pattern) at 68.
        let body = Int(f.recordOffset) + 16
        bytes[body + 68] ^= 0x01
        if what == "pattern and CRC" {
            func put(_ value: UInt32, at offset: Int) { withUnsafeBytes(of: value.littleEndian) { for k in 0..<4 { bytes[offset + k] = $0[k] } } }
            put(CRC32C.checksum(Array(bytes[body + 68..<body + 76])), at: body + 24)
            put(CRC32C.checksum(Array(bytes[Int(f.recordOffset)..<body + 64])), at: body + 64)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: image))
        let t = try TestServer(image: image, directory: directory)
        defer { t.stop(removing: false) }
        let c = try t.connectedClient("root")
        try c.request(0, cookie: 1, offset: f.logicalOffset + 5, length: 100)
        let failed = try c.structuredReply()
        #expect(failed.last?.type == 0x8002 && failed.last?.errorValue == 5, "ERROR_OFFSET, EIO")
        #expect(t.log.all.contains { $0.contains(rule) }, "\(t.log.all)")
        let after = f.logicalEnd
        let length = min(4096, Self.disk.count - Int(after))
        try c.request(0, cookie: 2, offset: after, length: UInt32(length))
        expectSameBytes(RawNBDClient.assemble(try c.structuredReply(), offset: after, length: length) ?? [], Self.disk[Int(after)..<Int(after) + length])
    }
}
