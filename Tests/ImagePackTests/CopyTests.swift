import Foundation
import Testing
import TestSupport
@testable import ImagePack

@Suite("ImageCopier: checked copies that keep the root digest and signatures")
struct CopyTests {
    @Test("a verbatim copy is byte-identical, keeps the signatures, and still verifies with the publisher's key")
    func verbatim() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, root) = try SigningTests.image(in: dir)
        try ImageSigner.sign(imageAt: path, with: SigningTests.publisher)
        let summary = try ImageCopier.copy(imageAt: path, toFile: dir + "/copy.ipk", options: ReadOptions(threads: 2))
        #expect(summary.rootDigest == root)
        #expect(!summary.reencoded)
        #expect(summary.signatureCount == 1)
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: dir + "/copy.ipk")), Data(contentsOf: URL(fileURLWithPath: path)))
        let copy = try ImageReader(path: dir + "/copy.ipk")
        #expect(try TrustPolicy(trustedKeys: [SigningTests.publisher.publicKey]).check(copy).map(\.status) == [.verifiedTrusted])
        // Never replaced without overwrite.
        let error = #expect(throws: ImagePackError.self) { try ImageCopier.copy(imageAt: path, toFile: dir + "/copy.ipk") }
        #expect(error?.code == .destinationExists)
    }

    @Test("a re-encoded copy (zlib, stored) has other bytes, the same root digest and the same signatures", arguments: [Codec.zlib, .stored])
    func reencoded(codec: Codec) throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, root) = try SigningTests.image(in: dir)
        try ImageSigner.sign(imageAt: path, with: SigningTests.publisher)
        try ImageSigner.sign(imageAt: path, with: SigningTests.other)
        let summary = try ImageCopier.copy(imageAt: path, toFile: dir + "/copy.ipk", codec: codec, options: ReadOptions(threads: 2))
        #expect(summary.rootDigest == root)
        #expect(summary.reencoded)
        let copy = try ImageReader(path: dir + "/copy.ipk")
        #expect(copy.rootDigest == root)
        #expect(copy.entries.filter { $0.kind == .data }.allSatisfy { $0.codec == codec || $0.codec == .stored })
        #expect(try copy.verify(ReadOptions(threads: 2)).isValid)
        #expect(TrustPolicy(trustedKeys: [SigningTests.publisher.publicKey, SigningTests.other.publicKey]).evaluate(copy).map(\.status) == [.verifiedTrusted, .verifiedTrusted])
        #expect(try ImageValidator.validate(path: copy.path).isValid)
        let (original, _) = try streamAll(path)
        let (copied, _) = try streamAll(copy.path)
        #expect(original.rootDigest == copied.rootDigest)
    }

    @Test("a damaged chunk stops the copy with its rule and publishes nothing")
    func damaged() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, _) = try SigningTests.image(in: dir)
        let reader = try ImageReader(path: path)
        let entry = try #require(reader.entries.first { $0.kind == .data })
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[Int(entry.recordOffset) + Layout.chunkPrefixSize + Int(entry.payloadLength) / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for codec in [nil, Codec.zlib] {
            let error = #expect(throws: ImagePackError.self) { try ImageCopier.copy(imageAt: path, toFile: dir + "/copy.ipk", codec: codec, options: ReadOptions(threads: 2)) }
            #expect(error?.rule == .v26)
            #expect(!FileManager.default.fileExists(atPath: dir + "/copy.ipk"))
        }
    }
}
