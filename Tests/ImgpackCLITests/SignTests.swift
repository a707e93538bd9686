import Foundation
import Testing
import TestSupport
@testable import ImagePack

@Suite("imgpack key, sign and trust")
struct SignTests {
    @Test("key generate writes a 0600 PKCS#8 key and a PEM public key that openssl reads, and prints the key id")
    func generate() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["key", "generate", "-o", "publisher"])
        #expect(r.status == 0, "\(r.stderr)")
        var info = stat()
        #expect(stat(cli.path("publisher"), &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        let keyID = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "key id ", with: "")
        #expect(keyID.count == 64)
        // openssl derives the same public key from the private one.
        let derived = try cli.shell("openssl pkey -in publisher -pubout")
        #expect(derived.status == 0, "\(derived.stderr)")
        #expect(derived.stdoutText == String(decoding: try cli.read("publisher.pub"), as: UTF8.self))
        // The key id is the SHA-256 of the last 32 bytes of the DER public key.
        let id = try cli.shell("openssl pkey -in publisher -pubout -outform DER | tail -c 32 | sha256sum | cut -c1-64")
        #expect(id.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == keyID)
        // Never replaced without --force.
        #expect(try cli.run(["key", "generate", "-o", "publisher"]).status == 2)
        #expect(try cli.run(["key", "generate", "-o", "publisher", "--force"]).status == 0)
    }

    @Test("an image signed with an openssl-made key verifies with its public key; exit 5 without a trusted signature")
    func signAndVerify() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        #expect(try cli.shell("openssl genpkey -algorithm ed25519 -out ossl.pem && openssl pkey -in ossl.pem -pubout -out ossl.pub").status == 0)
        #expect(try cli.run(["key", "generate", "-o", "stranger"]).status == 0)
        let rootBefore = try jsonObject(try cli.run(["info", "--json", "sample.ipk"]).stdout)["rootDigest"] as? String

        // Unsigned: intact but untrusted.
        let unsigned = try cli.run(["verify", "sample.ipk", "--trusted-key", "ossl.pub"])
        #expect(unsigned.status == 5, "\(unsigned.stderr)")
        #expect(unsigned.stderr.contains("not signed by a trusted key"))

        let signed = try cli.run(["sign", "sample.ipk", "--key", "ossl.pem"])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(try cli.run(["sign", "sample.ipk", "--key", "ossl.pem"]).status == 2)

        let good = try cli.run(["verify", "sample.ipk", "--trusted-key", "ossl.pub"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdoutText.contains("signed by trusted key"))
        #expect(try cli.run(["verify", "-", "--trusted-key", "ossl.pub"], stdinFile: cli.path("sample.ipk")).status == 0)
        #expect(try cli.run(["verify", "sample.ipk", "--trusted-key", "stranger.pub"]).status == 5)
        #expect(try cli.run(["verify", "-", "--trusted-key", "stranger.pub"], stdinFile: cli.path("sample.ipk")).status == 5)
        // Without keys, verify says nothing about trust.
        #expect(try cli.run(["verify", "sample.ipk"]).status == 0)

        // A trust directory works like the keys in it.
        try FileManager.default.createDirectory(atPath: cli.path("trust"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: cli.path("ossl.pub"), toPath: cli.path("trust/publisher.pub"))
        #expect(try cli.run(["verify", "--quick", "sample.ipk", "--trust-dir", "trust"]).status == 0)

        let info = try jsonObject(try cli.run(["info", "--json", "sample.ipk", "--trusted-key", "ossl.pub"]).stdout)
        #expect(info["rootDigest"] as? String == rootBefore)
        let signatures = try #require(info["signatures"] as? [[String: Any]])
        #expect(signatures.count == 1)
        #expect(signatures.first?["status"] as? String == "verified-trusted")
        #expect(try cli.run(["info", "sample.ipk"]).stdoutText.contains("Signatures"))
    }

    @Test("extract and export refuse an untrusted image before writing anything")
    func extractRefusesUntrusted() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let (root, _) = try cli.packSample()
        #expect(try cli.run(["key", "generate", "-o", "publisher"]).status == 0)
        #expect(try cli.run(["key", "generate", "-o", "stranger"]).status == 0)
        #expect(try cli.run(["sign", "sample.ipk", "--key", "publisher"]).status == 0)

        #expect(try cli.run(["extract", "sample.ipk", "-o", "out", "--trusted-key", "stranger.pub"]).status == 5)
        #expect(!cli.exists("out/root.raw"))
        #expect(try cli.run(["extract", "-", "-o", "piped", "--trusted-key", "stranger.pub"], stdinFile: cli.path("sample.ipk")).status == 5)
        #expect(!cli.exists("piped/root.raw"))
        #expect(try cli.run(["export", "sample.ipk", "--disk", "root", "--format", "qcow2", "-o", "root.qcow2", "--trusted-key", "stranger.pub"]).status == 5)
        #expect(!cli.exists("root.qcow2"))
        #expect(try cli.run(["export", "sample.ipk", "--disk", "root", "--format", "qcow2", "-o", "root.qcow2", "--trusted-key", "publisher.pub"]).status == 0)

        #expect(try cli.run(["extract", "sample.ipk", "-o", "out", "--trusted-key", "publisher.pub"]).status == 0)
        try expectSameBytes(cli.read("out/root.raw"), root)
        #expect(try cli.run(["extract", "-", "-o", "piped", "--trusted-key", "publisher.pub"], stdinFile: cli.path("sample.ipk")).status == 0)
        try expectSameBytes(cli.read("piped/root.raw"), root)
    }
}

@Suite("imgpack verify: a forged signature")
struct ForgedSignatureTests {
    @Test("a signature by a trusted key over another image's root fails verify with exit 1 and rule V48")
    func graftedSignature() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        // The format 1.0 layout, whose signature region this test extends by hand.
        _ = try cli.packSample(extra: ["--legacy-layout"])
        #expect(try cli.run(["key", "generate", "-o", "publisher"]).status == 0)
        let key = try SigningKey(contentsOf: cli.path("publisher"))
        // A valid signature of another root, appended as a well-formed SIGN record.
        var bytes = try cli.read("sample.ipk")
        let footerAt = bytes.count - Layout.footerSize
        var footer = try FileFooter.decode(Array(bytes[footerAt...]), at: UInt64(footerAt))
        let record = ImageSigner.signatureRecord(rootDigest: Digest.sha256(Array("another image".utf8)), key: key)
        footer.signaturesOffset = UInt64(footerAt)
        footer.signaturesLength = UInt64(record.count)
        footer.fileLength += UInt64(record.count)
        bytes.replaceSubrange(footerAt..., with: record + footer.encode())
        try Data(bytes).write(to: URL(fileURLWithPath: cli.path("sample.ipk")))

        #expect(try cli.run(["verify", "sample.ipk"]).status == 0, "without keys the record is only checked for structure")
        let r = try cli.run(["verify", "sample.ipk", "--trusted-key", "publisher.pub"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("V48"), "\(r.stderr)")
        #expect(try cli.run(["extract", "sample.ipk", "-o", "out", "--trusted-key", "publisher.pub"]).status == 1)
        #expect(!cli.exists("out/root.raw"))
    }
}

@Suite("imgpack copy")
struct CopyCommandTests {
    @Test("copy keeps the root digest and the signatures, verbatim or re-encoded")
    func copy() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        #expect(try cli.run(["key", "generate", "-o", "publisher"]).status == 0)
        #expect(try cli.run(["sign", "sample.ipk", "--key", "publisher"]).status == 0)
        let root = try jsonObject(try cli.run(["info", "--json", "sample.ipk"]).stdout)["rootDigest"] as? String
        for (name, extra) in [("same.ipk", [String]()), ("zlib.ipk", ["--codec", "zlib", "--level", "1"])] {
            let r = try cli.run(["copy", "sample.ipk", "-o", name, "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let report = try jsonObject(r.stdout)
            #expect(report["rootDigest"] as? String == root)
            #expect(report["signatures"] as? Int == 1)
            #expect(try cli.run(["verify", name, "--trusted-key", "publisher.pub"]).status == 0)
        }
        try expectSameBytes(cli.read("same.ipk"), cli.read("sample.ipk"))
        #expect(try cli.run(["copy", "sample.ipk", "-o", "same.ipk"]).status == 2)
        #expect(try cli.run(["copy", "sample.ipk", "-o", "x.ipk", "--level", "3"]).status == 2)
    }
}
