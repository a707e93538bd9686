/// The parent images a delta's `parent` and `zstd-patch` chunks draw on (spec §9.3), found among
/// the images a caller supplies by root digest only: nothing an image says is used as a path.
///
/// A reader of a delta holds the whole chain below it (direct parent first), so that the parent,
/// when it is itself a delta, reads its own parent chunks from the rest of the chain, whatever
/// parents that reader was opened with.
package struct ParentChain: Sendable {
    /// The direct parent first, then its parent, and so on; empty for an image without parent.
    package let readers: [ImageReader]
    /// Why the chain is missing, for an image opened without its parents: thrown when a chunk
    /// needs the parent, so that the structure (and `info`) can be read without them.
    let unresolved: ImagePackError?

    package static let none = ParentChain(readers: [], unresolved: nil)

    /// Resolves the chain below an image that names `parentDigest` from `pool`, in any order.
    /// With an empty pool the chain is left unresolved (reads needing it fail with V49); with a
    /// non-empty one every link must be there.
    /// - Throws: `.parentRequired` (V49) naming the digest no supplied image has; `.parentMismatch`
    ///   (V49) for a chain that loops or is deeper than `limits.maxParentDepth`.
    static func resolve(_ parentDigest: Digest?, from pool: [ImageReader], limits: ImageLimits) throws(ImagePackError) -> ParentChain {
        guard let parentDigest else { return .none }
        guard !pool.isEmpty else {
            return ParentChain(readers: [], unresolved: ImagePackError(
                .parentRequired, "the image is a delta on the parent image \(parentDigest); supply that image (ReadOptions.parents; imgpack: --parent FILE or --parent-dir DIR)",
                rule: .v49, field: "parentDigest"))
        }
        var chain: [ImageReader] = []
        var seen: Set<Digest> = []
        var next: Digest? = parentDigest
        while let digest = next {
            guard seen.insert(digest).inserted else {
                throw ImagePackError(.parentMismatch, "the chain of parent images loops back to \(digest)", rule: .v49, field: "parentDigest")
            }
            guard chain.count < limits.maxParentDepth else {
                throw ImagePackError(.parentMismatch, "the chain of parent images is deeper than the limit of \(limits.maxParentDepth) (ImageLimits.maxParentDepth); flatten a parent first (imgpack flatten)", rule: .v49, field: "parentDigest")
            }
            let candidates = pool.filter { $0.rootDigest == digest }
            guard !candidates.isEmpty else {
                let named = chain.last.map { "its parent \($0.path) is a delta on" } ?? "the image is a delta on"
                let supplied = pool.map { "\($0.path) (\($0.rootDigest))" }.joined(separator: ", ")
                throw ImagePackError(.parentRequired, "\(named) the parent image \(digest), which none of the images supplied is: \(supplied)", rule: .v49, field: "parentDigest")
            }
            // Images with one root digest hold the same state (§8.3), and a delta of an unchanged
            // state has its own parent's digest: prefer a full image, then a delta whose parent
            // is not already on the way down.
            guard let reader = candidates.first(where: { $0.parentDigest == nil })
                ?? candidates.first(where: { !seen.contains($0.parentDigest!) })
            else {
                throw ImagePackError(.parentMismatch, "the chain of parent images loops back to \(digest): every image supplied with that digest is a delta on an image already in the chain; supply the full image it was made from", rule: .v49, field: "parentDigest")
            }
            chain.append(reader)
            next = reader.parentDigest
        }
        return ParentChain(readers: chain, unresolved: nil)
    }

    /// Reads bytes `offset ..< offset + output.count` of the stream called `name` of the parent.
    /// - Parameter wholeChunk: the range must be exactly one chunk of the parent (a `zstd-patch`
    ///   prefix, spec §7.3); otherwise any range of the stream will do (a `parent` chunk, §7.2).
    /// - Throws: V49 without a parent, V50 when the parent lacks the stream or the range, and
    ///   whatever reading the parent (and its own parents) throws.
    package func read(stream name: String, at offset: UInt64, into output: UnsafeMutableRawBufferPointer, wholeChunk: Bool) throws(ImagePackError) {
        if let unresolved { throw unresolved }
        guard let parent = readers.first else {
            throw ImagePackError(.parentRequired, "the chunk needs a parent image, but the image names none", rule: .v49)
        }
        let end = offset + UInt64(output.count)
        guard let stream = parent.streams.firstIndex(where: { $0.name == name }), end <= parent.streams[stream].logicalSize else {
            throw ImagePackError(.parentMismatch, "the parent image \(parent.path) has no range \(offset)..<\(end) of a stream called \"\(name)\"", rule: .v50, stream: name)
        }
        if wholeChunk {
            let entry = parent.entries[parent.chunkIndex(stream: stream, offset: offset)]
            guard entry.logicalOffset == offset, entry.logicalLength == output.count else {
                throw ImagePackError(.parentMismatch, "a zstd-patch chunk needs a chunk of the parent at exactly \(offset)..<\(end) of \"\(name)\", and the parent image \(parent.path) has none", rule: .v50, stream: name)
            }
        }
        try parent.read(stream: stream, at: offset, into: output, parents: ParentChain(readers: Array(readers.dropFirst()), unresolved: nil))
    }
}
