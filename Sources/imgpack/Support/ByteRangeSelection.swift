import ImagePack

/// The disk and byte range `cat` and `cat-remote` read: `--disk NAME` (optional when the image has
/// one stream), `--offset` and `--length` (default: to the end), checked against the disk's size.
struct ByteRangeSelection {
    let stream: Int
    let start: UInt64
    let end: UInt64

    /// - Parameter source: the image as the user named it, for the error's path.
    init(in reader: ImageReader, name: String?, offset: UInt64, length: UInt64?, source: String) throws(ImagePackError) {
        if let name {
            stream = try reader.streamIndex(named: name)
        } else {
            guard reader.streams.count == 1 else {
                throw ImagePackError(.invalidArgument, "the image has \(reader.streams.count) streams (\(reader.streams.map(\.name).joined(separator: ", "))); choose one with --disk NAME", path: source)
            }
            stream = 0
        }
        let size = reader.streams[stream].logicalSize
        guard offset <= size else {
            throw ImagePackError(.rangeOutOfBounds, "--offset \(offset) is past the end of \"\(reader.streams[stream].name)\" (\(size) bytes)", path: source)
        }
        let count = length ?? size - offset
        guard count <= size - offset else {
            throw ImagePackError(.rangeOutOfBounds, "--offset \(offset) --length \(count) ends past the end of \"\(reader.streams[stream].name)\" (\(size) bytes)", path: source)
        }
        start = offset
        end = offset + count
    }
}
