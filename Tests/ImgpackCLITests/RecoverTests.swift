import Foundation
import Testing
import TestSupport

/// `imgpack recover`: what a cut image still holds, and an exact account of what it does not.
@Suite("imgpack recover")
struct RecoverTests {
    @Test("a cut image: verified chunks recovered, the rest listed as unknown, exit 1; the error names the command")
    func truncated() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let (root, data) = try cli.packSample()
        let image = try cli.read("sample.ipk")
        try Data(image[0..<(image.count * 2 / 3)]).write(to: URL(fileURLWithPath: cli.path("cut.ipk")))

        let verify = try cli.run(["verify", "cut.ipk"])
        #expect(verify.status == 1)
        #expect(verify.stderr.contains("imgpack recover IMAGE -o DIR"), "\(verify.stderr)")

        let r = try cli.run(["recover", "cut.ipk", "-o", "salvaged", "--json"])
        #expect(r.status == 1, "\(r.stderr)")
        let report = try jsonObject(r.stdout)
        #expect(report["indexFound"] as? Bool == false && report["footerFound"] as? Bool == false && report["complete"] as? Bool == false)
        let streams = report["streams"] as? [[String: Any]] ?? []
        try #require(streams.count == 2)
        let originals = ["root": root, "data": data]
        var missingSomewhere = false
        for stream in streams {
            let name = try #require(stream["name"] as? String)
            let original = try #require(originals[name])
            let recovered = try cli.read("salvaged/\(name).raw")
            #expect(recovered.count == original.count)
            let missing = (stream["missing"] as? [[String: Any]] ?? []).map { ($0["offset"] as! Int, $0["length"] as! Int) }
            missingSomewhere = missingSomewhere || !missing.isEmpty
            // Outside the missing ranges, every byte is the original.
            var mask = [Bool](repeating: true, count: original.count)
            for (offset, length) in missing { for i in offset..<offset + length { mask[i] = false } }
            #expect(!original.indices.contains { mask[$0] && recovered[$0] != original[$0] }, "\(name): a recovered byte differs")
        }
        #expect(missingSomewhere)
        // The root disk has zero chunks; with the index lost they cannot be told from lost chunks.
        let rootMissing = (streams.first { $0["name"] as? String == "root" }?["missingBytes"] as? Int) ?? 0
        #expect(rootMissing > 0)

        // Text: says unknown, not zero.
        let text = try cli.run(["recover", "cut.ipk", "-o", "again"])
        #expect(text.status == 1)
        #expect(text.stdoutText.contains("UNKNOWN (not zero"), "\(text.stdoutText)")
        #expect(text.stdoutText.contains("index NOT found"))
    }

    @Test("an intact image recovers completely, exit 0; existing files are refused without --force")
    func intact() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let (root, data) = try cli.packSample()
        let r = try cli.run(["recover", "sample.ipk", "-o", "out"])
        #expect(r.status == 0, "\(r.stderr)")
        try expectSameBytes(cli.read("out/root.raw"), root)
        try expectSameBytes(cli.read("out/data.raw"), data)
        #expect(r.stdoutText.contains("every byte recovered"))
        let again = try cli.run(["recover", "sample.ipk", "-o", "out"])
        #expect(again.status == 2)
        #expect(try cli.run(["recover", "sample.ipk", "-o", "out", "--force"]).status == 0)
    }

    @Test("a chunk that fails verification is reported and its range left missing")
    func damagedChunk() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let listed = try jsonObject(try cli.run(["ls", "sample.ipk", "--json"]).stdout)["chunks"] as? [[String: Any]] ?? []
        let victim = try #require(listed.first { $0["kind"] as? String == "data" })
        var image = try cli.read("sample.ipk")
        image[victim["payloadOffset"] as! Int + 10] ^= 0xFF
        try Data(image).write(to: URL(fileURLWithPath: cli.path("bad.ipk")))
        let r = try cli.run(["recover", "bad.ipk", "-o", "out", "--json"])
        #expect(r.status == 1)
        let report = try jsonObject(r.stdout)
        #expect(report["indexFound"] as? Bool == true)
        #expect((report["failedChunks"] as? [Any])?.count == 1)
        let stream = (report["streams"] as? [[String: Any]] ?? []).first { $0["name"] as? String == victim["stream"] as? String }
        let missing = stream?["missing"] as? [[String: Any]] ?? []
        #expect(missing.count == 1 && missing.first?["offset"] as? Int == victim["logicalOffset"] as? Int, "\(missing)")
    }
}
