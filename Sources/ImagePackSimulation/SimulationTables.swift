import ImagePack

/// The splitmix64 finalizer: a cheap, well-mixed hash of 64 bits.
@inline(__always)
func simMix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A hash of two words; `a` is a key (seed, profile, domain), `b` an index.
@inline(__always)
func simHash(_ a: UInt64, _ b: UInt64) -> UInt64 { simMix(a ^ simMix(b &+ 0x632B_E59B_D9B4_E019)) }

/// xoshiro256**, seeded through splitmix64: fast, and good enough that zstd finds nothing in its output.
struct SimRandom {
    var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    @inline(__always)
    init(key: UInt64) {
        s0 = simMix(key)
        s1 = simMix(key &+ 0x9E37_79B9_7F4A_7C15)
        s2 = simMix(key &+ 0x3C6E_F372_FE94_F82A)
        s3 = simMix(key &+ 0xDAA6_6D2C_7DDF_743F)
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// A value in 0 ..< bound (bound small; the slight bias does not matter here).
    @inline(__always)
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }
}

/// Tables the generators copy from, built once per disk from its seed and never changed after:
/// a vocabulary of text tokens with Zipf-like frequencies and preferred followers, and a set of
/// machine-code-like fragments. Shared read-only between threads.
final class SimulationTables: @unchecked Sendable {
    /// Number of text tokens.
    static let tokenCount = 4096
    /// Number of machine-code fragments.
    static let fragmentCount = 1024
    /// Preferred followers per token.
    static let followers = 4

    /// 16-byte slots: up to 15 bytes of token text, the length in byte 15.
    let tokens: UnsafeMutableRawPointer
    /// A 16-bit uniform draw to a token index, Zipf-distributed (common words first).
    let tokenPick: UnsafeMutablePointer<UInt16>
    /// Same, over word tokens only (no line breaks): for log lines and names.
    let wordPick: UnsafeMutablePointer<UInt16>
    /// `followers` likely next tokens for each token, so phrases recur as in real text.
    let follow: UnsafeMutablePointer<UInt16>
    /// 8-byte slots: up to 7 bytes of code, the length in byte 7.
    let fragments: UnsafeMutableRawPointer
    /// A 16-bit uniform draw to a fragment index, skewed.
    let fragmentPick: UnsafeMutablePointer<UInt16>

    init(seed: UInt64) {
        var rng = SimRandom(key: simHash(seed, 0x7AB1E5))
        let n = Self.tokenCount
        tokens = .allocate(byteCount: n * 16, alignment: 16)
        tokens.initializeMemory(as: UInt8.self, repeating: 0, count: n * 16)
        tokenPick = .allocate(capacity: 65536)
        wordPick = .allocate(capacity: 65536)
        follow = .allocate(capacity: n * Self.followers)
        fragments = .allocate(byteCount: Self.fragmentCount * 8, alignment: 8)
        fragments.initializeMemory(as: UInt8.self, repeating: 0, count: Self.fragmentCount * 8)
        fragmentPick = .allocate(capacity: 65536)

        // Vocabulary: rank 0 is the most frequent. Frequent words are short, as in real text.
        var isWord = [Bool](repeating: true, count: n)
        let fixed: [String] = [
            "\n", "the ", "= ", "\n    ", "a ", "to ", "of ", "{\n", "}\n", "# ", "in ", "if ", "is ", "/", ", ",
            "0 ", "1 ", "\n        ", "(", ") ", "and ", "for ", "return ", "; ", ": ", "not ", "true\n", "false\n",
            "- ", "int ", "\n\n", "self.", "error ", "value ", "[", "] ", "\"", "\" ", "null ", "on ", "off\n",
        ]
        let prefixes = ["/usr/lib/", "/etc/", "/var/log/", "/home/", "http://", "--", "0x", "$", "@", "<", "</"]
        let consonants: [UInt8] = Array("bcdfghklmnprstvwxyzbcdlmnprstst".utf8)
        let clusters = ["th", "st", "ch", "sh", "tr", "pr", "gr", "nd", "ng", "ck", "ll", "ss"]
        let vowels: [UInt8] = Array("aeiouaeioaeiy".utf8)
        var fixedIndex = 0
        for rank in 0..<n {
            var text: [UInt8]
            if fixedIndex < fixed.count, rank % 3 == 0 || rank < 4 {
                text = Array(fixed[fixedIndex].utf8)
                fixedIndex += 1
                if text.contains(10) { isWord[rank] = false }
            } else if rank > 150, rng.below(100) < 9 {
                // A number: sizes, ports, ids, versions.
                let digits = 1 + Int(rng.below(7))
                text = (0..<digits).map { _ in UInt8(48 + rng.below(10)) }
                text.append(rng.below(4) == 0 ? UInt8(ascii: ".") : UInt8(ascii: " "))
            } else {
                // A word of syllables; the length grows with the rank.
                var length = 2
                var r = rank
                while r > 0 { length += 1; r >>= 2 }
                length = max(2, min(12, length - 1 + Int(rng.below(4)) - 1))
                text = []
                if rank > 300, rng.below(100) < 5 { text += Array(prefixes[Int(rng.below(UInt64(prefixes.count)))].utf8) }
                while text.count < length {
                    if rng.below(5) == 0 { text += Array(clusters[Int(rng.below(UInt64(clusters.count)))].utf8) }
                    else { text.append(consonants[Int(rng.below(UInt64(consonants.count)))]) }
                    text.append(vowels[Int(rng.below(UInt64(vowels.count)))])
                }
                if rng.below(8) == 0 { text[0] &-= 32 }  // Capitalized
                switch rng.below(24) {
                case 0: text += Array(".\n".utf8); isWord[rank] = false
                case 1: text += Array("_".utf8)
                case 2: text += Array("(".utf8)
                case 3: text += Array(", ".utf8)
                case 4: text += Array("=".utf8)
                case 5: text += Array(".".utf8)
                default: text.append(UInt8(ascii: " "))
                }
            }
            text = Array(text.prefix(15))
            let slot = tokens + rank * 16
            for (i, byte) in text.enumerated() { slot.storeBytes(of: byte, toByteOffset: i, as: UInt8.self) }
            slot.storeBytes(of: UInt8(text.count), toByteOffset: 15, as: UInt8.self)
        }

        // Zipf (s = 1) over the ranks, as 65536 slots of a lookup table.
        Self.fillPick(tokenPick, count: n, exponent: 1.0) { _ in true }
        Self.fillPick(wordPick, count: n, exponent: 1.0) { isWord[$0] }
        for i in 0..<(n * Self.followers) {
            // Followers lean to frequent tokens but reach the whole vocabulary.
            let u = Double(rng.below(1 << 20)) / Double(1 << 20)
            follow[i] = UInt16(min(n - 1, Int(Double(n) * u * u * u)))
        }

        // Machine code: opcode-like bytes from a skewed set, zeros, and some arbitrary bytes.
        let common: [UInt8] = [
            0x48, 0x89, 0x8B, 0x00, 0xE8, 0x0F, 0xFF, 0x83, 0x85, 0x4C, 0x8D, 0x74, 0x75, 0x44, 0x24, 0xC3,
            0x31, 0xC0, 0x41, 0x55, 0x5D, 0x45, 0x84, 0x01, 0x10, 0x08, 0xEB, 0x39, 0x49, 0xF8, 0x66, 0x90,
        ]
        for f in 0..<Self.fragmentCount {
            let length = 1 + Int(min(rng.below(7), rng.below(7)) + rng.below(2))
            let slot = fragments + f * 8
            for i in 0..<min(length, 7) {
                let u = rng.below(100)
                let byte: UInt8 =
                    u < 60 ? common[Int(min(rng.below(32), rng.below(32)))]
                    : u < 80 ? 0 : UInt8(truncatingIfNeeded: rng.next())
                slot.storeBytes(of: byte, toByteOffset: i, as: UInt8.self)
            }
            slot.storeBytes(of: UInt8(min(length, 7)), toByteOffset: 7, as: UInt8.self)
        }
        Self.fillPick(fragmentPick, count: Self.fragmentCount, exponent: 1.1) { _ in true }
    }

    deinit {
        tokens.deallocate()
        tokenPick.deallocate()
        wordPick.deallocate()
        follow.deallocate()
        fragments.deallocate()
        fragmentPick.deallocate()
    }

    /// Fills a 65536-slot table so that a uniform 16-bit draw gives rank r with weight 1/(r+1)^s,
    /// over the ranks `allowed` accepts; every allowed rank gets at least one slot.
    private static func fillPick(
        _ table: UnsafeMutablePointer<UInt16>, count: Int, exponent: Double, allowed: (Int) -> Bool
    ) {
        let ranks = (0..<count).filter(allowed)
        let weights = ranks.map { 1.0 / system_pow(Double($0 + 1), exponent) }
        let total = weights.reduce(0, +)
        let spare = 65536 - ranks.count
        var slot = 0
        var carried = 0.0
        for (i, rank) in ranks.enumerated() {
            carried += weights[i] / total * Double(spare)
            let extra = Int(carried.rounded(.down))
            carried -= Double(extra)
            for _ in 0..<(1 + extra) where slot < 65536 {
                table[slot] = UInt16(rank)
                slot += 1
            }
        }
        while slot < 65536 {
            table[slot] = UInt16(ranks[0])
            slot += 1
        }
    }
}
