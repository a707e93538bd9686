import Foundation
import Testing

@Suite("imgpack verify")
struct VerifyTests {
    /// Flips one byte in the middle of the payload of the first compressed data chunk; returns its index.
    static func damage(_ cli: CLI, _ image: String) throws -> Int {
        let rows = try #require(try jsonObject(try cli.run(["ls", "--json", image]).stdout)["chunks"] as? [[String: Any]])
        let row = try #require(rows.first { $0["kind"] as? String == "data" && $0["codec"] as? String == "zstd" })
        var bytes = try cli.read(image)
        let at = (row["payloadOffset"] as! Int) + (row["payloadLength"] as! Int) / 2
        bytes[at] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: cli.path(image)))
        return row["index"] as! Int
    }

    @Test("a good image verifies, in full, quickly and from standard input")
    func good() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let full = try cli.run(["verify", "sample.ipk"])
        #expect(full.status == 0)
        #expect(full.stdoutText.hasPrefix("verified sample.ipk"))
        #expect(try cli.run(["verify", "--quick", "sample.ipk"]).status == 0)
        let piped = try cli.run(["verify", "-"], stdinFile: cli.path("sample.ipk"))
        #expect(piped.status == 0, "\(piped.stderr)")
        let json = try jsonObject(try cli.run(["verify", "--json", "sample.ipk"]).stdout)
        #expect(json["valid"] as? Bool == true)
        #expect((json["failures"] as? [Any])?.isEmpty == true)
    }

    @Test("a flipped payload byte fails with exit 1, naming rule, stream, chunk and offset")
    func damagedPayload() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let chunk = try Self.damage(cli, "sample.ipk")
        let r = try cli.run(["verify", "sample.ipk"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("rule V"), "\(r.stderr)")
        #expect(r.stderr.contains("chunk \(chunk)"))
        #expect(r.stderr.contains("stream root"))
        #expect(r.stderr.contains("offset "))
        #expect(r.stderr.contains("verification failed"))

        let json = try cli.run(["verify", "--json", "sample.ipk"])
        #expect(json.status == 1)
        let failures = try #require(try jsonObject(json.stdout)["failures"] as? [[String: Any]])
        #expect(failures.count == 1)
        #expect(failures.first?["chunk"] as? Int == chunk)
        #expect((failures.first?["rule"] as? String)?.hasPrefix("V") == true)

        // Quick verification does not read payloads, so it passes; the stream check does not.
        #expect(try cli.run(["verify", "--quick", "sample.ipk"]).status == 0)
        let piped = try cli.run(["verify", "-"], stdinFile: cli.path("sample.ipk"))
        #expect(piped.status == 1)
        #expect(piped.stderr.contains("<stdin>, rule V"))
    }

    @Test("verify FILE and verify - name the same chunk (its index entry) for a payload byte flipped after a zero chunk")
    func sameChunkNumber() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let rows = try #require(try jsonObject(try cli.run(["ls", "--json", "sample.ipk"]).stdout)["chunks"] as? [[String: Any]])
        // A stored chunk with a zero chunk before it: its entry number differs from its record number.
        let row = try #require(rows.first { row in
            let index = row["index"] as! Int
            return row["kind"] as? String == "data" && rows[..<index].contains { $0["kind"] as? String == "zero" }
        })
        let chunk = row["index"] as! Int
        var bytes = try cli.read("sample.ipk")
        bytes[(row["payloadOffset"] as! Int) + (row["payloadLength"] as! Int) / 2] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: cli.path("sample.ipk")))

        let file = try cli.run(["verify", "sample.ipk"])
        let piped = try cli.run(["verify", "-"], stdinFile: cli.path("sample.ipk"))
        #expect(file.status == 1 && piped.status == 1)
        #expect(file.stderr.contains("chunk \(chunk),") || file.stderr.contains("chunk \(chunk):"), "\(file.stderr)")
        #expect(piped.stderr.contains("chunk \(chunk),") || piped.stderr.contains("chunk \(chunk):"), "\(piped.stderr)")
    }

    @Test("a truncated image fails structure checks with exit 1")
    func truncated() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let bytes = try cli.read("sample.ipk")
        try Data(bytes.prefix(bytes.count - 10)).write(to: URL(fileURLWithPath: cli.path("cut.ipk")))
        for args in [["verify", "cut.ipk"], ["verify", "--quick", "cut.ipk"]] {
            let r = try cli.run(args)
            #expect(r.status == 1)
            #expect(r.stderr.contains("cut.ipk"))
            #expect(r.stderr.contains("rule V"))
        }
        #expect(try cli.run(["verify", "-"], stdinFile: cli.path("cut.ipk")).status == 1)
    }

    @Test("--quick with standard input is a usage error")
    func quickStdin() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["verify", "--quick", "-"]).status == 2)
    }
}
