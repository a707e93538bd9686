import Foundation

/// Streaming extraction to files, as spec §12.1 requires of every consumer of a streaming read:
/// content is written where it belongs in temporary files as it arrives, and the files are
/// published only once the whole image (index, footer and root digest) has verified.
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
        do {
            let summary = try read { (event) throws in
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
