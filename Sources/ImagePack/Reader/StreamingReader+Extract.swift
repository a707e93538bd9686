import Foundation

/// Streaming extraction to files, as spec §12.1 requires of every consumer of a streaming read:
/// content is written where it belongs in temporary files as it arrives, and the files are
/// published only once the whole image (index, footer and root digest) has verified.
///
/// A reference chunk's content is copied from the output file that already holds it (its target
/// came earlier in the input), so extraction keeps no window of the input in memory
/// (``ReferenceContent/rereadFromOutput``); only when a reference's target may lie in a stream
/// left out of the extraction does it keep the window.
extension StreamingReader {
    /// Extracts streams of the image to raw files in one pass: zero chunks and zero blocks inside
    /// data chunks become holes, every
    /// file is complete and verified before any is published, and nothing is published (every
    /// temporary file is removed) when the read fails.
    /// - Parameters:
    ///   - overwrite: replace existing files; without it an existing destination is refused
    ///     before anything is written.
    ///   - destinations: called once with the stream table, before any content; returns the path
    ///     to write each stream to extract to, by stream index (streams left out are skipped).
    ///     What it throws stops the read, unchanged.
    ///   - approve: called with the verified summary before anything is published (a trust
    ///     check, ``TrustPolicy/check(_:rootDigest:path:)``); what it throws publishes nothing.
    /// - Returns: the verified summary and the published paths, by stream index.
    @discardableResult
    public func extract(
        overwrite: Bool = false, destinations: ([StreamInfo]) throws -> [Int: String],
        approve: (StreamingSummary) throws -> Void = { _ in }
    ) throws -> (summary: StreamingSummary, paths: [Int: String]) {
        var outputs: [Int: OutputFile] = [:]
        var paths: [Int: String] = [:]
        var streams: [StreamInfo] = []
        var scratch: [UInt8] = []
        do {
            // Decided after `.begin`, once `destinations` said which streams are written.
            let summary = try read(decidingReferences: { all in outputs.count == all.count ? .rereadFromOutput : .keepWindow }) { (event) throws in
                switch event {
                case .begin(_, let all):
                    streams = all
                    paths = try destinations(all)
                    // Refuse before creating anything, so no temporary file is left to clean up; a
                    // symbolic link counts as present even when it dangles.
                    for path in paths.values.sorted() { try OutputFile.checkDestination(path, overwrite: overwrite) }
                    // The length is set at the end: writing into a pre-sized sparse file costs ext4
                    // about three times the system time of extending it (measured on a 2 GiB disk).
                    for i in paths.keys.sorted() { outputs[i] = try OutputFile(path: paths[i]!, overwrite: overwrite) }
                case .data(let stream, let offset, let bytes):
                    try outputs[stream]?.writeSparse(bytes, at: offset)
                case .zero:
                    break  // a hole
                case .reference(let content):
                    guard let output = outputs[content.stream], let source = outputs[content.sourceStream] else { break }
                    try Self.copy(content, from: source, to: output, scratch: &scratch)
                }
            }
            // Verified to the root digest: publish, if the caller accepts the image.
            try approve(summary)
            for i in outputs.keys.sorted() {
                try outputs[i]!.truncate(to: streams[i].logicalSize)
                try outputs[i]!.commit()
            }
            return (summary, paths)
        } catch {
            for file in outputs.values { file.abandon() }
            throw error
        }
    }
}

extension StreamingReader {
    /// Writes a reference's content at its place in `output`, read back from where its target was
    /// written to `source`. A sparse write left zero blocks as holes, and the file is not yet
    /// extended to its length, so what lies past the end of `source` is zeros.
    /// - Throws: V28 when the bytes read back do not match the reference's digest: the output file
    ///   was changed by someone else while the image was extracted into it.
    static func copy(_ content: ReferencedContent, from source: OutputFile, to output: OutputFile, scratch: inout [UInt8]) throws(ImagePackError) {
        let length = Int(content.length)
        if scratch.count < length { scratch = [UInt8](repeating: 0, count: length) }
        let done: Result<Void, ImagePackError> = scratch.withUnsafeMutableBytes { all in
            do throws(ImagePackError) {
                let buffer = UnsafeMutableRawBufferPointer(rebasing: all[0..<length])
                let got = try source.read(into: buffer, at: content.sourceOffset)
                if got < length { UnsafeMutableRawBufferPointer(rebasing: buffer[got...]).initializeMemory(as: UInt8.self, repeating: 0) }
                guard Digest.sha256(UnsafeRawBufferPointer(buffer)) == content.contentDigest else {
                    throw ImagePackError(
                        .chunkHashMismatch,
                        "the content of the reference chunk, read back from the extracted file at \(content.sourceOffset) where its target was written, does not match the reference's SHA-256: the file was changed while the image was extracted into it; extract again",
                        rule: .v28, offset: content.recordOffset + UInt64(Layout.chunkPrefixSize), field: "contentDigest", path: source.path)
                }
                try output.writeSparse(UnsafeRawBufferPointer(buffer), at: content.offset)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try done.get()
    }
}
