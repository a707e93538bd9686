/// What ``ImageCatalogueEditor`` did.
public struct CatalogueUpdate: Sendable {
    /// Unchanged: the catalogue is outside the root digest (spec §5.4).
    public let rootDigest: Digest
    public let catalogue: ImageCatalogue
    /// Signatures on the image now; they sign the root digest, so they all still hold.
    public let signatureCount: Int
    public let fileLength: UInt64
    /// True when only the tail area's free space and the footer were written (constant time);
    /// false when the tail area had no room and the image was rewritten beside itself and renamed.
    public let inPlace: Bool
}

/// Changes the catalogue (name, description, owner, region, visibility, share list) and the
/// signatures of a format 1.2 image without touching anything the root digest covers (spec §9.4).
///
/// The new CTLG and SIGN records are written into the tail area's free space, where the current
/// footer points at nothing, and flushed; then the 96-byte footer, which lies within one disk
/// sector, is rewritten with one write and flushed. A kill or a crash at any point leaves the old
/// footer, with everything it locates intact, or the new one. Only when the tail area has no room
/// for the new records is the image written again beside itself (the bytes before the tail area
/// copied by the kernel) with a larger tail area, and renamed over it. An exclusive advisory lock
/// (flock) keeps two editors of one image from writing the same free space.
public enum ImageCatalogueEditor {
    /// Applies `change` to the catalogue of the format 1.2 image at `path`.
    /// - Parameter sync: flush each step to stable storage (the crash guarantee needs it).
    /// - Throws: ``ImagePackError``: the image's own errors (it is opened and checked first),
    ///   `.invalidArgument` for a format 1.0 image (its catalogue is part of its root digest) or a
    ///   catalogue that breaks the bounds of spec §5.1, `.ioFailed` from the file system.
    @discardableResult
    public static func update(
        imageAt path: String, sync: Bool = true, _ change: (inout ImageCatalogue) throws(ImagePackError) -> Void
    ) throws(ImagePackError) -> CatalogueUpdate {
        try edit(imageAt: path, sync: sync, change: change, adding: nil)
    }

    /// Rewrites the tail of the format 1.2 image at `path` with its catalogue changed by `change`
    /// and, with `key`, one more signature.
    package static func edit(
        imageAt path: String, sync: Bool, change: (inout ImageCatalogue) throws(ImagePackError) -> Void, adding key: SigningKey?
    ) throws(ImagePackError) -> CatalogueUpdate {
        let fd = system_open(path, _O_RDWR | _O_CLOEXEC)
        guard fd >= 0 else {
            let code = system_errno
            throw ImagePackError(.ioFailed, "cannot open the image for update: \(errnoText(code))", cause: Int(code), path: path)
        }
        defer { _ = system_close(fd) }
        guard system_flock_exclusive_nonblocking(fd) == 0 else {
            let code = system_errno
            throw ImagePackError(.ioFailed, "another process is changing this image (it holds its lock): \(errnoText(code)); try again when it is done", cause: Int(code), path: path)
        }
        let reader = try ImageReader(path: path)
        guard let mine = system_fstat(fd), let theirs = system_fstat(reader.file.descriptor), mine.device == theirs.device, mine.inode == theirs.inode else {
            throw ImagePackError(.ioFailed, "the image was replaced while it was being opened; try again", path: path)
        }
        guard reader.hasCatalogueRecord else {
            throw ImagePackError(
                .invalidArgument,
                "this image has the format 1.0 layout: its name, owner, region and share list are part of its metadata and its root digest, so changing them would make it another image and void its signatures. Images packed by imgpack 1.2 and later keep them in a catalogue record (spec §5.4); see the migration note in spec §14",
                path: path)
        }
        var metadata = reader.metadata
        var catalogue = metadata.catalogue
        try change(&catalogue)
        metadata.catalogue = catalogue
        do throws(ImagePackError) { try metadata.validateCatalogue(rule: .v54) } catch {
            throw ImagePackError(.invalidArgument, "the new catalogue is not valid: \(error.message)", field: error.field, path: path)
        }
        let footer = reader.footer
        var signatures: [UInt8] = footer.signaturesLength > 0 ? try reader.file.read(at: footer.signaturesOffset, count: Int(footer.signaturesLength)) : []
        var signatureCount = reader.signatures.count
        if let key {
            let keyID = key.publicKey.keyID
            guard !reader.signatures.contains(where: { $0.keyID == keyID }) else {
                throw ImagePackError(.alreadySigned, "the image is already signed by key \(keyID.hex); a key signs an image once", path: path)
            }
            guard signatures.count + SignatureRecords.recordLength <= FileFooter.maxSignatureBytes else {
                throw ImagePackError(.limitExceeded, "the image has \(signatureCount) signatures; one more would pass the signature region's limit of \(FileFooter.maxSignatureBytes) bytes", path: path)
            }
            signatures += ImageSigner.signatureRecord(rootDigest: reader.rootDigest, key: key)
            signatureCount += 1
        }
        let catalogueRecord = CatalogueRecord.encode(metadata)
        let run = catalogueRecord + signatures
        let footerOffset = reader.fileLength - UInt64(Layout.footerSize)
        let tailStart = footer.indexOffset + footer.indexLength
        var newFooter = footer
        let live = footer.catalogueOffset..<footer.catalogueOffset + UInt64(footer.catalogueLength) + footer.signaturesLength
        let inPlace = TailArea.placement(forRun: UInt64(run.count), start: tailStart, footerOffset: footerOffset, live: live)
        let at = inPlace ?? tailStart
        newFooter.catalogueOffset = at
        newFooter.catalogueLength = UInt32(catalogueRecord.count)
        newFooter.signaturesOffset = signatures.isEmpty ? 0 : at + UInt64(catalogueRecord.count)
        newFooter.signaturesLength = UInt64(signatures.count)
        if inPlace != nil {
            try rewriteTail(fd: fd, path: path, run: run, at: at, footer: newFooter, footerOffset: footerOffset, stale: live, sync: sync)
        } else {
            let tailLength = TailArea.length(start: tailStart, runLength: run.count)
            newFooter.fileLength = tailStart + tailLength + UInt64(Layout.footerSize)
            try rewriteFile(reader, path: path, tailStart: tailStart, tail: run + [UInt8](repeating: 0, count: Int(tailLength) - run.count), footer: newFooter, sync: sync)
        }
        return CatalogueUpdate(rootDigest: reader.rootDigest, catalogue: catalogue, signatureCount: signatureCount, fileLength: newFooter.fileLength, inPlace: inPlace != nil)
    }

    /// The in-place update (spec §9.4): the run into free space, flush, the footer, flush; then the
    /// previous run, which nothing locates any more, is zeroed so that a removed account or a
    /// replaced name does not linger in the file.
    static func rewriteTail(
        fd: Int32, path: String, run: [UInt8], at: UInt64, footer: FileFooter, footerOffset: UInt64, stale: Range<UInt64>, sync: Bool
    ) throws(ImagePackError) {
        func write(_ bytes: [UInt8], at offset: UInt64) throws(ImagePackError) {
            try withBytes(bytes) { (raw) throws(ImagePackError) in try writeAll(fd, raw, at: offset, path: path) }
        }
        func flush(_ what: String) throws(ImagePackError) {
            guard sync else { return }
            guard system_fsync(fd) == 0 else {
                let code = system_errno
                throw ImagePackError(.ioFailed, "cannot flush \(what) to stable storage: \(errnoText(code))", cause: Int(code), path: path)
            }
        }
        try write(run, at: at)
        try flush("the new catalogue (the image is unchanged: its footer still locates the old one)")
        try write(footer.encode(), at: footerOffset)
        try flush("the new footer")
        // placement(forRun:) never overlaps the live run, so the old run is all stale now.
        if !stale.overlaps(at..<at + UInt64(run.count)) {
            try write([UInt8](repeating: 0, count: stale.count), at: stale.lowerBound)
            try flush("the cleared old catalogue")
        }
    }

    /// The fallback: the image written again beside itself with a tail area large enough, renamed over it.
    static func rewriteFile(_ reader: ImageReader, path: String, tailStart: UInt64, tail: [UInt8], footer: FileFooter, sync: Bool) throws(ImagePackError) {
        let output = try OutputFile(path: path, overwrite: true)
        do throws(ImagePackError) {
            if let status = system_fstat(reader.file.descriptor) { try output.setPermissions(status.permissions) }
            try output.append(from: reader.file, count: tailStart)
            try output.write(tail)
            try output.write(footer.encode())
            try output.commit(sync: sync)
        } catch {
            output.abandon()
            throw error.at(path: path)
        }
    }
}
