/// What ``ImageSigner/sign(imageAt:with:sync:)`` did.
public struct SignOutcome: Sendable {
    public let rootDigest: Digest
    public let keyID: Digest
    /// Signatures on the image now, the new one included.
    public let signatureCount: Int
    public let fileLength: UInt64
}

/// Adds Ed25519 signatures to images (spec §9.2).
///
/// A version 1.0 image keeps its index, signatures and footer adjacent (V42), so a signature
/// cannot be added in place: the signer writes a new file — the bytes up to the footer copied by
/// the kernel (sendfile), then the signature records old and new, then a new footer — and
/// renames it over the image. A kill or a full disk at any point leaves the image exactly as it
/// was; after the rename it is fully signed. The data area is copied, never re-encoded, and the
/// root digest does not change.
public enum ImageSigner {
    /// A SIGN record by `key` for the image whose root digest is `root`.
    package static func signatureRecord(rootDigest root: Digest, key: SigningKey) -> [UInt8] {
        SignatureRecords.encode(keyID: key.publicKey.keyID, signature: key.signature(forRoot: root))
    }

    /// Signs the image at `path` with `key`, replacing the file atomically.
    /// - Parameters:
    ///   - sync: flush the new file to stable storage before it replaces the old one.
    ///   - verifying: when given, every chunk is decoded and checked against its digest first
    ///     (for a delta, through `verifying.parents`), so that a signature never vouches for an
    ///     image whose bytes do not hold the state it names; nil checks the structure only.
    /// - Throws: ``ImagePackError``: the image's own errors (it is opened and checked first, as
    ///   ``ImageReader`` does; with `verifying`, the first chunk that fails, or V49 for a delta
    ///   without its parents), `.alreadySigned` if `key` has signed it, `.limitExceeded` when
    ///   the signature region would pass its 1 MiB limit, `.ioFailed` from the file system.
    @discardableResult
    public static func sign(imageAt path: String, with key: SigningKey, sync: Bool = true, verifying: ReadOptions? = nil) throws(ImagePackError) -> SignOutcome {
        let reader = try ImageReader(path: path, limits: verifying?.limits ?? .init(), parents: verifying?.parents ?? [])
        if let verifying, let failure = try reader.verify(verifying, maxFailures: 1).failures.first {
            throw failure.at(path: path)
        }
        let keyID = key.publicKey.keyID
        guard !reader.signatures.contains(where: { $0.keyID == keyID }) else {
            throw ImagePackError(.alreadySigned, "the image is already signed by key \(keyID.hex); a key signs an image once", path: path)
        }
        let footer = reader.footer
        let footerOffset = reader.fileLength - UInt64(Layout.footerSize)
        let signaturesStart = footer.signaturesOffset != 0 ? footer.signaturesOffset : footer.indexOffset + footer.indexLength
        let signaturesLength = footer.signaturesLength + UInt64(SignatureRecords.recordLength)
        guard signaturesLength <= UInt64(FileFooter.maxSignatureBytes) else {
            throw ImagePackError(.limitExceeded, "the image has \(reader.signatures.count) signatures; one more would pass the signature region's limit of \(FileFooter.maxSignatureBytes) bytes", path: path)
        }
        let record = signatureRecord(rootDigest: reader.rootDigest, key: key)
        var newFooter = footer
        newFooter.signaturesOffset = signaturesStart
        newFooter.signaturesLength = signaturesLength
        newFooter.fileLength = footerOffset + UInt64(record.count + Layout.footerSize)

        let output = try OutputFile(path: path, overwrite: true)
        do throws(ImagePackError) {
            // The signed image keeps the permissions of the one it replaces.
            if let status = system_fstat(reader.file.descriptor) { try output.setPermissions(status.permissions) }
            try output.append(from: reader.file, count: footerOffset)
            try output.write(record)
            try output.write(newFooter.encode())
            try output.commit(sync: sync)
        } catch {
            output.abandon()
            throw error.at(path: path)
        }
        return SignOutcome(rootDigest: reader.rootDigest, keyID: keyID, signatureCount: reader.signatures.count + 1, fileLength: newFooter.fileLength)
    }
}
