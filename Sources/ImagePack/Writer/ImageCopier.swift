/// What ``ImageCopier/copy(imageAt:toFile:codec:level:region:overwrite:trust:options:)`` did.
public struct CopySummary: Sendable {
    /// The same as the source's: a copy never changes what an image is.
    public let rootDigest: Digest
    public let fileLength: UInt64
    /// Whether the chunks were re-encoded (a new codec or level) rather than copied verbatim.
    public let reencoded: Bool
    /// Signatures carried over (they sign the root digest, which did not change).
    public let signatureCount: Int
    /// Logical bytes whose content was decoded and checked against its digest.
    public let bytesChecked: UInt64
}

/// Copies an image to a new file, checking every chunk, keeping its root digest and signatures.
///
/// With the encoding unchanged, the copy is the source's bytes, copied by the kernel (sendfile),
/// and then the copy itself is opened and every chunk of it verified in parallel (CRC, decode,
/// content digest) before it is published: what appears at the destination is exactly what was
/// checked, even if the source changes meanwhile. With a new codec or level, the content is
/// decoded, verified and re-encoded in parallel by the writer with the source's chunk size, so the
/// chunk boundaries, and with them the root digest, stay the same (spec §8.3); a source whose
/// chunking or metadata encoding the reference writer would not reproduce is refused rather than
/// given a new identity. Either way the SIGN records are carried over unchanged.
///
/// A delta (spec §9.3) stays a delta on the same parent: copied verbatim, or re-encoded by a
/// writer given that parent. Its `parent` and `zstd-patch` chunks are verified against the
/// parents in `options.parents`, which are therefore required: without them the copy is refused
/// (V49) rather than published with chunks nobody checked.
public enum ImageCopier {
    /// Copies the image at `source` to `destination`, which appears only once complete and verified.
    /// - Parameters:
    ///   - codec: re-encode data chunks with this codec (nil: copy the chunks verbatim).
    ///   - level: the codec's level (with `codec`).
    ///   - region: the copy's catalogue region (format 1.2 only: spec §5.4); the root digest and
    ///     the signatures stay the same, since the catalogue is outside the root digest.
    ///   - overwrite: replace an existing destination.
    ///   - trust: when given, the image must be signed by one of its keys (`.untrustedImage`).
    ///   - options: threads, cancellation, progress, and for a delta its parents (any order,
    ///     matched by root digest).
    /// - Throws: the source's own errors (``ImagePackError`` with a rule; `.parentRequired`, V49,
    ///   for a delta whose parents were not supplied), `.invalidArgument` when re-encoding cannot
    ///   keep the root digest or a region is given for a format 1.0 image, `.destinationExists`,
    ///   `.ioFailed`, `.cancelled`.
    @discardableResult
    public static func copy(
        imageAt source: String, toFile destination: String, codec: Codec? = nil, level: Int? = nil, region: String? = nil,
        overwrite: Bool = false, trust: TrustPolicy? = nil, options: ReadOptions = .init()
    ) throws(ImagePackError) -> CopySummary {
        let reader = try ImageReader(path: source, limits: options.limits, parents: options.parents)
        // Signatures sign the root digest, which opening the image checked against its index: an
        // untrusted image is refused before anything is written.
        try trust?.check(reader)
        if region != nil, !reader.hasCatalogueRecord {
            throw ImagePackError(
                .invalidArgument,
                "this image has the format 1.0 layout: its region is part of its metadata and root digest, so a copy to another region would be another image and lose its signatures; copy it without --region, or re-pack it as format 1.2 (spec §14, migration)",
                field: "region", path: source)
        }
        let output = try OutputFile(path: destination, overwrite: overwrite)
        do throws(ImagePackError) {
            let summary: CopySummary
            if let codec {
                summary = try reencode(reader, codec: codec, level: level, region: region, to: output, options: options)
            } else {
                try output.append(from: reader.file, count: reader.fileLength)
                let copy = try ImageReader(file: try ReadableFile(path: output.readablePath), limits: options.limits, parents: options.parents)
                guard copy.rootDigest == reader.rootDigest, copy.fileLength == reader.fileLength else {
                    throw ImagePackError(.ioFailed, "the copy differs from the image it was copied from: was the image changed meanwhile?", path: destination)
                }
                let report = try copy.verify(options, maxFailures: 1)
                if let failure = report.failures.first { throw failure.replacing(path: source) }
                var fileLength = copy.fileLength
                if let region {
                    fileLength = try setRegion(region, of: copy, in: output)
                    let check = try ImageReader(file: try ReadableFile(path: output.readablePath), limits: options.limits)
                    guard check.rootDigest == reader.rootDigest, check.metadata.region == region, check.signatures.map(\.keyID) == reader.signatures.map(\.keyID) else {
                        throw ImagePackError(.ioFailed, "the copy with its new region does not read back as written", path: destination)
                    }
                }
                summary = CopySummary(rootDigest: copy.rootDigest, fileLength: fileLength, reencoded: false, signatureCount: copy.signatures.count, bytesChecked: report.bytesChecked)
            }
            try output.commit()
            return summary
        } catch {
            output.abandon()
            throw error
        }
    }

    /// Gives the unpublished copy `copy` (in `output`) a new catalogue region: a fresh tail area
    /// (the new CTLG record, the same SIGN records, free space) and footer after its index, the
    /// file cut to the new length. Nothing before the tail area changes. Returns the new length.
    static func setRegion(_ region: String, of copy: ImageReader, in output: OutputFile) throws(ImagePackError) -> UInt64 {
        var metadata = copy.metadata
        metadata.region = region
        do throws(ImagePackError) { try metadata.validateCatalogue(rule: .v54) } catch {
            throw ImagePackError(.invalidArgument, "the region is not valid: \(error.message)", field: "region", path: output.path)
        }
        let footer = copy.footer
        let signatures = footer.signaturesLength > 0 ? try copy.file.read(at: footer.signaturesOffset, count: Int(footer.signaturesLength)) : []
        let record = CatalogueRecord.encode(metadata)
        let tailStart = footer.indexOffset + footer.indexLength
        let tailLength = TailArea.length(start: tailStart, runLength: record.count + signatures.count)
        var newFooter = footer
        newFooter.catalogueOffset = tailStart
        newFooter.catalogueLength = UInt32(record.count)
        newFooter.signaturesOffset = signatures.isEmpty ? 0 : tailStart + UInt64(record.count)
        newFooter.fileLength = tailStart + tailLength + UInt64(Layout.footerSize)
        var tail = record + signatures
        tail += [UInt8](repeating: 0, count: Int(tailLength) - tail.count)
        tail += newFooter.encode()
        try withMutableBytes(&tail) { (raw) throws(ImagePackError) in try output.write(UnsafeRawBufferPointer(raw), at: tailStart) }
        try output.truncate(to: newFooter.fileLength)
        return newFooter.fileLength
    }

    static func reencode(_ reader: ImageReader, codec: Codec, level: Int?, region: String?, to output: OutputFile, options: ReadOptions) throws(ImagePackError) -> CopySummary {
        var writerOptions = WriterOptions(codec: codec, level: level, chunkSize: Int(reader.chunkSize), threads: options.threads)
        writerOptions.cancellation = options.cancellation
        // A delta stays a delta on the same parent (what was a parent chunk is one again).
        writerOptions.parent = reader.parents.readers.first
        if let unresolved = reader.parents.unresolved { throw unresolved.at(path: reader.path) }
        // The source's layout (a 1.0 image's catalogue is in its root digest) and its SIGN records,
        // which sign the root digest the copy keeps.
        writerOptions.catalogue = reader.hasCatalogueRecord
        if reader.footer.signaturesLength > 0 {
            writerOptions.signatureRecords = try reader.file.read(at: reader.footer.signaturesOffset, count: Int(reader.footer.signaturesLength))
        }
        let streams = reader.streams.enumerated().map { i, s in
            StreamSpec(name: s.name, kind: s.kind, blockSize: s.blockSize, source: ImageStreamSource(reader: reader, stream: i))
        }
        var metadata = reader.metadata
        if let region { metadata.region = region }
        let written = try ImageWriter.write(SystemState(metadata: metadata, streams: streams), to: output, options: writerOptions, progress: options.progress)
        guard written.rootDigest == reader.rootDigest else {
            throw ImagePackError(
                .invalidArgument,
                "re-encoding would change the image's root digest (\(reader.rootDigest) → \(written.rootDigest)): its chunk boundaries or metadata bytes are not the ones this writer makes; copy it without --codec to keep its identity",
                path: reader.path)
        }
        let check = try ImageReader(file: try ReadableFile(path: output.readablePath), limits: options.limits)
        guard check.rootDigest == reader.rootDigest, check.signatures.map(\.keyID) == reader.signatures.map(\.keyID) else {
            throw ImagePackError(.ioFailed, "the re-encoded copy does not read back as written", path: output.path)
        }
        let checked = reader.entries.reduce(UInt64(0)) { $0 + ($1.kind == .zero ? 0 : UInt64($1.logicalLength)) }
        return CopySummary(rootDigest: check.rootDigest, fileLength: check.fileLength, reencoded: true, signatureCount: check.signatures.count, bytesChecked: checked)
    }
}
