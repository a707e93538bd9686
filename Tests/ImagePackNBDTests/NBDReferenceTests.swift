import Foundation
import ImagePack
import Testing
import TestSupport

@Suite("NBD export of an image with reference chunks")
struct NBDReferenceTests {
    /// samples/valid/small-references.ipk: the disk's first chunk repeated at 128 KiB (a
    /// reference), a memory stream whose second chunk is that chunk again (a reference across streams).
    static let image = TestServer.samples + "/small-references.ipk"

    @Test("reads of reference chunks, whole and in part, serve the target's content")
    func reads() throws {
        let reader = try ImageReader(path: Self.image)
        #expect(reader.entries.contains { $0.kind == .reference })
        let t = try TestServer(image: Self.image)
        defer { t.stop() }
        for name in ["disk", "memory"] {
            let s = try reader.streamIndex(named: name)
            let expected = try reader.read(stream: s, at: 0, count: Int(reader.streams[s].logicalSize))
            let c = try t.connectedClient(name, structured: false)
            try c.request(0, cookie: 1, offset: 0, length: UInt32(expected.count))
            let whole = try c.simpleReply(dataLength: expected.count)
            #expect(whole.error == 0, "\(name)")
            expectSameBytes(whole.data, expected, "\(name)")
            // A part of the reference chunk (the memory stream's second chunk, the disk's third).
            let at = 65536 + 1000
            try c.request(0, cookie: 2, offset: UInt64(at), length: 5000)
            let part = try c.simpleReply(dataLength: 5000)
            #expect(part.error == 0, "\(name)")
            expectSameBytes(part.data, expected[at..<at + 5000], "\(name)")
        }
    }
}
