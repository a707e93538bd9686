/// A stream whose bytes are held in an array: small sections, tests, generated content.
/// Named for what it holds (bytes), so it is not mistaken for a guest-memory stream.
public struct BytesSource: StreamSource {
    package let bytes: [UInt8]
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
