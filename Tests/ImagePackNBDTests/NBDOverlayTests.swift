import Foundation
import ImagePack
@testable import ImagePackNBD
import Testing
import TestSupport

/// Copy-on-write through the overlay, and reads of a damaged image.
@Suite("NBD overlay and integrity")
struct NBDOverlayTests {
    static var root: [UInt8] { NBDProtocolTests.disk("root") }

    func read(_ c: RawNBDClient, _ offset: UInt64, _ length: Int) throws -> [UInt8] {
        try c.request(0, cookie: 1, offset: offset, length: UInt32(length))
        let reply = try c.simpleReply(dataLength: length)
        #expect(reply.error == 0)
        return reply.data
    }

    @Test("writes read back in the same and a new connection and after a restart; the image is unchanged")
    func writesSurviveRestart() throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let overlay = directory + "/root.overlay"
        let imageBefore = try Data(contentsOf: URL(fileURLWithPath: TestServer.twoDisks))
        var expected = Self.root
        let pattern = [UInt8](repeating: 0xAB, count: 70_000)
        expected.replaceSubrange(100_000..<170_000, with: pattern)
        expected.replaceSubrange(5..<9, with: [1, 2, 3, 4])
        expected.replaceSubrange(200_001..<209_000, with: repeatElement(0, count: 8999))

        let first = try TestServer(directory: directory) { $0.overlayPath = overlay }
        #expect(first.server.exportNames == ["root"])
        let c = try first.client()
        try c.handshake()
        #expect(try c.go("root", structured: false).flags & 0x2 == 0, "writable")
        try c.request(1, cookie: 2, offset: 100_000, length: 70_000, payload: pattern)
        #expect(try c.simpleReply().error == 0)
        try c.request(1, flags: 1, cookie: 3, offset: 5, length: 4, payload: [1, 2, 3, 4])
        #expect(try c.simpleReply().error == 0)
        try c.request(6, cookie: 4, offset: 200_001, length: 8999)
        #expect(try c.simpleReply().error == 0)
        try expectSameBytes(read(c, 0, expected.count), expected)
        try c.request(3, cookie: 5, offset: 0, length: 0)
        #expect(try c.simpleReply().error == 0)
        try expectSameBytes(read(first.connectedClient(structured: false), 0, expected.count), expected)
        first.stop(removing: false)

        let second = try TestServer(directory: directory) { $0.overlayPath = overlay }
        try expectSameBytes(read(second.connectedClient(structured: false), 0, expected.count), expected)
        second.stop(removing: false)
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: TestServer.twoDisks)), imageBefore)
    }

    @Test("an overlay of another image, another disk or a damaged one is refused")
    func overlayChecks() throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let overlay = directory + "/o"
        let made = try TestServer(directory: directory) { $0.overlayPath = overlay }
        made.stop(removing: false)
        func open(_ image: String, disk: String? = nil) -> NBDServerError? {
            do {
                var configuration = NBDServer.Configuration(imagePath: image)
                configuration.overlayPath = overlay
                configuration.overlayDisk = disk
                let server = try NBDServer(configuration: configuration)
                server.shutdown()
                return nil
            } catch let error as NBDServerError { return error } catch { return nil }
        }
        #expect(open(TestServer.samples + "/small.ipk")?.code == .overlayMismatch)
        #expect(open(TestServer.twoDisks, disk: "data")?.code == .overlayMismatch)
        #expect(open(TestServer.twoDisks, disk: "nope")?.code == .noSuchExport)
        #expect(open(TestServer.twoDisks) == nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: overlay))
        try handle.write(contentsOf: Array("NOTANOVL".utf8))
        try handle.close()
        #expect(open(TestServer.twoDisks)?.code == .invalidOverlay)
    }

    @Test("a corrupt chunk is an I/O error on its range only, logged with its rule")
    func corruptChunk() throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let image = directory + "/damaged.ipk"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestServer.twoDisks)))
        let reader = try ImageReader(path: TestServer.twoDisks)
        let victim = reader.chunks(ofStream: 0).first { $0.kind == .data && $0.codec == .zstd }!
        // A flipped byte in the middle of the payload: the frame fails to decode or the digest differs.
        bytes[Int(victim.recordOffset) + Int(victim.storedSize) - Int(victim.payloadLength) / 2] ^= 0x55
        try Data(bytes).write(to: URL(fileURLWithPath: image))

        let t = try TestServer(image: image, directory: directory)
        defer { t.stop(removing: false) }
        let c = try t.connectedClient("root")
        try c.request(0, cookie: 1, offset: victim.logicalOffset + 10, length: 100)
        let failed = try c.structuredReply()
        #expect(failed.last?.type == 0x8002, "ERROR_OFFSET")
        #expect(failed.last?.errorValue == 5, "EIO")
        let after = victim.logicalEnd
        try c.request(0, cookie: 2, offset: after, length: 4096)
        try expectSameBytes(RawNBDClient.assemble(c.structuredReply(), offset: after, length: 4096) ?? [], Array(Self.root[Int(after)..<Int(after) + 4096]))
        let simple = try t.connectedClient("root", structured: false)
        try simple.request(0, cookie: 3, offset: victim.logicalOffset, length: 1)
        #expect(try simple.simpleReply().error == 5)
        #expect(t.log.all.contains { $0.contains("V") && $0.contains("chunk") })
    }
}
