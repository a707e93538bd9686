import Foundation
import Testing
import TestSupport
@testable import ImagePack

@Suite("imgpack share, copy --region, validate --trusted-key")
struct ShareTests {
    @Test("share changes who may use the image in place; the root digest is unchanged and the publisher's signature still verifies")
    func shareThenVerify() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["pack", "--simulate", "8M", "--quiet", "-o", "x.ipk"]).status == 0)
        #expect(try cli.run(["key", "generate", "-o", "publisher"]).status == 0)
        #expect(try cli.run(["sign", "x.ipk", "--key", "publisher"]).status == 0)
        let root = try jsonObject(try cli.run(["info", "--json", "x.ipk"]).stdout)["rootDigest"] as? String
        let size = try cli.read("x.ipk").count

        let r = try cli.run(["share", "x.ipk", "--add", "444455556666", "777788889999", "--name", "web-1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try jsonObject(r.stdout)
        #expect(report["rootDigest"] as? String == root)
        #expect(report["sharedWith"] as? [String] == ["444455556666", "777788889999"])
        #expect(report["visibility"] as? String == "shared")
        #expect(report["inPlace"] as? Bool == true)
        #expect(report["signatures"] as? Int == 1)
        #expect(try cli.read("x.ipk").count == size)

        #expect(try cli.run(["share", "x.ipk", "--remove", "777788889999"]).status == 0)
        let verify = try cli.run(["verify", "x.ipk", "--trusted-key", "publisher.pub"])
        #expect(verify.status == 0, "\(verify.stderr)")
        let info = try jsonObject(try cli.run(["info", "--json", "x.ipk"]).stdout)
        #expect(info["rootDigest"] as? String == root)
        let metadata = info["metadata"] as? [String: Any]
        #expect(metadata?["name"] as? String == "web-1")
        #expect(metadata?["sharedWith"] as? [String] == ["444455556666"])
        #expect(try cli.run(["validate", "x.ipk", "--trusted-key", "publisher.pub"]).status == 0)

        let pub = try cli.run(["share", "x.ipk", "--visibility", "public"])
        #expect(pub.status == 0, "\(pub.stderr)")
        #expect((try jsonObject(try cli.run(["info", "--json", "x.ipk"]).stdout)["metadata"] as? [String: Any])?["sharedWith"] as? [String] == [])
    }

    @Test("share refuses what it cannot do: nothing asked, a format 1.0 image (exit 2, unchanged), an invalid name")
    func refusals() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["pack", "--simulate", "4M", "--legacy-layout", "--quiet", "-o", "old.ipk"]).status == 0)
        let old = try cli.read("old.ipk")
        #expect(try cli.run(["share", "old.ipk"]).status == 2)
        let legacy = try cli.run(["share", "old.ipk", "--add", "444455556666"])
        #expect(legacy.status == 2)
        #expect(legacy.stderr.contains("format 1.0 layout"), "\(legacy.stderr)")
        try expectSameBytes(cli.read("old.ipk"), old)
        #expect(try cli.run(["pack", "--simulate", "4M", "--quiet", "-o", "new.ipk"]).status == 0)
        let new = try cli.read("new.ipk")
        #expect(try cli.run(["share", "new.ipk", "--name", String(repeating: "n", count: 200)]).status == 2)
        #expect(try cli.run(["share", "new.ipk", "--add", "1", "--visibility", "public"]).status == 2)
        try expectSameBytes(cli.read("new.ipk"), new)
    }

    @Test("copy --region: the same root digest and signature, another region in the catalogue")
    func copyRegion() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["pack", "--simulate", "8M", "--quiet", "-o", "x.ipk"]).status == 0)
        #expect(try cli.run(["key", "generate", "-o", "publisher"]).status == 0)
        #expect(try cli.run(["sign", "x.ipk", "--key", "publisher"]).status == 0)
        let r = try cli.run(["copy", "x.ipk", "--region", "sa-east-1", "--quiet", "-o", "y.ipk"])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try jsonObject(try cli.run(["info", "--json", "x.ipk"]).stdout)
        let b = try jsonObject(try cli.run(["info", "--json", "y.ipk"]).stdout)
        #expect(a["rootDigest"] as? String == b["rootDigest"] as? String)
        #expect((b["metadata"] as? [String: Any])?["region"] as? String == "sa-east-1")
        #expect(try cli.run(["verify", "y.ipk", "--trusted-key", "publisher.pub"]).status == 0)
    }
}
