/// One stream of an image, as the source of another write: `flatten` writes a delta's content as
/// a full image, `rebase` writes it again on another parent. Reads go through ``ImageReader``, so
/// every chunk is verified (a delta's through its parents) on the way.
public struct ImageStreamSource: StreamSource {
    public let reader: ImageReader
    public let stream: Int

    public init(reader: ImageReader, stream: Int) {
        self.reader = reader
        self.stream = stream
    }

    public var logicalSize: UInt64 { reader.streams[stream].logicalSize }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        try reader.read(stream: stream, at: offset, into: buffer)
    }

    /// A range that only zero chunks cover reads as zeros without decoding.
    public func isKnownZero(offset: UInt64, length: Int) -> Bool {
        guard length > 0 else { return true }
        var i = reader.chunkIndex(stream: stream, offset: offset)
        let end = offset + UInt64(length)
        while i < reader.streamEntries[stream].upperBound {
            let entry = reader.entries[i]
            guard entry.logicalOffset < end else { return true }
            if entry.kind != .zero { return false }
            i += 1
        }
        return true
    }
}

extension SystemState {
    /// The state `image` holds: its metadata and every stream, read through the image (and its
    /// parents). Written with the image's chunk size, it has the image's root digest.
    public init(image: ImageReader) {
        self.init(metadata: image.metadata, streams: image.streams.enumerated().map { i, s in
            StreamSpec(name: s.name, kind: s.kind, blockSize: s.blockSize, source: ImageStreamSource(reader: image, stream: i))
        })
    }
}
