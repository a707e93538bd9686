import ImagePack
import Synchronization

/// What a server remembers of the chunks it decoded, so that decoding one again costs less:
/// a server decodes the same chunk many times over its life (every copy of a disk larger than
/// the cache, every instance booted from it), and after the second decode hashes the chunk's
/// record (a payload's bytes) instead of its content (see ``VerifiedRecord`` for why that
/// guarantees as much).
///
/// The first decode of a chunk checks the content only, so a server that reads each chunk once
/// does no extra work; the second checks the content and records the proof (the record's
/// SHA-256, hashed once more: 0.28 bytes per content byte on the ext4 disk); later ones hash the
/// record and compare. Memory: one bit per chunk, and 72 bytes per chunk decoded twice (18 KiB
/// for the 262 stored chunks of a 2 GiB disk).
final class RecordMemo: Sendable {
    private struct State {
        /// Bit `i - base` is set once chunk `i` was decoded and checked.
        var decoded: [UInt64]
        var proofs: [Int: VerifiedRecord] = [:]
        /// Decodes that trusted a proof, and proofs made.
        var trusted = 0
        var recorded = 0
    }

    private let base: Int
    private let state: Mutex<State>

    /// A memo for the chunks `chunks` (entry numbers of the reader).
    init(chunks: Range<Int>) {
        base = chunks.lowerBound
        state = Mutex(State(decoded: Array(repeating: 0, count: (chunks.count + 63) / 64)))
    }

    /// How the next decode of chunk `index` should be checked.
    func check(for index: Int) -> RecordCheck {
        state.withLock { s in
            if let proof = s.proofs[index] { return .trusting(proof) }
            let (word, bit) = (index - base).quotientAndRemainder(dividingBy: 64)
            return s.decoded[word] & (1 << bit) != 0 ? .contentAndRecord : .content
        }
    }

    /// Notes what a successful decode of chunk `index` checked. A failed decode notes nothing: a
    /// proof already held stays, for bytes that may come back (a file restored), and it can only
    /// match those bytes.
    func note(_ outcome: RecordCheckOutcome, for index: Int) {
        state.withLock { s in
            let (word, bit) = (index - base).quotientAndRemainder(dividingBy: 64)
            s.decoded[word] |= 1 << bit
            switch outcome {
            case .contentChecked: break
            case .recorded(let proof):
                s.proofs[index] = proof
                s.recorded += 1
            case .trusted: s.trusted += 1
            }
        }
    }

    /// Decodes that trusted a proof instead of hashing the content, and proofs recorded.
    var statistics: (trusted: Int, recorded: Int) { state.withLock { ($0.trusted, $0.recorded) } }
}
