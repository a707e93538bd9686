#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ImagePack
@testable import ImagePackNBD
import Testing

/// Hundreds of clients that speak the protocol badly: valid messages mutated at random (options
/// of every code with random data, commands of every type with random flags, offsets and
/// lengths, writes with short payloads, instance names good and bad), cut off anywhere. The
/// server must answer or close each, keep serving a well-behaved client the right bytes, and
/// shut down cleanly. Seeded, so a failure names the iteration that reproduces it.
@Suite("NBD hostile clients")
struct NBDHostileClientTests {
    /// SplitMix64: small, seedable, good enough to pick mutations.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
        mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
    }

    static let names = ["", "root", "data", "nope", "vm1/root", "vm2/", "vm1/data", "../root", ".x/root", "a/b/c", "vm 1/root", String(repeating: "v", count: 70) + "/root"]

    /// One client's bytes: a mostly valid opening, then mutated options or requests.
    static func conversation(_ r: inout Random, diskSize: UInt64) -> [UInt8] {
        typealias C = RawNBDClient
        var out: [UInt8] = r.chance(95) ? C.be(UInt32(r.chance(90) ? 3 : UInt32(truncatingIfNeeded: r.next()))) : r.bytes(r.below(8))
        var transmitting = false
        for _ in 0..<(1 + r.below(12)) {
            if !transmitting {
                let code = r.chance(30) ? UInt32(7) : UInt32(r.below(14))
                var data: [UInt8]
                switch r.below(4) {
                case 0: data = r.bytes(r.below(40))
                case 1: data = C.goData(names[r.below(names.count)])
                case 2:
                    let name = Array(names[r.below(names.count)].utf8)
                    let query = Array((r.chance(50) ? "base:allocation" : "base:").utf8)
                    data = C.be(UInt32(name.count)) + name + C.be(UInt32(1)) + C.be(UInt32(query.count)) + query
                default: data = []
                }
                if r.chance(10), !data.isEmpty { data[r.below(data.count)] ^= UInt8(1 << r.below(8)) }
                let length = r.chance(90) ? UInt32(data.count) : UInt32(truncatingIfNeeded: r.next())
                out += C.be(UInt64(0x4948_4156_454f_5054)) + C.be(code) + C.be(length) + data
                if code == 7 && r.chance(70) { transmitting = true }
            } else {
                let type = r.chance(60) ? UInt16(r.below(2)) : UInt16(r.below(12))
                let flags = r.chance(70) ? UInt16(0) : UInt16(truncatingIfNeeded: r.next())
                let offset: UInt64 = switch r.below(4) {
                case 0: UInt64(r.below(Int(diskSize)))
                case 1: diskSize - UInt64(r.below(4096) + 1)
                case 2: r.next()
                default: 0
                }
                let length: UInt32 = switch r.below(4) {
                case 0: UInt32(r.below(70_000))
                case 1: UInt32(truncatingIfNeeded: r.next())
                case 2: 33 << 20
                default: 0
                }
                let payload = type == 1 ? r.bytes(min(Int(length), r.chance(80) ? 70_000 : r.below(100))) : []
                let magic = r.chance(97) ? UInt32(0x2560_9513) : UInt32(truncatingIfNeeded: r.next())
                out += C.be(magic) + C.be(flags) + C.be(type) + C.be(r.next()) + C.be(offset) + C.be(length) + payload
            }
        }
        // Cut anywhere, sometimes.
        if r.chance(25) { out = Array(out.prefix(r.below(out.count + 1))) }
        return out
    }

    @Test("400 hostile clients: each is answered or closed, a well-behaved client keeps reading the disk, shutdown is clean")
    func hostileClients() throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let t = try TestServer(directory: directory) { $0.overlayDirectory = directory + "/vms" }
        let root = NBDProtocolTests.disk("root")
        let good = try t.connectedClient("root", structured: false)
        var r = Random(state: 0x1D_B00B)
        for iteration in 0..<400 {
            let bytes = Self.conversation(&r, diskSize: UInt64(root.count))
            let c = try t.client()
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            try? c.send(bytes)
            // End of input: the server must close the connection (after answering what it got).
            shutdown(c.fd, Int32(SHUT_WR))
            let closed = (try? c.serverClosed()) ?? false
            #expect(closed, "iteration \(iteration): the server kept a client open after its input ended")
            if iteration % 40 == 39 {
                let offset = r.below(root.count - 4096)
                try good.request(0, cookie: UInt64(iteration), offset: UInt64(offset), length: 4096)
                let reply = try good.simpleReply(dataLength: 4096)
                let same = reply.error == 0 && reply.data == Array(root[offset..<offset + 4096])
                #expect(same, "iteration \(iteration): the well-behaved client read wrong bytes or an error \(reply.error)")
            }
        }
        for _ in 0..<500 where t.server.openInstances != 0 { usleep(10_000) }
        #expect(t.server.openInstances == 0, "every instance closed with its last connection")
        t.stop(removing: false)
        #expect(!t.log.all.contains { $0.contains("internal") || $0.contains("precondition") })
    }
}
