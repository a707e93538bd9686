/// What a streaming read does for the content of a `reference` chunk (spec §7.2, §12.1).
///
/// A reference's content is its target's, and the target came earlier in the input, up to
/// `maxReferenceDistance` (256 MiB by default) before it. A pipe cannot be read again, so a
/// consumer that needs the bytes handed to it must have the reader keep that much of the stored
/// data area in memory. Most consumers do not: checking an image needs only the target's header
/// (its content digest was verified when the target was read, and rule (d) makes the reference's
/// digest equal to it), and a consumer writing to files can read the content back from what it
/// already wrote. The choice is the consumer's, because only it knows where the content went.
public enum ReferenceContent: Sendable, Hashable {
    /// Keep the stored bytes of the last `maxReferenceDistance` of the data area and hand a
    /// reference's content over as ``StreamingEvent/data(stream:offset:bytes:)``, like any chunk.
    /// For consumers that cannot look back at what they were given (a closure that forwards the
    /// bytes, `cat -` to standard output). Costs up to the distance in memory.
    case keepWindow
    /// Keep only the headers of the records within the distance (bounded by records, not bytes)
    /// and hand a reference over as ``StreamingEvent/reference(_:)``, which names the content's
    /// earlier place instead of carrying it. For consumers that only check the image (`verify -`):
    /// every rule is still checked, since the target's content was verified when it was read.
    case notNeeded
    /// As ``notNeeded``, for consumers that copy the content from the place the event names in
    /// what they already wrote (``StreamingReader/extract(overwrite:destinations:approve:)``
    /// re-reads its own output files and checks the copy against the reference's digest).
    case rereadFromOutput

    /// Whether the reader keeps the stored bytes of the window.
    var keepsContent: Bool { self == .keepWindow }
}

/// A reference chunk handed over without its content (``ReferenceContent/notNeeded``,
/// ``ReferenceContent/rereadFromOutput``): `length` bytes of `stream` at `offset` are the bytes
/// the consumer was already given (as data, or as an earlier copy) at `sourceOffset` of `sourceStream`.
public struct ReferencedContent: Sendable, Equatable {
    /// Where the content belongs.
    public var stream: Int
    public var offset: UInt64
    public var length: UInt64
    /// Where the same content was handed over before: the reference's target chunk.
    public var sourceStream: Int
    public var sourceOffset: UInt64
    /// The content's SHA-256 (the reference's, equal to the target's): a consumer that re-reads the
    /// content checks it against this.
    public var contentDigest: Digest
    /// The file offset of the reference chunk's record, for errors.
    public var recordOffset: UInt64
}
