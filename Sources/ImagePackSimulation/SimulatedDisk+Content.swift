import ImagePack

/// Writes bytes into one 4 KiB block: whole 8- and 16-byte stores while there is room, exact
/// copies near the end, so no generator ever writes past its block.
struct SimBlockWriter {
    let out: UnsafeMutableRawPointer
    let end: Int
    var position = 0

    init(_ out: UnsafeMutableRawPointer, end: Int = 4096) {
        self.out = out
        self.end = end
    }

    var isFull: Bool { position >= end }

    /// Appends the first `count` (at most 16) bytes of a 16-byte slot.
    @inline(__always)
    mutating func append16(_ slot: UnsafeRawPointer, count: Int) {
        if position &+ 16 <= end {
            out.storeBytes(of: slot.loadUnaligned(as: UInt64.self), toByteOffset: position, as: UInt64.self)
            out.storeBytes(of: slot.loadUnaligned(fromByteOffset: 8, as: UInt64.self), toByteOffset: position &+ 8, as: UInt64.self)
            position &+= count
        } else {
            let n = min(count, end - position)
            (out + position).copyMemory(from: slot, byteCount: n)
            position += n
        }
    }

    /// Appends the low `count` (at most 8) bytes of `value`, little-endian.
    @inline(__always)
    mutating func append8(_ value: UInt64, count: Int) {
        if position &+ 8 <= end {
            out.storeBytes(of: value.littleEndian, toByteOffset: position, as: UInt64.self)
            position &+= count
        } else {
            var v = value
            let n = min(count, end - position)
            for i in 0..<n {
                out.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: position + i, as: UInt8.self)
                v >>= 8
            }
            position += n
        }
    }
}

/// Little-endian field stores at fixed offsets, for structured blocks.
extension UnsafeMutableRawPointer {
    @inline(__always) func put16(_ v: UInt64, at offset: Int) {
        storeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian, toByteOffset: offset, as: UInt16.self)
    }
    @inline(__always) func put32(_ v: UInt64, at offset: Int) {
        storeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian, toByteOffset: offset, as: UInt32.self)
    }
    @inline(__always) func put64(_ v: UInt64, at offset: Int) {
        storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt64.self)
    }
}

/// The generators of a ``SimulatedDisk``'s content classes. Each fills exactly one 4 KiB block
/// from its key (a PRNG seed) and counter (the block's place, for inode numbers, times and row ids).
struct SimulatedContent {
    let tables: SimulationTables
    let key: UInt64
    let counter: UInt64

    /// Chance, out of 32, that a text token is one of the previous token's preferred followers.
    static let followOdds: UInt64 = 14

    // MARK: Text

    /// The token that follows `previous`, from 21 bits of a draw. (Table pointers are passed in
    /// because the compiler cannot hoist loads of `tables` past stores through raw pointers.)
    @inline(__always)
    static func nextToken(
        _ bits: UInt64, after previous: Int, pick: UnsafeMutablePointer<UInt16>, follow: UnsafeMutablePointer<UInt16>
    ) -> Int {
        let u = Int(truncatingIfNeeded: bits & 0xFFFF)
        let followed = Int(follow[previous &* SimulationTables.followers &+ (u & 3)])
        let picked = Int(pick[u])
        return (bits >> 16) & 31 < followOdds ? followed : picked
    }

    @inline(__always)
    static func appendToken(_ token: Int, from tokens: UnsafeMutableRawPointer, to writer: inout SimBlockWriter) {
        let slot = UnsafeRawPointer(tokens + token &* 16)
        writer.append16(slot, count: Int(slot.load(fromByteOffset: 15, as: UInt8.self)))
    }

    /// Config files, source code, prose: words from the vocabulary, with recurring phrases.
    func text(into out: UnsafeMutableRawPointer) {
        var rng = SimRandom(key: key)
        var writer = SimBlockWriter(out)
        let (pick, follow, tokens) = (tables.tokenPick, tables.follow, tables.tokens)
        while !writer.isFull {
            // Three tokens per draw; the first is drawn afresh, so that no chain of dependent
            // table loads runs from one draw to the next (that chain would halve the speed).
            let r = rng.next()
            let first = Int(pick[Int(truncatingIfNeeded: r & 0xFFFF)])
            let second = Self.nextToken(r >> 21, after: first, pick: pick, follow: follow)
            let third = Self.nextToken(r >> 42, after: second, pick: pick, follow: follow)
            Self.appendToken(first, from: tokens, to: &writer)
            Self.appendToken(second, from: tokens, to: &writer)
            Self.appendToken(third, from: tokens, to: &writer)
        }
    }

    /// Syslog-style lines: a timestamp that advances through the block, a host and a service, then words.
    func log(into out: UnsafeMutableRawPointer) {
        var rng = SimRandom(key: key)
        var writer = SimBlockWriter(out)
        var time = 1_690_000_000 &+ (counter &* 97) % 40_000_000
        let (pick, follow, tokens) = (tables.wordPick, tables.follow, tables.tokens)
        let host = Int(pick[Int(truncatingIfNeeded: key & 0x3FF)])
        var previous = 0
        while !writer.isFull {
            let r = rng.next()
            time &+= r & 3
            let (stamp, stampTail) = Self.syslogTime(time)
            writer.append8(stamp, count: 8)
            writer.append8(stampTail, count: 8)
            Self.appendToken(host, from: tokens, to: &writer)
            // The service: one of the 64 most common words.
            Self.appendToken(Int(pick[Int(truncatingIfNeeded: (r >> 2) & 0x3F)]), from: tokens, to: &writer)
            var words = 4 + (r >> 8) % 12
            var bits = rng.next()
            var available = 3
            while words > 0 && !writer.isFull {
                if available == 0 {
                    bits = rng.next()
                    available = 3
                }
                previous = Self.nextToken(bits, after: previous, pick: pick, follow: follow)
                Self.appendToken(previous, from: tokens, to: &writer)
                bits >>= 21
                available -= 1
                words -= 1
            }
            writer.append8(0x0A, count: 1)
        }
    }

    /// "Mmm dd hh:mm:ss " as two little-endian words.
    static func syslogTime(_ t: UInt64) -> (UInt64, UInt64) {
        let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
        let day = t / 86400
        let month = Int(day / 30 % 12)
        let dom = day % 28 + 1
        let s = t % 86400
        let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60)
        let m0 = months.utf8Start
        func digit(_ v: UInt64) -> UInt64 { 48 + v }
        let first: UInt64 =
            UInt64(m0[month * 3]) | UInt64(m0[month * 3 + 1]) << 8 | UInt64(m0[month * 3 + 2]) << 16 | 32 << 24
            | digit(dom / 10) << 32 | digit(dom % 10) << 40 | 32 << 48 | digit(h / 10) << 56
        let second: UInt64 =
            digit(h % 10) | 58 << 8 | digit(m / 10) << 16 | digit(m % 10) << 24 | 58 << 32
            | digit(sec / 10) << 40 | digit(sec % 10) << 48 | 32 << 56
        return (first, second)
    }

    // MARK: Binary

    /// ELF-like content: mostly machine code (skewed opcode bytes, small displacements, zeros),
    /// sometimes a pointer table, a string table, or code followed by zero padding.
    func binary(into out: UnsafeMutableRawPointer) {
        switch key >> 60 {
        case 11, 12:
            // A table of pointers into one mapping, mostly increasing.
            var rng = SimRandom(key: key)
            var pointer: UInt64 = 0x0000_5555_5540_0000 &+ (counter << 12)
            for offset in stride(from: 0, to: 4096, by: 8) {
                let r = rng.next()
                pointer &+= (r & 7 == 0) ? r >> 48 : (r >> 8) & 0xF8
                out.put64(r & 0x30 == 0 ? 0 : pointer, at: offset)
            }
        case 13:
            text(into: out)
        case 14, 15:
            let cut = 1024 + Int((key >> 20) % 2560)
            code(into: out, end: cut)
            (out + cut).initializeMemory(as: UInt8.self, repeating: 0, count: 4096 - cut)
        default:
            code(into: out, end: 4096)
        }
    }

    func code(into out: UnsafeMutableRawPointer, end: Int) {
        var rng = SimRandom(key: key)
        var writer = SimBlockWriter(out, end: end)
        let pick = tables.fragmentPick
        let fragments = UnsafeRawPointer(tables.fragments)
        while !writer.isFull {
            let r = rng.next()
            instruction(r, r, fragments: fragments, pick: pick, to: &writer)
            instruction(r >> 32, r, fragments: fragments, pick: pick, to: &writer)
        }
    }

    /// One instruction: a fragment from 16 bits of `bits`, then maybe an immediate chosen by the next 16.
    @inline(__always)
    func instruction(
        _ bits: UInt64, _ r: UInt64, fragments: UnsafeRawPointer, pick: UnsafeMutablePointer<UInt16>,
        to writer: inout SimBlockWriter
    ) {
        let slot = fragments + Int(pick[Int(truncatingIfNeeded: bits & 0xFFFF)]) &* 8
        let word = slot.loadUnaligned(as: UInt64.self)
        writer.append8(word, count: Int(word >> 56))
        let immediate = (bits >> 16) & 0xFFFF
        switch immediate >> 10 {
        case 0..<16: writer.append8(immediate & 0x3FF, count: 4)  // small displacement
        case 16..<26: writer.append8(0xFFFF_FC00 | immediate, count: 4)  // negative displacement
        case 26..<30: writer.append8(simMix(r ^ bits), count: 4)  // call target, address
        default: break
        }
    }

    // MARK: Compressed

    /// Already-compressed data (archives, images, packages): random bytes.
    func random(into out: UnsafeMutableRawPointer) {
        var rng = SimRandom(key: key)
        for offset in stride(from: 0, to: 4096, by: 32) {
            out.put64(rng.next(), at: offset)
            out.put64(rng.next(), at: offset + 8)
            out.put64(rng.next(), at: offset + 16)
            out.put64(rng.next(), at: offset + 24)
        }
    }
}
