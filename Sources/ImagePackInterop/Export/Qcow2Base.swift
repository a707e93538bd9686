import ImagePack

/// The parent side of a qcow2 overlay export: the disk the backing file holds, read from its
/// image, and what the index alone says about which clusters are unchanged.
struct Qcow2Base: Sendable {
    /// The image the backing file holds (for a delta, its parent).
    let content: ImageReader
    /// Its stream of the exported disk's name.
    let stream: Int
    /// Whether `content` is the exported image's parent state (same root digest as its
    /// parentDigest): then a `parent` chunk is, by definition (spec §7.2), the same bytes.
    let isParentState: Bool
    /// When `content` is the image's own direct parent: the image's chain, through which the
    /// parent is read with its own parents (a parent opened from a pool has none of its own).
    let chain: ParentChain?

    /// - Throws: `.noSuchStream` when the parent has no disk of that name, `.invalidArgument`
    ///   when its disk has another size (an overlay cannot change the disk's size).
    init(image: ImageReader, stream: Int, content: ImageReader) throws(ImagePackError) {
        let info = image.streams[stream]
        let index: Int
        do {
            index = try content.streamIndex(named: info.name)
        } catch {
            throw ImagePackError(.noSuchStream, "the parent image \(content.path), which the backing file holds, has no disk \"\(info.name)\" (it has \(content.streams.map(\.name).joined(separator: ", ")))", stream: info.name, path: content.path)
        }
        guard content.streams[index].logicalSize == info.logicalSize else {
            throw ImagePackError(
                .invalidArgument,
                "the disk \"\(info.name)\" is \(info.logicalSize) bytes and the parent's, in \(content.path), \(content.streams[index].logicalSize): a qcow2 overlay keeps its backing file's size; export the whole image instead",
                stream: info.name, field: "backingFile", path: content.path)
        }
        self.content = content
        self.stream = index
        isParentState = image.parentDigest == content.rootDigest
        chain = image.parents.readers.first === content ? image.parents : nil
    }

    /// Reads the parent's bytes `start ..< start + buffer.count` of the disk.
    func read(at start: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        if let chain {
            try chain.read(stream: content.streams[stream].name, at: start, into: buffer, wholeChunk: false)
        } else {
            try content.read(stream: stream, at: start, into: buffer)
        }
    }

    /// For each cluster of the unit `start ..< start + length` of `stream` of `reader`: true when
    /// the index shows its bytes are the parent's, without decoding anything. A chunk is the
    /// parent's when it is a `parent` chunk of the parent state, or when the parent has a chunk
    /// of the same range and content digest (which also covers zero over zero). A cluster is
    /// the parent's when every chunk it overlaps is.
    func knownSame(reader: ImageReader, stream: Int, start: UInt64, length: Int, cluster: Int) -> [Bool] {
        let end = start + UInt64(length)
        let count = (length + cluster - 1) / cluster
        var same = [Bool](repeating: true, count: count)
        let range = reader.streamEntries[stream]
        var i = reader.chunkIndex(stream: stream, offset: start)
        while i < range.upperBound && reader.entries[i].logicalOffset < end {
            let entry = reader.entries[i]
            i += 1
            if entry.kind == .parent && isParentState { continue }
            let j = content.chunkIndex(stream: self.stream, offset: entry.logicalOffset)
            let other = content.entries[j]
            if other.logicalOffset == entry.logicalOffset && other.logicalLength == entry.logicalLength && other.contentDigest == entry.contentDigest {
                continue
            }
            let low = max(entry.logicalOffset, start) - start
            let high = min(entry.logicalEnd, end) - start
            for k in Int(low) / cluster...Int(high - 1) / cluster { same[k] = false }
        }
        return same
    }
}
