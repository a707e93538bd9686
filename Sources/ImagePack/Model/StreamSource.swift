/// Where a stream's bytes come from when an image is written: a raw file, bytes in memory, a
/// simulated instance or an imported foreign image. Named for the stream, not the disk, because it
/// feeds every stream kind: disks, guest memory and NVRAM sections alike.
///
/// The writer reads each source once, front to back, in chunk-sized pieces; sources backed by a
/// seekable file may also be read at random. Implementations must be safe to share across threads
/// for reading at distinct offsets (the writer may prefetch on another thread).
public protocol StreamSource: Sendable {
    /// Size of the stream in bytes.
    var logicalSize: UInt64 { get }

    /// Fills `buffer` with the bytes at `offset ..< offset + buffer.count`.
    /// The range never extends past ``logicalSize``.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError)

    /// Whether the range is known to read as zeros without reading it (a hole in a sparse file,
    /// an unallocated cluster of a qcow2 file). Returning false is always correct.
    func isKnownZero(offset: UInt64, length: Int) -> Bool

    /// What changed in the source since it was opened, in words ("its size went from ... to ...
    /// bytes"), or nil if nothing did. The writer asks after it has read the source: a source that
    /// changed while it was read (a disk in use) gives an image of a state that never existed, so
    /// the write fails with `.sourceChanged` unless ``WriterOptions/allowChangingSource`` is set.
    /// Sources that cannot change (bytes in memory, a simulation) keep the default, nil.
    func changeSinceOpened() -> String?
}

extension StreamSource {
    public func isKnownZero(offset: UInt64, length: Int) -> Bool { false }
    public func changeSinceOpened() -> String? { nil }
}
