import ImagePack

/// Writes one disk of an image as a file other tools read: a sparse raw disk or a qcow2 image.
///
/// Every chunk is decoded and checked against its digest on the way (an export never passes on
/// corrupt data), chunks are decoded on `options.threads` threads, and the file appears at its
/// destination only once complete (written to a temporary file, then renamed).
public enum ImageExporter {
    /// Exports stream `stream` of `reader` to the file at `path`.
    ///
    /// - Parameters:
    ///   - format: `.raw` writes the disk as it is, zero chunks as holes; `.qcow2` writes a qcow2
    ///     version 3 file whose all-zero clusters are unallocated (`options` sets cluster size and
    ///     compression), or with `options.backing`, an overlay holding only the clusters that
    ///     differ from the image the backing file holds.
    ///   - overwrite: replace an existing file; without it an existing file is `.destinationExists`
    ///     and is left untouched.
    ///   - progress: called with the disk bytes done and in all.
    /// - Throws: `.noSuchStream`, `.invalidArgument` (options, a disk too large for qcow2 at this
    ///   cluster size, or a backing file that is missing or of another size, or a parent without
    ///   this disk at this size), `.destinationExists`, `.ioFailed`, `.cancelled`, or any error of a corrupt
    ///   chunk (such as `.chunkHashMismatch`); on any error nothing is left at `path`.
    @discardableResult
    public static func export(
        _ reader: ImageReader, stream: Int, format: ExportFormat, to path: String, overwrite: Bool = false,
        options: ExportOptions = .init(), progress: ProgressHandler? = nil
    ) throws(ImagePackError) -> ExportSummary {
        guard stream >= 0, stream < reader.streams.count else {
            throw ImagePackError(.noSuchStream, "stream index \(stream) is out of range (the image has \(reader.streams.count))", path: reader.path)
        }
        try options.validate()
        let info = reader.streams[stream]
        if options.backing != nil && format != .qcow2 {
            throw ImagePackError(.invalidArgument, "a backing file goes with the qcow2 format: \(format) files have none", field: "backingFile")
        }
        switch format {
        case .raw:
            try reader.extract(stream: stream, toFile: path, overwrite: overwrite, options: ReadOptions(threads: options.threads, cancellation: options.cancellation, progress: progress))
            let data = reader.chunks(ofStream: stream).reduce(UInt64(0)) { $0 + ($1.kind == .zero ? 0 : UInt64($1.logicalLength)) }
            return ExportSummary(format: .raw, virtualSize: info.logicalSize, fileLength: info.logicalSize, dataBytes: data)
        case .qcow2:
            let backingFormat = try options.backing?.check(overlayPath: path, virtualSize: info.logicalSize)
            let writer = try Qcow2Writer(reader: reader, stream: stream, options: options, backingFormat: backingFormat)
            let output = try OutputFile(path: path, overwrite: overwrite)
            do throws(ImagePackError) {
                let summary = try writer.write(to: output, progress: progress)
                try output.commit()
                return summary
            } catch {
                output.abandon()
                throw error.at(path: path)
            }
        }
    }

    /// Exports the stream called `name`; see ``export(_:stream:format:to:overwrite:options:progress:)``.
    @discardableResult
    public static func export(
        _ reader: ImageReader, streamNamed name: String, format: ExportFormat, to path: String, overwrite: Bool = false,
        options: ExportOptions = .init(), progress: ProgressHandler? = nil
    ) throws(ImagePackError) -> ExportSummary {
        try export(reader, stream: reader.streamIndex(named: name), format: format, to: path, overwrite: overwrite, options: options, progress: progress)
    }
}
