/// Where a stream's bytes come from when an image is written: a raw file, memory, a simulated
/// instance or an imported foreign image.
///
/// The writer reads each source once, front to back, in chunk-sized pieces; sources backed by a
/// seekable file may also be read at random. Implementations must be safe to share across threads
/// for reading at distinct offsets (the writer may prefetch on another thread).
public protocol DiskSource: Sendable {
    /// Size of the stream in bytes.
    var logicalSize: UInt64 { get }

    /// Fills `buffer` with the bytes at `offset ..< offset + buffer.count`.
    /// The range never extends past ``logicalSize``.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError)

    /// Whether the range is known to read as zeros without reading it (a hole in a sparse file,
    /// an unallocated cluster of a qcow2 file). Returning false is always correct.
    func isKnownZero(offset: UInt64, length: Int) -> Bool
}

extension DiskSource {
    public func isKnownZero(offset: UInt64, length: Int) -> Bool { false }
}

/// A stream held in memory.
public struct MemoryDiskSource: DiskSource {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var logicalSize: UInt64 { UInt64(bytes.count) }
    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        guard offset <= UInt64(bytes.count), buffer.count <= bytes.count - Int(offset) else {
            throw ImagePackError(.rangeOutOfBounds, "read of \(buffer.count) bytes at \(offset) is past the end (\(bytes.count))")
        }
        bytes.withUnsafeBytes { src in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[Int(offset)..<Int(offset) + buffer.count]))
        }
    }
}
