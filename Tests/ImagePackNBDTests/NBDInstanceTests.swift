import Foundation
import ImagePack
@testable import ImagePackNBD
import Testing
import TestSupport

/// Many instances from one server (`overlayDirectory`): the export `INSTANCE/DISK` writes to its
/// own overlay, the plain disks stay read-only, and names from the network cannot escape the
/// directory.
@Suite("NBD instances, one overlay each")
struct NBDInstanceTests {
    static var root: [UInt8] { NBDProtocolTests.disk("root") }
    static var data: [UInt8] { NBDProtocolTests.disk("data") }

    func read(_ c: RawNBDClient, _ offset: UInt64, _ length: Int) throws -> (error: UInt32, data: [UInt8]) {
        try c.request(0, cookie: 1, offset: offset, length: UInt32(length))
        let reply = try c.simpleReply(dataLength: length)
        return (reply.error, reply.error == 0 ? reply.data : [])
    }

    func write(_ c: RawNBDClient, _ offset: UInt64, _ bytes: [UInt8]) throws -> UInt32 {
        try c.request(1, cookie: 2, offset: offset, length: UInt32(bytes.count), payload: bytes)
        return try c.simpleReply().error
    }

    /// NBD_OPT_GO's replies for `export` on a fresh connection (the error, if any, last).
    func goReplies(_ t: TestServer, _ export: String) throws -> (client: RawNBDClient, replies: [RawNBDClient.OptionReply]) {
        let c = try t.client()
        try c.handshake()
        try c.option(7, RawNBDClient.goData(export))
        return (c, try c.optionReplies())
    }

    /// Waits until the server has closed every instance but `open` (closing runs on the pool
    /// after the last connection's requests finished).
    func waitForOpenInstances(_ t: TestServer, _ open: Int) {
        for _ in 0..<500 where t.server.openInstances != open { usleep(10_000) }
    }

    @Test("each INSTANCE/DISK writes its own overlay; connections of one instance share it; the plain disk stays read-only; writes survive reconnects and a restart")
    func instancesAreIsolatedAndKept() throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let instances = directory + "/instances"
        let imageBefore = try Data(contentsOf: URL(fileURLWithPath: TestServer.twoDisks))
        let a = [UInt8](repeating: 0xA1, count: 10_000), b = [UInt8](repeating: 0xB2, count: 10_000)
        var rootA = Self.root, rootB = Self.root
        rootA.replaceSubrange(4096..<14_096, with: a)
        rootB.replaceSubrange(4096..<14_096, with: b)

        let first = try TestServer(directory: directory) { $0.overlayDirectory = instances }
        let vm1 = try first.client()
        try vm1.handshake()
        #expect(try vm1.go("vm1/root", structured: false).flags & 0x2 == 0, "writable")
        #expect(try write(vm1, 4096, a) == 0)
        // The old-style option reaches instances too.
        let vm2 = try first.client()
        try vm2.handshake()
        try vm2.option(1, Array("vm2/root".utf8))
        let reply = try vm2.receiveAll(10)
        #expect(RawNBDClient.value(reply, at: 0, as: UInt64.self) == UInt64(Self.root.count))
        #expect(try write(vm2, 4096, b) == 0)
        expectSameBytes(try read(vm1, 0, rootA.count).data, rootA)
        expectSameBytes(try read(vm2, 0, rootB.count).data, rootB)
        // "vm1/" is vm1's first disk: the same overlay, seen by a second connection at once.
        let vm1Again = try first.connectedClient("vm1/", structured: false)
        expectSameBytes(try read(vm1Again, 0, rootA.count).data, rootA)
        #expect(first.server.openInstances == 2)
        // The image's own disk: unchanged and read-only.
        let plain = try first.client()
        try plain.handshake()
        #expect(try plain.go("root", structured: false).flags & 0x2 != 0, "read-only")
        expectSameBytes(try read(plain, 0, Self.root.count).data, Self.root)
        #expect(try write(plain, 0, [1]) == 1, "EPERM")

        // Every connection of vm1 gone: its overlay is flushed and closed; vm2 stays open.
        for c in [vm1, vm1Again] {
            try c.request(2, cookie: 9, offset: 0, length: 0)
            #expect(try c.serverClosed())
        }
        waitForOpenInstances(first, 1)
        #expect(first.server.openInstances == 1)
        expectSameBytes(try read(first.connectedClient("vm1/root", structured: false), 0, rootA.count).data, rootA, "reopened from its file")
        #expect(FileManager.default.fileExists(atPath: instances + "/vm1/root.overlay"))
        #expect(FileManager.default.fileExists(atPath: instances + "/vm2/root.overlay"))
        first.stop(removing: false)

        let second = try TestServer(directory: directory) { $0.overlayDirectory = instances }
        expectSameBytes(try read(second.connectedClient("vm1/root", structured: false), 0, rootA.count).data, rootA)
        expectSameBytes(try read(second.connectedClient("vm2/root", structured: false), 0, rootB.count).data, rootB)
        expectSameBytes(try read(second.connectedClient("vm2/data", structured: false), 0, Self.data.count).data, Self.data)
        #expect(FileManager.default.fileExists(atPath: instances + "/vm2/data.overlay"))
        second.stop(removing: false)
        expectSameBytes(try Data(contentsOf: URL(fileURLWithPath: TestServer.twoDisks)), imageBefore)
    }

    @Test(
        "instance names that walk, hide or are malformed are refused with a reason, nothing is created, and the connection goes on",
        arguments: ["../root", "./root", ".hidden/root", "/root", "vm 1/root", "vm1/nope", "a/b/root", String(repeating: "x", count: 65) + "/root", "-x/root", "vm\u{e9}/root"])
    func badNames(_ name: String) throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let instances = directory + "/instances"
        let t = try TestServer(directory: directory) { $0.overlayDirectory = instances }
        defer { t.stop(removing: false) }
        let (c, replies) = try goReplies(t, name)
        let error = try #require(replies.last)
        #expect(error.type == 0x8000_0006, "NBD_REP_ERR_UNKNOWN")
        #expect(!error.data.isEmpty, "a reason")
        #expect(try c.go("root", structured: false).size == UInt64(Self.root.count), "the connection goes on")
        #expect(try FileManager.default.contentsOfDirectory(atPath: instances).isEmpty)
        #expect(t.server.openInstances == 0)
    }

    @Test("an instance name on a server without an overlay directory says what is missing")
    func noDirectory() throws {
        let t = try TestServer()
        defer { t.stop() }
        let (_, replies) = try goReplies(t, "vm1/root")
        let error = try #require(replies.last)
        #expect(error.type == 0x8000_0006)
        #expect(String(decoding: error.data, as: UTF8.self).contains("overlay directory"))
    }

    @Test("an instance whose overlay belongs to another image is refused for that instance only, with the reason")
    func foreignOverlay() throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let instances = directory + "/instances"
        try FileManager.default.createDirectory(atPath: instances + "/vm3", withIntermediateDirectories: true)
        // An overlay made for another image, at the place vm3's root overlay would be.
        let other = try TestServer(image: TestServer.samples + "/small.ipk", directory: directory) {
            $0.overlayPath = instances + "/vm3/root.overlay"
            $0.overlayDisk = nil
        }
        other.stop(removing: false)
        let t = try TestServer(directory: directory) { $0.overlayDirectory = instances }
        defer { t.stop(removing: false) }
        let (_, replies) = try goReplies(t, "vm3/root")
        let error = try #require(replies.last)
        #expect(error.type == 0x8000_0002, "NBD_REP_ERR_POLICY")
        #expect(String(decoding: error.data, as: UTF8.self).contains("belongs to"))
        #expect(t.log.all.contains { $0.contains("vm3") && $0.contains("rootDigest") })
        #expect(try read(t.connectedClient("vm4/root", structured: false), 0, 4096).error == 0)
        #expect(t.server.openInstances == 1)
    }

    @Test("an overlay file and an overlay directory together are refused; a directory whose parent is missing is refused")
    func configuration() throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var both = NBDServer.Configuration(imagePath: TestServer.twoDisks)
        both.overlayPath = directory + "/o"
        both.overlayDirectory = directory + "/i"
        let conflict = #expect(throws: NBDServerError.self) { try NBDServer(configuration: both) }
        #expect(conflict?.code == .invalidConfiguration)
        var deep = NBDServer.Configuration(imagePath: TestServer.twoDisks)
        deep.overlayDirectory = directory + "/missing/instances"
        let error = #expect(throws: NBDServerError.self) { try NBDServer(configuration: deep) }
        #expect(error?.code == .io)
        #expect(!FileManager.default.fileExists(atPath: directory + "/missing"))
    }
}
