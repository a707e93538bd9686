import Foundation
import Testing
import TestSupport
@testable import ImagePack

/// Format 1.2: the catalogue (name, owner, region, sharing) in a CTLG record outside the root
/// digest, changed in place in the tail area (spec §5.4, §9.4).
@Suite("Catalogue record and tail area (format 1.2)")
struct CatalogueTests {
    static let publisher = try! SigningKey(seed: (0..<32).map { UInt8($0 + 1) })

    static var catalogueOptions: WriterOptions {
        var options = WriterOptions(chunkSize: 64 << 10, threads: 2)
        options.catalogue = true
        return options
    }

    static func image(in dir: String, name: String = "image.ipk", metadata: ImageMetadata = testMetadata()) throws -> (String, WriteSummary) {
        let path = dir + "/" + name
        let state = SystemState(metadata: metadata, streams: [StreamSpec(name: "root", source: BytesSource(mixedDisk(chunkSize: 64 << 10, seed: 5)))])
        return (path, try ImageWriter.write(state, toFile: path, options: catalogueOptions))
    }

    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    @Test("a 1.2 image: minor version 2, META schema 2 without catalogue keys, and all three readers see the whole metadata")
    func layout() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, summary) = try Self.image(in: dir)
        let bytes = try Self.bytes(path)
        #expect(bytes[10] == 2 && bytes[11] == 0)
        #expect(bytes.count % 4096 == 0, "the file ends on a 4096-byte boundary, so the footer lies within one sector")
        let reader = try ImageReader(path: path)
        #expect(reader.hasCatalogueRecord)
        #expect(reader.metadata == testMetadata())
        let meta = String(decoding: reader.metadataJSON, as: UTF8.self)
        #expect(meta.contains("\"schemaVersion\":2") && !meta.contains("\"name\"") && !meta.contains("sharedWith") && meta.contains("\"tags\""))
        let (streamed, _) = try streamAll(path)
        #expect(streamed.metadata == testMetadata())
        #expect(streamed.rootDigest == summary.rootDigest)
        #expect(try ImageValidator.validate(path: path).isValid)
        #expect(try reader.verify(ReadOptions(threads: 2)).isValid)
    }

    @Test("the root digest does not cover the catalogue: images differing only in name, owner, region and sharing are one image")
    func identity() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        var other = testMetadata("renamed")
        other.region = "ap-south-2"
        other.ownerAccount = "999988887777"
        other.visibility = .public
        other.sharedWith = []
        let (_, a) = try Self.image(in: dir, name: "a.ipk")
        let (_, b) = try Self.image(in: dir, name: "b.ipk", metadata: other)
        #expect(a.rootDigest == b.rootDigest)
        var changedInstance = testMetadata()
        changedInstance.memoryMiB = 4096
        let (_, c) = try Self.image(in: dir, name: "c.ipk", metadata: changedInstance)
        #expect(c.rootDigest != a.rootDigest, "what the instance is stays in the root digest")
    }

    @Test("share and sign in place: only the tail area and the footer change, the root digest and signatures stay valid, over many updates")
    func updatesInPlace() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, summary) = try Self.image(in: dir)
        let original = try Self.bytes(path)
        let tailStart = Int(try ImageReader(path: path).footer.indexOffset + ImageReader(path: path).footer.indexLength)
        let signed = try ImageSigner.sign(imageAt: path, with: Self.publisher, sync: false)
        #expect(signed.inPlace)
        for round in 0..<6 {
            let update = try ImageCatalogueEditor.update(imageAt: path, sync: false) { c in
                c.sharedWith.append("10000000000\(round)")
                c.name = "image-round-\(round)"
            }
            #expect(update.inPlace)
            #expect(update.rootDigest == summary.rootDigest)
            let now = try Self.bytes(path)
            #expect(now.count == original.count)
            expectSameBytes(Array(now.prefix(tailStart)), Array(original.prefix(tailStart)), "round \(round): nothing before the tail area changed")
            let reader = try ImageReader(path: path)
            #expect(reader.metadata.name == "image-round-\(round)")
            #expect(reader.metadata.sharedWith.count == round + 2)
            #expect(reader.rootDigest == summary.rootDigest)
            #expect(try TrustPolicy(trustedKeys: [Self.publisher.publicKey]).check(reader).map(\.status) == [.verifiedTrusted])
            #expect(try ImageValidator.validate(path: path).isValid)
            let (streamed, _) = try streamAll(path)
            #expect(streamed.metadata == reader.metadata)
            #expect(streamed.signatures == reader.signatures)
        }
        // The replaced runs were zeroed: no earlier name lingers in the file.
        let text = String(decoding: try Self.bytes(path), as: UTF8.self)
        #expect(!text.contains("image-round-4") && !text.contains("\"test-image\""))
    }

    @Test("a catalogue that outgrows its slot is written with the whole image again, beside it, and stays valid")
    func outgrowsTheTailArea() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, summary) = try Self.image(in: dir)
        try ImageSigner.sign(imageAt: path, with: Self.publisher, sync: false)
        let accounts = (0..<400).map { "account-\(String(repeating: "x", count: 20))-\($0)" }
        let update = try ImageCatalogueEditor.update(imageAt: path, sync: false) { $0.sharedWith += accounts }
        #expect(!update.inPlace)
        let reader = try ImageReader(path: path)
        #expect(reader.rootDigest == summary.rootDigest)
        #expect(reader.metadata.sharedWith.count == 401)
        #expect(try TrustPolicy(trustedKeys: [Self.publisher.publicKey]).check(reader).map(\.status) == [.verifiedTrusted])
        #expect(try ImageValidator.validate(path: path).isValid)
        // And the next change fits in place again.
        #expect(try ImageCatalogueEditor.update(imageAt: path, sync: false) { $0.sharedWith.removeLast() }.inPlace)
    }

    @Test("share refuses a format 1.0 image (its catalogue is in its root digest) and leaves it unchanged")
    func legacyRefused() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/old.ipk"
        _ = try writeImage([("root", mixedDisk(chunkSize: 64 << 10, seed: 5))], to: path)
        let before = try Self.bytes(path)
        let error = #expect(throws: ImagePackError.self) { try ImageCatalogueEditor.update(imageAt: path) { $0.name = "new" } }
        #expect(error?.code == .invalidArgument)
        try expectSameBytes(Self.bytes(path), before)
    }

    @Test("an invalid new catalogue is refused before anything is written")
    func invalidChange() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, _) = try Self.image(in: dir)
        let before = try Self.bytes(path)
        let error = #expect(throws: ImagePackError.self) { try ImageCatalogueEditor.update(imageAt: path) { $0.name = String(repeating: "n", count: 129) } }
        #expect(error?.code == .invalidArgument)
        #expect(error?.field == "name")
        try expectSameBytes(Self.bytes(path), before)
    }

    @Test("a tampered catalogue is refused by its rule, by all three readers")
    func tampered() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, _) = try Self.image(in: dir)
        var bytes = try Self.bytes(path)
        let footer = InvalidSamples.footer(of: bytes)
        // A byte of the share list: the CRC no longer matches.
        let text = Array(bytes[Int(footer.catalogueOffset)..<Int(footer.catalogueOffset) + Int(footer.catalogueLength)])
        let at = Int(footer.catalogueOffset) + text.firstRange(of: Array("444455556666".utf8))!.lowerBound
        bytes[at] ^= 0x01
        #expect(randomAccessError(bytes, dir: dir)?.rule == .v52)
        #expect(streamingError(bytes, dir: dir)?.rule == .v52)
        let damaged = dir + "/damaged.ipk"
        _ = FileManager.default.createFile(atPath: damaged, contents: Data(bytes))
        #expect(try ImageValidator.validate(path: damaged).problems.map(\.rule) == [.v52])
    }

    @Test("copy with a new codec keeps a 1.2 image's layout, catalogue, root digest and signatures")
    func reencodedCopy() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, summary) = try Self.image(in: dir)
        try ImageSigner.sign(imageAt: path, with: Self.publisher, sync: false)
        let copy = try ImageCopier.copy(imageAt: path, toFile: dir + "/copy.ipk", codec: .zlib, level: 6)
        #expect(copy.rootDigest == summary.rootDigest)
        let reader = try ImageReader(path: dir + "/copy.ipk")
        #expect(reader.hasCatalogueRecord)
        #expect(reader.metadata == testMetadata())
        #expect(try TrustPolicy(trustedKeys: [Self.publisher.publicKey]).check(reader).map(\.status) == [.verifiedTrusted])
        #expect(try ImageValidator.validate(path: dir + "/copy.ipk").isValid)
    }

    @Test("copy --region changes only the catalogue: same root digest, the signature still verifies; a 1.0 image is refused")
    func copyToRegion() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, summary) = try Self.image(in: dir)
        try ImageSigner.sign(imageAt: path, with: Self.publisher, sync: false)
        for codec in [nil, Codec.zlib] {
            let out = dir + "/copy-\(codec.map { "\($0)" } ?? "verbatim").ipk"
            let copy = try ImageCopier.copy(imageAt: path, toFile: out, codec: codec, region: "sa-east-1")
            #expect(copy.rootDigest == summary.rootDigest)
            let reader = try ImageReader(path: out)
            #expect(reader.metadata.region == "sa-east-1")
            var expected = testMetadata()
            expected.region = "sa-east-1"
            #expect(reader.metadata == expected)
            #expect(try TrustPolicy(trustedKeys: [Self.publisher.publicKey]).check(reader).map(\.status) == [.verifiedTrusted])
            #expect(try ImageValidator.validate(path: out).isValid)
            #expect(try streamAll(out).0.metadata.region == "sa-east-1")
        }
        let old = dir + "/old.ipk"
        _ = try writeImage([("root", mixedDisk(chunkSize: 64 << 10, seed: 5))], to: old)
        let error = #expect(throws: ImagePackError.self) { try ImageCopier.copy(imageAt: old, toFile: dir + "/old-copy.ipk", region: "sa-east-1") }
        #expect(error?.code == .invalidArgument)
        #expect(!FileManager.default.fileExists(atPath: dir + "/old-copy.ipk"))
    }

    @Test("the validator checks signatures with the keys it is given: V48 for a bad signature by a given key, nothing for other keys")
    func validatorWithKeys() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, _) = try Self.image(in: dir)
        let other = try SigningKey(seed: (0..<32).map { UInt8(90 + $0) })
        // A signature by the publisher's key over another root: well-formed, but false.
        let forged = SignatureRecords.encode(keyID: Self.publisher.publicKey.keyID, signature: Self.publisher.signature(forRoot: Digest.sha256(Array("another image".utf8))))
        _ = try ImageCatalogueEditor.edit(imageAt: path, sync: false, change: { _ in }, adding: other)
        var bytes = try Self.bytes(path)
        let footer = InvalidSamples.footer(of: bytes)
        let at = Int(footer.signaturesOffset + footer.signaturesLength)
        bytes.replaceSubrange(at..<at + forged.count, with: forged)
        InvalidSamples.replaceFooter(&bytes) { $0.signaturesLength += UInt64(forged.count) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))

        #expect(try ImageValidator.validate(path: path).isValid, "without keys a signature can be neither verified nor refuted")
        var options = ValidationOptions()
        options.trust = TrustPolicy(trustedKeys: [other.publicKey])
        #expect(try ImageValidator.validate(path: path, options: options).isValid)
        options.trust = TrustPolicy(trustedKeys: [Self.publisher.publicKey, other.publicKey])
        let report = try ImageValidator.validate(path: path, options: options)
        #expect(report.problems.map(\.rule) == [.v48])
        #expect(report.problems.first?.code == .signatureInvalid)
    }
}
