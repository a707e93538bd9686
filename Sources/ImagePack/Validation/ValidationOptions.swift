/// How ``ImageValidator`` works through an image: the options every read shares, plus what only
/// validation has.
public struct ValidationOptions: Sendable {
    /// Limits, decoding threads and cancellation (polled between chunks; when it fires,
    /// validation stops with `.cancelled`). The progress handler is not called.
    public var read: ReadOptions
    /// The report keeps at most this many problems; past it, validation stops early and the report
    /// says its list is truncated.
    public var maxProblems: Int
    /// Decode and hash every chunk (rules V26-V28). Without it only structure and chunk headers are checked.
    public var checkChunks: Bool
    /// Public keys to check signatures with (rule V48): a SIGN record by one of them that does not
    /// verify against the recomputed root digest is a problem. Signatures by other keys count for
    /// nothing, and an image signed by none of these keys is still valid: whether an image is
    /// *trusted* is ``TrustPolicy/check(_:)``'s question, not a rule's.
    public var trust: TrustPolicy = TrustPolicy()
    /// Called in file order with each chunk whose payload decoded and matched its digest, and its
    /// content: how ``ImageRecovery`` salvages what a damaged image still holds from the same
    /// record walk (spec §12.3) rather than a walk of its own.
    var verifiedChunk: (@Sendable (_ header: ChunkHeader, _ content: UnsafeRawBufferPointer) -> Void)?

    public init(read: ReadOptions = .init(), maxProblems: Int = 1000, checkChunks: Bool = true) {
        self.read = read
        self.maxProblems = max(1, maxProblems)
        self.checkChunks = checkChunks
    }

    /// Bounds applied before anything is allocated or decoded (spec §10).
    public var limits: ImageLimits { read.limits }
}
