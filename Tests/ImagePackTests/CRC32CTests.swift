import Testing
@testable import ImagePack

/// The check value of spec/FORMAT.md §2.3: CRC-32C("123456789") = 0xE3069283. Every record's
/// fast check depends on it, on whichever path the CPU takes.
@Suite("CRC-32C")
struct CRC32CTests {
    static let check = Array("123456789".utf8)

    @Test("known answer on the path this CPU uses (instruction when available)")
    func knownAnswerDispatched() {
        #expect(CRC32C.checksum(Self.check) == 0xE306_9283)
    }

    @Test("known answer on the portable table path")
    func knownAnswerPortable() {
        #expect(CRC32C.portableChecksum(Self.check) == 0xE306_9283)
    }

    @Test("continuing over pieces gives the CRC of the whole, on both paths")
    func continuation() {
        for split in 0...Self.check.count {
            let head = Array(Self.check[..<split]), tail = Array(Self.check[split...])
            #expect(CRC32C.checksum(tail, continuing: CRC32C.checksum(head)) == 0xE306_9283)
            #expect(CRC32C.portableChecksum(tail, continuing: CRC32C.portableChecksum(head)) == 0xE306_9283)
        }
    }

    @Test("both paths agree past the 8-byte slices, at every length and alignment")
    func pathsAgree() {
        let bytes = (0..<4099).map { UInt8(truncatingIfNeeded: $0 &* 131 ^ $0 >> 5) }
        for start in 0..<8 {
            for length in [0, 1, 7, 8, 9, 63, 64, 65, 4091 - start] {
                let piece = Array(bytes[start..<start + length])
                #expect(CRC32C.checksum(piece) == CRC32C.portableChecksum(piece))
            }
        }
    }
}
