import ImagePack

/// Recomputes every CRC-32C of an image-shaped byte string: the header's, each structural
/// record's, each chunk record's payload and header CRC, and the footer's. A fuzzer cannot
/// guess a CRC, so without this nearly every mutation stops at the first checksum and the code
/// behind it is never reached. This is fuzzing tooling, not a reader: it trusts lengths only as
/// far as the buffer goes and stops at the first thing that does not look like a record.
enum ChecksumFixer {
    static func le<T: FixedWidthInteger>(_ b: [UInt8], _ at: Int, _: T.Type) -> T {
        var v: T = 0
        for k in 0..<MemoryLayout<T>.size { v |= T(b[at + k]) << (8 * k) }
        return v
    }

    static func put(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
    }

    static func crc(_ b: [UInt8], _ range: Range<Int>) -> UInt32 {
        b[range].withUnsafeBytes { CRC32C.checksum($0) }
    }

    /// Returns whether anything changed.
    static func fix(_ b: inout [UInt8]) -> Bool {
        let original = b
        guard b.count >= 64 else { return false }
        put(&b, 60, crc(b, 0..<60))
        var position = 64
        let footerStart = b.count >= 64 + 96 ? b.count - 96 : b.count
        while footerStart - position >= 16 {
            let type = le(b, position, UInt32.self)
            let length = le(b, position + 8, UInt64.self)
            guard length <= UInt64(footerStart - position - 16) else { break }
            let end = position + 16 + Int(length)
            switch type {
            case 0x4B4E_4843:  // CHNK
                if end - position >= 84 {
                    put(&b, position + 40, crc(b, position + 84..<end))
                    put(&b, position + 80, crc(b, position..<position + 80))
                }
            case 0x4154_454D, 0x4D52_5453, 0x544E_5250, 0x5844_4E49, 0x4E47_4953:  // META STRM PRNT INDX SIGN
                if length >= 4 { put(&b, end - 4, crc(b, position..<end - 4)) }
            default:
                break
            }
            position = end
        }
        if b.count >= 64 + 96 { put(&b, footerStart + 84, crc(b, footerStart..<footerStart + 84)) }
        return b != original
    }
}
