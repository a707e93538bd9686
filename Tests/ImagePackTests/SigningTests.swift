import Foundation
import Testing
import TestSupport
@testable import ImagePack

@Suite("Signing and trust (spec §9.2)")
struct SigningTests {
    /// A fixed seed, so failures reproduce; test-only.
    static let publisher = try! SigningKey(seed: (0..<32).map { UInt8($0) })
    static let other = try! SigningKey(seed: (0..<32).map { UInt8(200 - $0) })

    /// Writes a small image and returns its path and root digest.
    static func image(in directory: String, name: String = "image.ipk", seed: UInt64 = 7) throws -> (String, Digest) {
        let path = directory + "/" + name
        let summary = try writeImage([("root", mixedDisk(chunkSize: 64 << 10, seed: seed))], to: path)
        return (path, summary.rootDigest)
    }

    @Test("sign keeps the root digest and every byte before the footer; a trusted key verifies, another does not")
    func roundTrip() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, root) = try Self.image(in: dir)
        let before = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let outcome = try ImageSigner.sign(imageAt: path, with: Self.publisher)
        #expect(outcome.rootDigest == root)
        #expect(outcome.signatureCount == 1)
        let after = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(after.count == before.count + SignatureRecords.recordLength)
        expectSameBytes(Array(after.prefix(before.count - Layout.footerSize)), Array(before.prefix(before.count - Layout.footerSize)))

        let reader = try ImageReader(path: path)
        #expect(reader.rootDigest == root)
        #expect(reader.signatures.map(\.keyID) == [Self.publisher.publicKey.keyID])
        let verdicts = try TrustPolicy(trustedKeys: [Self.publisher.publicKey]).check(reader)
        #expect(verdicts.map(\.status) == [.verifiedTrusted])
        #expect(try reader.verify(ReadOptions(threads: 2)).failures.isEmpty)

        let stranger = TrustPolicy(trustedKeys: [Self.other.publicKey])
        #expect(stranger.evaluate(reader).map(\.status) == [.unknownKey])
        #expect(throws: ImagePackError(.untrustedImage, "")) { try stranger.check(reader) }
        #expect(try ImageValidator.validate(path: path).isValid)

        // The streaming reader sees the same signatures.
        let (summary, _) = try streamAll(path)
        #expect(summary.signatures == reader.signatures)
    }

    @Test("several keys sign one image; the same key twice is refused and leaves the image unchanged")
    func severalKeys() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, root) = try Self.image(in: dir)
        try ImageSigner.sign(imageAt: path, with: Self.publisher)
        let once = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = #expect(throws: ImagePackError.self) { try ImageSigner.sign(imageAt: path, with: Self.publisher) }
        #expect(error?.code == .alreadySigned)
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: path)), once)
        let second = try ImageSigner.sign(imageAt: path, with: Self.other)
        #expect(second.signatureCount == 2)
        let reader = try ImageReader(path: path)
        #expect(reader.rootDigest == root)
        #expect(TrustPolicy(trustedKeys: [Self.other.publicKey]).evaluate(reader).map(\.status) == [.unknownKey, .verifiedTrusted])
    }

    @Test("a damaged SIGN record breaks V44 for every reader")
    func damagedRecord() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, _) = try Self.image(in: dir)
        try ImageSigner.sign(imageAt: path, with: Self.publisher)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - Layout.footerSize - 30] ^= 0x01  // inside the signature
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ImagePackError.self) { try ImageReader(path: path) }
        #expect(error?.rule == .v44)
        let streamed = #expect(throws: ImagePackError.self) { try streamAll(path) }
        #expect(streamed?.rule == .v44)
        #expect(try ImageValidator.validate(path: path).problems.contains { $0.rule == .v44 })
    }

    @Test("a signature over another image's root is refused with V48 by a policy that holds the key")
    func signatureOverAnotherRoot() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, _) = try Self.image(in: dir)
        let (otherPath, otherRoot) = try Self.image(in: dir, name: "other.ipk", seed: 8)
        #expect(try ImageReader(path: otherPath).rootDigest == otherRoot)
        // Graft a valid signature of the other image onto this one, as a forger would.
        try Self.appendRecord(ImageSigner.signatureRecord(rootDigest: otherRoot, key: Self.publisher), to: path)
        let reader = try ImageReader(path: path)
        let policy = TrustPolicy(trustedKeys: [Self.publisher.publicKey])
        #expect(policy.evaluate(reader).map(\.status) == [.invalid])
        let error = #expect(throws: ImagePackError.self) { try policy.check(reader) }
        #expect(error?.code == .signatureInvalid)
        #expect(error?.rule == .v48)
    }

    @Test("two SIGN records by one key break V47")
    func duplicateKey() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, root) = try Self.image(in: dir)
        try ImageSigner.sign(imageAt: path, with: Self.publisher)
        try Self.appendRecord(ImageSigner.signatureRecord(rootDigest: root, key: Self.publisher), to: path)
        let error = #expect(throws: ImagePackError.self) { try ImageReader(path: path) }
        #expect(error?.rule == .v47)
        #expect(try ImageValidator.validate(path: path).problems.contains { $0.rule == .v47 })
    }

    @Test("a signature region cut short breaks V42 or V44, never reads as signed")
    func truncatedRegion() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, _) = try Self.image(in: dir)
        try ImageSigner.sign(imageAt: path, with: Self.publisher)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // Remove the last 20 bytes of the SIGN record and fix the footer's lengths so only the region is short.
        let footerAt = bytes.count - Layout.footerSize
        var footer = try FileFooter.decode(Array(bytes[footerAt...]), at: UInt64(footerAt))
        bytes.removeSubrange(footerAt - 20..<footerAt)
        footer.signaturesLength -= 20
        footer.fileLength -= 20
        bytes.replaceSubrange((bytes.count - Layout.footerSize)..., with: footer.encode())
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ImagePackError.self) { try ImageReader(path: path) }
        #expect(error?.rule == .v44)
    }

    @Test("keys round-trip through PEM and OpenSSH text; the key id is the SHA-256 of the raw public key")
    func keyEncodings() throws {
        let key = Self.publisher
        let again = try SigningKey(pem: key.pemRepresentation)
        #expect(again.publicKey == key.publicKey)
        #expect(key.pemRepresentation.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(try PublicKey(text: key.publicKey.pemRepresentation) == key.publicKey)
        #expect(try PublicKey(text: KeyEncoding.openSSHLine(key.publicKey, comment: "test")) == key.publicKey)
        #expect(key.publicKey.keyID == Digest.sha256(key.publicKey.rawRepresentation))
        let error = #expect(throws: ImagePackError.self) { try SigningKey(pem: key.publicKey.pemRepresentation) }
        #expect(error?.code == .invalidKey)
        #expect(throws: ImagePackError.self) { try PublicKey(text: "ssh-ed25519 AAAA") }
    }

    /// Appends `record` to the image's signature region, rewriting the footer to cover it.
    static func appendRecord(_ record: [UInt8], to path: String) throws {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let footerAt = bytes.count - Layout.footerSize
        var footer = try FileFooter.decode(Array(bytes[footerAt...]), at: UInt64(footerAt))
        if footer.signaturesOffset == 0 { footer.signaturesOffset = UInt64(footerAt) }
        footer.signaturesLength += UInt64(record.count)
        footer.fileLength += UInt64(record.count)
        bytes.replaceSubrange(footerAt..., with: record + footer.encode())
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
