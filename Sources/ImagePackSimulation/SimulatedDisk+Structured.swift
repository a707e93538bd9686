import ImagePack

/// Structured blocks: file-system metadata, database pages and the partition table. Field
/// layouts follow ext4, PostgreSQL and GPT loosely: the point is records with counters, small
/// integers and zero padding that compress as the real ones do, not blocks a tool could mount.
extension SimulatedContent {
    // MARK: File-system metadata

    /// An inode table, directory entries, a bitmap, group descriptors or a superblock.
    func metadata(into out: UnsafeMutableRawPointer) {
        out.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        var rng = SimRandom(key: key)
        switch key >> 61 {
        case 0, 1, 2: inodeTable(out, &rng)
        case 3, 4: directory(out, &rng)
        case 5: bitmap(out, &rng)
        case 6: groupDescriptors(out, &rng)
        default: superblock(out, &rng)
        }
    }

    /// File, directory, executable and symbolic-link modes, files most often.
    private static let inodeModes: [UInt64] = [0x81A4, 0x81A4, 0x81A4, 0x41ED, 0x81ED, 0xA1FF, 0x81A4, 0x8180]

    private func inodeTable(_ out: UnsafeMutableRawPointer, _ rng: inout SimRandom) {
        let baseTime = 1_600_000_000 &+ (counter &* 13) % 90_000_000
        for i in 0..<16 {
            let r = rng.next()
            guard r & 7 != 0 else { continue }  // a free inode
            let inode = out + i * 256
            let mode = Self.inodeModes[Int(r >> 3 & 7)]
            let size = mode == 0x41ED ? 4096 : (r >> 8) & ((1 << ((r >> 60) + 6)) - 1)
            let time = baseTime &+ (r >> 20) % 5_000_000
            inode.put16(mode, at: 0)
            inode.put16(r >> 12 & 3 == 0 ? 1000 : 0, at: 2)
            inode.put32(size, at: 4)
            inode.put32(time &+ (r >> 40) % 100_000, at: 8)
            inode.put32(time, at: 12)
            inode.put32(time, at: 16)
            inode.put16(r >> 12 & 3 == 0 ? 1000 : 0, at: 24)
            inode.put16(mode == 0x41ED ? 2 + (r >> 14) % 6 : 1, at: 26)
            inode.put32((size + 4095) / 4096 * 8, at: 28)
            inode.put32(0x80000, at: 32)  // extents
            inode.put16(0xF30A, at: 40)  // extent header magic
            inode.put16(1, at: 42)
            inode.put16(4, at: 44)
            inode.put32((size + 4095) / 4096, at: 56)
            inode.put32(counter &* 64 &+ UInt64(i) &* 4 &+ 0x8000, at: 60)
            inode.put32(rng.next(), at: 100)  // generation
            inode.put16(32, at: 128)
            inode.put16(r >> 44, at: 130)  // checksum
            inode.put32(time, at: 144)
        }
    }

    private func directory(_ out: UnsafeMutableRawPointer, _ rng: inout SimRandom) {
        var position = 0
        var last = 0
        let base = counter &* 16
        while position <= 4096 - 24 {
            let r = rng.next()
            let token = Int(tables.wordPick[Int(truncatingIfNeeded: r & 0xFFFF)])
            let slot = UnsafeRawPointer(tables.tokens + token * 16)
            let length = max(1, Int(slot.load(fromByteOffset: 15, as: UInt8.self)) - 1)
            let record = (8 + length + 3) & ~3
            out.put32(base &+ (r >> 16) % 4096, at: position)
            out.put16(UInt64(record), at: position + 4)
            out.storeBytes(of: UInt8(length), toByteOffset: position + 6, as: UInt8.self)
            out.storeBytes(of: r >> 40 & 3 == 0 ? 2 : 1, toByteOffset: position + 7, as: UInt8.self)
            (out + position + 8).copyMemory(from: slot, byteCount: length)
            last = position
            position += record
        }
        out.put16(UInt64(4096 - last), at: last + 4)  // the last entry spans the rest of the block
    }

    private func bitmap(_ out: UnsafeMutableRawPointer, _ rng: inout SimRandom) {
        let full = Int(key >> 20 & 0xFFF)
        let mixed = min(4096 - full, Int(key >> 32 & 0x3FF))
        out.initializeMemory(as: UInt8.self, repeating: 0xFF, count: full)
        var offset = full
        while offset < full + mixed {
            let r = rng.next() | rng.next()  // mostly used
            for k in 0..<min(8, full + mixed - offset) {
                out.storeBytes(of: UInt8(truncatingIfNeeded: r >> (8 * UInt64(k))), toByteOffset: offset + k, as: UInt8.self)
            }
            offset += 8
        }
    }

    private func groupDescriptors(_ out: UnsafeMutableRawPointer, _ rng: inout SimRandom) {
        for i in 0..<64 {
            let group = counter &* 64 &+ UInt64(i)
            let r = rng.next()
            let d = out + i * 64
            d.put32(group &* 32768 &+ 1025, at: 0)
            d.put32(group &* 32768 &+ 1041, at: 4)
            d.put32(group &* 32768 &+ 1057, at: 8)
            d.put16(r % 32768, at: 12)
            d.put16(r >> 16 % 8192, at: 14)
            d.put16(r >> 32 % 64, at: 16)
            d.put16(4, at: 18)
            d.put16(r >> 48, at: 30)
        }
    }

    private func superblock(_ out: UnsafeMutableRawPointer, _ rng: inout SimRandom) {
        let s = out + 1024
        let r = rng.next()
        s.put32(655_360, at: 0)
        s.put32(2_621_440, at: 4)
        s.put32(131_072, at: 8)
        s.put32(r % 2_000_000, at: 12)
        s.put32(r >> 32 % 600_000, at: 16)
        s.put32(2, at: 24)  // log block size: 4 KiB
        s.put32(32768, at: 32)
        s.put32(8192, at: 40)
        s.put32(1_700_000_000 &+ counter % 1_000_000, at: 44)
        s.put16(0xEF53, at: 56)
        s.put16(1, at: 58)
        s.put32(1, at: 76)
        s.put16(256, at: 88)
        s.put64(rng.next(), at: 104)  // UUID
        s.put64(rng.next(), at: 112)
        for (i, byte) in "rootfs".utf8.enumerated() { s.storeBytes(of: byte, toByteOffset: 120 + i, as: UInt8.self) }
        s.storeBytes(of: UInt8(ascii: "/"), toByteOffset: 136, as: UInt8.self)
    }

    // MARK: Database

    /// A heap page: header, line pointers growing up, rows growing down, free space between.
    func databasePage(into out: UnsafeMutableRawPointer) {
        var rng = SimRandom(key: key)
        let r0 = rng.next()
        out.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        out.put64(counter << 24 | r0 & 0xFF_FFFF, at: 0)  // LSN
        out.put16(r0 >> 24, at: 8)  // checksum
        out.put16(4096, at: 16)
        out.put16(0x2004, at: 18)
        let freeSpace = Int(r0 >> 40 % 1200)
        var lower = 24
        var upper = 4096
        var row: UInt64 = 0
        let xmin = 700_000 &+ counter &* 8
        while true {
            let r = rng.next()
            // Pick the text column first to know the row's length.
            let words = 1 + Int(r & 3)
            var tokens = (0, 0, 0, 0)
            var textLength = 0
            var bits = r >> 2
            for w in 0..<words {
                let t = Int(tables.wordPick[Int(truncatingIfNeeded: bits & 0xFFFF)])
                bits >>= 16
                switch w {
                case 0: tokens.0 = t
                case 1: tokens.1 = t
                case 2: tokens.2 = t
                default: tokens.3 = t
                }
                textLength += Int(tables.tokens.load(fromByteOffset: t * 16 + 15, as: UInt8.self))
            }
            let textStart = 24
            let columns = (textStart + 1 + textLength + 7) & ~7
            let length = columns + 32
            guard upper - length >= lower + 4 + freeSpace else { break }
            upper -= length
            let tuple = out + upper
            tuple.put32(xmin &+ row / 4, at: 0)
            tuple.put32(counter, at: 12)
            tuple.put16(row + 1, at: 16)
            tuple.put16(6, at: 18)
            tuple.put16(0x0902, at: 20)
            tuple.storeBytes(of: 24, toByteOffset: 22, as: UInt8.self)
            tuple.storeBytes(of: UInt8(truncatingIfNeeded: textLength << 1 | 1), toByteOffset: textStart, as: UInt8.self)
            // The text column; its last 16-byte store may spill past its end, so the fixed
            // columns are written after it and a zero word clears the padding.
            var writer = SimBlockWriter(tuple + textStart + 1, end: length - textStart - 1)
            for w in 0..<words {
                let t = w == 0 ? tokens.0 : w == 1 ? tokens.1 : w == 2 ? tokens.2 : tokens.3
                let slot = UnsafeRawPointer(tables.tokens + t * 16)
                writer.append16(slot, count: Int(slot.load(fromByteOffset: 15, as: UInt8.self)))
            }
            let r2 = rng.next()
            tuple.put64(0, at: textStart + 1 + textLength)
            tuple.put64(counter &* 64 &+ row, at: columns)  // id
            tuple.put32(r2 % 1000, at: columns + 8)  // quantity
            tuple.put32(r2 >> 10 & 7, at: columns + 12)  // status
            tuple.put64(1_700_000_000_000_000 &+ counter &* 1_000_000 &+ (r2 >> 16) % 1_000_000, at: columns + 16)
            tuple.put64(r2 >> 40 % 100_000, at: columns + 24)  // amount in cents
            out.put32(UInt64(upper) | 1 << 15 | UInt64(length) << 17, at: lower)
            lower += 4
            row += 1
        }
        out.put16(UInt64(lower), at: 12)
        out.put16(UInt64(upper), at: 14)
    }

    // MARK: Partition table

    /// Block 0: a protective MBR and a GPT header with an EFI system and a root partition.
    /// Fields that depend on the disk's size are left zero so the content does not.
    static func partitionTable(key: UInt64, into out: UnsafeMutableRawPointer) {
        out.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        var rng = SimRandom(key: key)
        out.put32(rng.next(), at: 440)  // disk signature
        out.put64(0xFFFF_FFEE_0002_0000, at: 446)  // status, CHS, type 0xEE
        out.put64(0xFFFF_FFFF_0000_0001, at: 454)  // first LBA 1, sectors: all
        out.put16(0xAA55, at: 510)
        let gpt = out + 512
        for (i, byte) in "EFI PART".utf8.enumerated() { gpt.storeBytes(of: byte, toByteOffset: i, as: UInt8.self) }
        gpt.put32(0x0001_0000, at: 8)
        gpt.put32(92, at: 12)
        gpt.put32(rng.next(), at: 16)  // header CRC
        gpt.put64(1, at: 24)
        gpt.put64(34, at: 40)
        gpt.put64(rng.next(), at: 56)  // disk GUID
        gpt.put64(rng.next(), at: 64)
        gpt.put64(2, at: 72)
        gpt.put32(128, at: 80)
        gpt.put32(128, at: 84)
        gpt.put32(rng.next(), at: 88)  // entries CRC
        // Entry 1: EFI system partition, C12A7328-F81F-11D2-BA4B-00A0C93EC93B, 256 MiB at 1 MiB.
        let esp = out + 1024
        esp.put64(0x11D2_F81F_C12A_7328, at: 0)
        esp.put64(0x3BC9_3EC9_A000_4BBA, at: 8)
        esp.put64(rng.next(), at: 16)
        esp.put64(rng.next(), at: 24)
        esp.put64(2048, at: 32)
        esp.put64(526_335, at: 40)
        for (i, unit) in "EFI System".utf16.enumerated() { esp.put16(UInt64(unit), at: 56 + 2 * i) }
        // Entry 2: Linux file system, 0FC63DAF-8483-4772-8E79-3D69D8477DE4, from 257 MiB.
        let root = out + 1152
        root.put64(0x4772_8483_0FC6_3DAF, at: 0)
        root.put64(0xE47D_47D8_693D_798E, at: 8)
        root.put64(rng.next(), at: 16)
        root.put64(rng.next(), at: 24)
        root.put64(526_336, at: 32)
        for (i, unit) in "root".utf16.enumerated() { root.put16(UInt64(unit), at: 56 + 2 * i) }
    }
}
