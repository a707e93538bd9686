/// Salvages what a damaged or truncated image still holds (spec §12.3): every chunk record that
/// verifies is written into a sparse raw file per stream, and the report says exactly what could
/// not be recovered.
///
/// The records are walked by the validator's data-area walk (from the end of the stream table,
/// following record lengths), so recovery and validation accept exactly the same records and
/// report damage in the same words. Without an index, the content of zero chunks (which have no
/// record) and of lost chunks is unknown: such ranges are reported as missing, never as zeros.
public enum ImageRecovery {
    /// Recovers the streams of the image at `path` into `directory`/NAME.raw.
    ///
    /// Each file is as long as its stream; ranges no verified chunk covers are holes in the file
    /// and listed in the report as missing. The files are published together once the walk is
    /// over; on a thrown error none is.
    /// - Parameters:
    ///   - directory: an existing directory.
    ///   - overwrite: replace existing files; without it an existing destination (a file, or a
    ///     symbolic link even if it dangles) is `.destinationExists` and nothing is written.
    ///   - options: threads and cancellation.
    /// - Throws: `.badMagic` and the like when the file is not an image at all, `.streamTableMismatch`
    ///   when no stream table can be read (no chunk can be placed without one), `.destinationExists`,
    ///   `.ioFailed`, `.cancelled`.
    public static func recover(path: String, to directory: String, overwrite: Bool = false, options: ReadOptions = .init()) throws(ImagePackError) -> RecoveryReport {
        let file: ReadableFile
        do { file = try ReadableFile(path: path) } catch { throw error.at(path: path) }
        guard file.isSeekable, let length = file.size else {
            throw ImagePackError(.invalidArgument, "recovery needs a regular file, not a pipe", path: path)
        }
        let sink = RecoverySink(directory: directory, overwrite: overwrite)
        var validation = ValidationOptions(read: options, maxProblems: 1 << 20, checkChunks: true)
        validation.verifiedChunk = { header, content in sink.write(header, content) }
        let run = ValidationRun(file: file, length: length, options: validation)
        sink.run = run
        do throws(ImagePackError) {
            try run.run()
            if let error = sink.error { throw error }
            guard let streams = run.streams else {
                throw run.problems.first(where: { $0.code == .badMagic || $0.code == .unsupportedVersion })?.at(path: path)
                    ?? ImagePackError(.streamTableMismatch, "the stream table could not be read, so no chunk can be placed; nothing was recovered", rule: .v13, path: path)
            }
            try sink.open(streams)
            if let error = sink.error { throw error }
            var reports: [RecoveryReport.Stream] = []
            for (i, stream) in streams.enumerated() {
                var covered = sink.covered[i]
                if let index = run.index {
                    // The index lists zero chunks, which have no record: their content is known.
                    for e in index.entries where e.kind == .zero && Int(e.stream) == i {
                        covered.append(RecoveryReport.Range(offset: e.logicalOffset, length: UInt64(e.logicalLength)))
                    }
                }
                let missing = RecoveryReport.Range.gaps(in: covered, size: stream.logicalSize)
                reports.append(RecoveryReport.Stream(
                    name: stream.name, path: sink.paths[i], logicalSize: stream.logicalSize, chunksRecovered: sink.chunks[i],
                    missing: missing))
            }
            for (i, output) in sink.outputs.enumerated() { try output.truncate(to: streams[i].logicalSize) }
            for output in sink.outputs { try output.commit() }
            let chunkCodes: Set<ImagePackError.Code> = [
                .chunkChecksumMismatch, .chunkHashMismatch, .decompressionFailed, .chunkSizeMismatch, .chunkHeaderChecksumMismatch,
                .unknownChunkKind, .unknownCodec,
            ]
            return RecoveryReport(
                path: path, indexFound: run.index != nil, footerFound: run.footer != nil, streams: reports,
                failedChunks: run.problems.filter { chunkCodes.contains($0.code) }, problems: run.problems)
        } catch {
            for output in sink.outputs { output.abandon() }
            throw error.path == nil ? error.at(path: path) : error
        }
    }
}

/// Where recovered chunks go: one unpublished output per stream, opened at the first chunk
/// (when the stream table is known), and what each covers.
private final class RecoverySink: @unchecked Sendable {
    // Called only from the walk's consumer, on the calling thread, in file order.
    let directory: String
    let overwrite: Bool
    unowned(unsafe) var run: ValidationRun?
    var outputs: [OutputFile] = []
    var paths: [String] = []
    var covered: [[RecoveryReport.Range]] = []
    var chunks: [Int] = []
    var written: [Set<UInt64>] = []
    var error: ImagePackError?

    init(directory: String, overwrite: Bool) {
        self.directory = directory
        self.overwrite = overwrite
    }

    /// Checks every destination, then creates every output: all or nothing.
    func open(_ streams: [StreamInfo]) throws(ImagePackError) {
        guard outputs.isEmpty else { return }
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let names = try streams.map { (s) throws(ImagePackError) -> String in
            // Names were checked when the stream table was read (V15); a path is at stake, so again.
            guard (try? StreamName.validate(s.name)) != nil, !s.name.contains("/"), !s.name.hasPrefix(".") else {
                throw ImagePackError(.invalidStreamName, "stream name \"\(s.name)\" would not stay inside \(directory); refusing to recover it", rule: .v15, stream: s.name)
            }
            return (dir.isEmpty ? "/" : dir + "/") + s.name + ".raw"
        }
        for name in names { try OutputFile.checkDestination(name, overwrite: overwrite) }
        for name in names { outputs.append(try OutputFile(path: name, overwrite: overwrite)) }
        paths = names
        covered = Array(repeating: [], count: streams.count)
        chunks = Array(repeating: 0, count: streams.count)
        written = Array(repeating: [], count: streams.count)
    }

    func write(_ header: ChunkHeader, _ content: UnsafeRawBufferPointer) {
        guard error == nil, let streams = run?.streams else { return }
        do throws(ImagePackError) {
            try open(streams)
            let s = Int(header.stream)
            // A second record for the same range (V34) adds nothing: the first one verified.
            guard s < outputs.count, written[s].insert(header.logicalOffset).inserted else { return }
            try outputs[s].writeSparse(content, at: header.logicalOffset)
            covered[s].append(RecoveryReport.Range(offset: header.logicalOffset, length: UInt64(header.logicalLength)))
            chunks[s] += 1
        } catch {
            self.error = error
        }
    }
}

/// What ``ImageRecovery/recover(path:to:overwrite:options:)`` salvaged and what it could not.
public struct RecoveryReport: Sendable, Encodable {
    /// A byte range of a stream.
    public struct Range: Sendable, Encodable, Equatable {
        public var offset: UInt64
        public var length: UInt64

        /// The parts of `0..<size` that no range in `covered` covers, in order.
        static func gaps(in covered: [Range], size: UInt64) -> [Range] {
            var gaps: [Range] = []
            var position: UInt64 = 0
            for r in covered.sorted(by: { $0.offset < $1.offset }) {
                if r.offset > position { gaps.append(Range(offset: position, length: r.offset - position)) }
                position = max(position, r.offset + r.length)
            }
            if position < size { gaps.append(Range(offset: position, length: size - position)) }
            return gaps
        }
    }

    /// One stream's raw file.
    public struct Stream: Sendable, Encodable {
        public var name: String
        public var path: String
        public var logicalSize: UInt64
        /// Chunk records written into the file, each decoded and checked against its digest.
        public var chunksRecovered: Int
        /// Ranges no verified chunk covers: their content is unknown (not zero), and the file has
        /// holes there.
        public var missing: [Range]
        public var missingBytes: UInt64 { missing.reduce(0) { $0 + $1.length } }

        enum CodingKeys: String, CodingKey { case name, path, logicalSize, chunksRecovered, missing, missingBytes }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(path, forKey: .path)
            try c.encode(logicalSize, forKey: .logicalSize)
            try c.encode(chunksRecovered, forKey: .chunksRecovered)
            try c.encode(missing, forKey: .missing)
            try c.encode(missingBytes, forKey: .missingBytes)
        }
    }

    public var path: String
    /// Whether an index was found (by the footer, or by walking the records); without one, zero
    /// chunks cannot be told from lost ones.
    public var indexFound: Bool
    /// Whether the file ends with a footer that decodes.
    public var footerFound: Bool
    public var streams: [Stream]
    /// Chunk records found whose payload did not verify; their ranges are in the streams' missing.
    public var failedChunks: [ImagePackError]
    /// Everything the walk found wrong, failed chunks included, as `validate` reports it.
    public var problems: [ImagePackError]

    /// Every byte of every stream recovered.
    public var isComplete: Bool { streams.allSatisfy { $0.missing.isEmpty } }
}
