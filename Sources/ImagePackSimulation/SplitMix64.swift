import ImagePack

/// splitmix64: a tiny, fast, seedable generator for reproducible choices (random read offsets in
/// the demo, property-style tests). Not for anything secret.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return simMix(state &- 0x9E37_79B9_7F4A_7C15)
    }

    /// A value in `0..<bound` (bound > 0); the slight modulo bias is irrelevant for test choices.
    public mutating func next(below bound: UInt64) -> UInt64 { next() % bound }
}
