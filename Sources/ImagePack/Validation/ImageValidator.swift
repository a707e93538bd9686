/// Checks an image against every numbered rule of spec/FORMAT.md and reports every problem it
/// finds, not just the first.
///
/// The readers stop at the first problem; the validator keeps going wherever the image still
/// makes sense: a damaged metadata checksum is reported and the index and chunks are checked all
/// the same; a bad chunk does not stop the others; when the footer or the index is unusable it
/// walks the records from offset 64 (spec §12.3) and still checks every chunk record it finds.
/// It also checks what the random-access reader cannot cheaply: that the data area is exactly
/// the chunk records the index lists (plus optional records of unknown type), with no unlisted
/// record or stray bytes.
///
/// Memory stays bounded whatever the image claims: every length is checked against the limits
/// and against the file's size before anything is allocated, and chunks are decoded a few at a
/// time into buffers of their declared (bounded) length.
public enum ImageValidator {
    /// Validates the image at `path`.
    /// - Returns: the report; problems with the image are in it, never thrown.
    /// - Throws: only when the file cannot be read at all (`.ioFailed`, `.invalidArgument` for a
    ///   pipe or directory) or when `options.read.cancellation` fires (`.cancelled`).
    public static func validate(path: String, options: ValidationOptions = .init()) throws(ImagePackError) -> ValidationReport {
        let file: ReadableFile
        do { file = try ReadableFile(path: path) } catch { throw error.at(path: path) }
        return try validate(file: file, options: options)
    }

    /// Validates the image in `file`, which must be seekable.
    package static func validate(file: ReadableFile, options: ValidationOptions = .init()) throws(ImagePackError) -> ValidationReport {
        guard file.isSeekable, let length = file.size else {
            throw ImagePackError(.invalidArgument, "validation needs a regular file; for a pipe use the streaming reader", path: file.path)
        }
        let run = ValidationRun(file: file, length: length, options: options)
        try run.run()
        return ValidationReport(
            path: file.path, fileLength: length, problems: run.problems, checkedChunks: run.checkedChunks,
            truncatedProblemList: run.truncated, usedIndex: run.index != nil, rootDigest: run.verifiedRoot)
    }
}
