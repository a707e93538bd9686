import Foundation
import Testing

@Suite("imgpack validate")
struct ValidateTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("samples").path

    @Test("a good image is valid: exit 0, text and JSON")
    func good() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let r = try cli.run(["validate", "sample.ipk"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutText.hasPrefix("sample.ipk: valid"))
        let json = try jsonObject(try cli.run(["validate", "--json", "sample.ipk"]).stdout)
        #expect(json["schema"] as? Int == 1)
        #expect(json["isValid"] as? Bool == true)
        #expect((json["problems"] as? [Any])?.isEmpty == true)
        #expect((json["rootDigest"] as? String)?.hasPrefix("sha256:") == true)
    }

    @Test("every problem is listed, with exit 1; --json carries rule, code and offset")
    func invalid() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let path = Self.samples + "/invalid/V26-payload-crc.ipk"
        let r = try cli.run(["validate", path])
        #expect(r.status == 1)
        #expect(r.stdoutText.contains("INVALID"))
        #expect(r.stdoutText.contains("rule V26"))
        let json = try cli.run(["validate", "--json", path])
        #expect(json.status == 1)
        let problems = try #require(try jsonObject(json.stdout)["problems"] as? [[String: Any]])
        #expect(problems.first?["rule"] as? String == "V26")
        #expect(problems.first?["code"] as? String == "chunkChecksumMismatch")
        #expect(problems.first?["offset"] is Int)
    }

    @Test("a file that cannot be read exits 3; standard input is a usage error (2)")
    func unreadable() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["validate", "missing.ipk"]).status == 3)
        #expect(try cli.run(["validate", "-"]).status == 2)
    }
}
