/// How a read works through an image: shared by ``ImageReader/verify(_:maxFailures:)``, the
/// extract functions, ``StreamingReader`` and (through ``ValidationOptions/read``) the validator.
public struct ReadOptions: Sendable {
    /// Bounds applied before anything is allocated or decoded (spec §10).
    public var limits: ImageLimits
    /// Threads that decode and hash chunks; 1 decodes on the calling thread.
    public var threads: Int
    /// Polled between chunks; when it fires, the read stops with `.cancelled`.
    public var cancellation: Cancellation?
    /// Called on the calling thread, in order, with the logical bytes done and the total (for
    /// verify, the stored chunks; for extract, the stream; for a streaming read, every stream).
    public var progress: ProgressHandler?
    /// For a delta image: its parent and the parent's own parents, in any order, each matched by
    /// root digest (spec §9.3, V49). Used by ``StreamingReader`` and the validator; an
    /// ``ImageReader`` takes its parents when it opens.
    public var parents: [ImageReader] = []

    public init(
        limits: ImageLimits = .init(), threads: Int = WriterOptions.defaultThreads, cancellation: Cancellation? = nil,
        progress: ProgressHandler? = nil, parents: [ImageReader] = []
    ) {
        self.parents = parents
        self.limits = limits
        self.threads = max(1, threads)
        self.cancellation = cancellation
        self.progress = progress
    }
}
