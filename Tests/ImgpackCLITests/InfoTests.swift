import Foundation
import Testing
import TestSupport

@Suite("imgpack info and ls")
struct InfoTests {
    @Test("info prints metadata, streams and the root digest; inspect is the same command")
    func human() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample(extra: ["--tag", "team=web", "--os", "linux:debian:12"])
        let r = try cli.run(["info", "sample.ipk"])
        #expect(r.status == 0)
        for text in ["Name         sample", "Format       version 1.2", "debian 12", "team=web", "Root digest  sha256:", "Streams", "root", "data", "RATIO", "REF", "PARENT"] {
            #expect(r.stdoutText.contains(text), "missing \(text) in\n\(r.stdoutText)")
        }
        try expectSameBytes(cli.run(["inspect", "sample.ipk"]).stdout, r.stdout)
    }

    @Test("info shows direction and zero-width characters of a description as escapes, never raw")
    func escapesMetadata() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample(extra: ["--description", "build \u{202E}txt.exe\u{200B} done"])
        let r = try cli.run(["info", "sample.ipk"])
        #expect(r.status == 0)
        #expect(r.stdoutText.contains("build \\u{202E}txt.exe\\u{200B} done"), "\(r.stdoutText)")
        #expect(!r.stdoutText.unicodeScalars.contains { $0 == "\u{202E}" || $0 == "\u{200B}" })
        let json = try jsonObject(try cli.run(["info", "--json", "sample.ipk"]).stdout)
        #expect((json["metadata"] as? [String: Any])?["description"] as? String == "build \u{202E}txt.exe\u{200B} done")
    }

    @Test("info --json follows schema 1 and its numbers add up")
    func json() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let r = try cli.run(["info", "--json", "sample.ipk"])
        #expect(r.status == 0)
        let info = try jsonObject(r.stdout)
        #expect(info["schema"] as? Int == 1)
        for key in ["path", "fileLength", "chunkSize", "rootDigest", "metadata", "logicalBytes", "storedBytes", "payloadBytes", "overheadBytes", "ratio", "chunks", "streams"] {
            #expect(info[key] != nil, "missing \(key)")
        }
        #expect(info["logicalBytes"] as? Int == 6 << 20)
        #expect(info["formatVersion"] as? String == "1.2")
        let chunks = try #require(info["chunks"] as? [String: Any])
        let byKind = try #require(chunks["byKind"] as? [String: Int])
        #expect(Set(byKind.keys) == ["zero", "data", "fill", "reference", "parent"])
        #expect(byKind.values.reduce(0, +) == chunks["total"] as? Int)
        #expect(byKind["zero"]! > 0 && byKind["data"]! > 0 && byKind["fill"]! > 0)
        #expect(chunks["total"] as? Int == 24)  // 6 MiB in 256 KiB chunks
        let streams = try #require(info["streams"] as? [[String: Any]])
        let stored = streams.compactMap { $0["storedBytes"] as? Int }.reduce(0, +)
        #expect(stored == info["storedBytes"] as? Int)
        let file = try #require(info["fileLength"] as? Int)
        #expect(file == (try cli.read("sample.ipk")).count)
        #expect((info["rootDigest"] as? String)?.hasPrefix("sha256:") == true)
    }

    @Test("info of something that is not an image exits 1 and names the rule")
    func notAnImage() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: cli.path("junk.bin")))
        let r = try cli.run(["info", "junk.bin"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("junk.bin"))
        #expect(r.stderr.contains("rule V"))
    }

    @Test("ls lists every chunk, in order, with offsets that locate the payload")
    func ls() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let (root, _) = try cli.packSample()
        let r = try cli.run(["ls", "--json", "sample.ipk"])
        #expect(r.status == 0)
        let list = try jsonObject(r.stdout)
        #expect(list["schema"] as? Int == 1)
        let rows = try #require(list["chunks"] as? [[String: Any]])
        #expect(rows.count == 24)
        #expect(rows.map { $0["index"] as? Int } == Array(0..<24))
        #expect(rows.prefix(16).allSatisfy { $0["stream"] as? String == "root" })
        let image = try cli.read("sample.ipk")
        for row in rows where row["kind"] as? String == "data" && row["codec"] as? String == "stored" {
            // A stored chunk's payload is the content itself.
            let at = row["payloadOffset"] as! Int, offset = row["logicalOffset"] as! Int, length = row["logicalLength"] as! Int
            if row["stream"] as? String == "root" { expectSameBytes(Array(image[at..<at + length]), Array(root[offset..<offset + length])) }
        }
        let human = try cli.run(["ls", "sample.ipk", "--disk", "data"])
        #expect(human.stdoutText.hasPrefix("INDEX"))
        #expect(human.stdoutText.split(separator: "\n").count == 1 + 8)
        #expect(!human.stdoutText.contains(" root "))
    }
}
