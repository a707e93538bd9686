/// The byte regions of an opened image that a transport needs to cut the file into pieces and
/// put it back together (spec/REGISTRY.md): where the data area starts, where the records end,
/// where the signatures lie.
extension ImageReader {
    /// Where the data area begins: the end of STRM (or PRNT), so `0 ..< dataAreaStart` is the
    /// header, META, STRM and PRNT records.
    package var dataAreaStart: UInt64 { dataStart }

    /// The SIGN records' bytes in the file, or nil when the image has no signature.
    package var signatureRegion: Range<UInt64>? {
        footer.signaturesOffset == 0 ? nil : footer.signaturesOffset..<(footer.signaturesOffset + footer.signaturesLength)
    }

    /// Opens an already-open file as an image (a checked copy, a sparse skeleton of head and tail).
    package convenience init(readable file: ReadableFile, limits: ImageLimits = .init(), parents: [ImageReader] = []) throws(ImagePackError) {
        try self.init(file: file, limits: limits, parents: parents)
    }
}

extension ImagePackError.Code {
    /// A code defined by a library built on this one (the registry client): its name is part of
    /// its messages and its category picks the exit status.
    package static func defined(_ name: String, _ category: ImagePackError.Category) -> Self { Self(name, category) }
}

extension ImageReader {
    /// The first problem in the data area's bytes that no index entry covers (unknown optional
    /// records only, V7, V8, V10, V34), or nil: what ``verify(_:maxFailures:)`` checks besides
    /// the chunks, for a caller that verifies the chunks itself, piece by piece.
    package func dataAreaGapProblem() -> ImagePackError? { checkDataAreaGaps() }
}
