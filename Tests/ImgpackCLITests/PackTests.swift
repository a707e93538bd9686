import Foundation
import Testing
import TestSupport

@Suite("imgpack pack")
struct PackTests {
    @Test("packs raw files in the order given and prints a summary on stderr")
    func packFromRawFiles() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let info = try jsonObject(try cli.run(["info", "--json", "sample.ipk"]).stdout)
        let streams = try #require(info["streams"] as? [[String: Any]])
        #expect(streams.map { $0["name"] as? String } == ["root", "data"])
        #expect(streams.map { $0["logicalSize"] as? Int } == [4 << 20, 2 << 20])
        #expect(info["chunkSize"] as? Int == 256 << 10)
        let again = try cli.run(["pack", "--disk", "a=root.raw", "--name", "x", "-o", "x.ipk"])
        #expect(again.stderr.contains("root digest  sha256:"))
        #expect(again.stderr.contains("ratio"))
        #expect(again.stdout.isEmpty)
    }

    @Test("--json prints the summary on stdout, matching info")
    func packJSON() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 1 << 20, seed: 3)
        let result = try cli.run(["pack", "--disk", "root=root.raw", "--name", "j", "--json", "-o", "j.ipk"])
        #expect(result.status == 0)
        let summary = try jsonObject(result.stdout)
        #expect(summary["schema"] as? Int == 1)
        #expect(summary["logicalBytes"] as? Int == 1 << 20)
        let info = try jsonObject(try cli.run(["info", "--json", "j.ipk"]).stdout)
        #expect(summary["rootDigest"] as? String == info["rootDigest"] as? String)
        #expect(summary["fileLength"] as? Int == info["fileLength"] as? Int)
    }

    @Test("the same inputs give the same bytes with SOURCE_DATE_EPOCH, for any thread count")
    func reproducible() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 2 << 20, seed: 4)
        let env = ["SOURCE_DATE_EPOCH": "1700000000"]
        for (name, threads) in [("a.ipk", "1"), ("b.ipk", "2")] {
            let r = try cli.run(["pack", "--disk", "root=root.raw", "--name", "r", "--chunk-size", "64K", "--threads", threads, "-o", name], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
        }
        try expectSameBytes(cli.read("a.ipk"), cli.read("b.ipk"))
        let info = try jsonObject(try cli.run(["info", "--json", "a.ipk"]).stdout)
        let metadata = try #require(info["metadata"] as? [String: Any])
        #expect(metadata["createdAt"] as? String == "2023-11-14T22:13:20Z")
    }

    @Test("metadata comes from a file and flags override it")
    func metadataFileAndFlags() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 1 << 20, seed: 5)
        let json = #"{"name": "from-file", "os": {"family": "linux", "distribution": "debian", "version": "12"}, "vcpuCount": 8, "tags": {"team": "web"}}"#
        try json.write(toFile: cli.path("meta.json"), atomically: true, encoding: .utf8)
        let r = try cli.run([
            "pack", "--disk", "root=root.raw", "--metadata", "meta.json", "--vcpus", "4", "--memory", "16G", "--arch", "arm64",
            "--boot-mode", "uefi-preferred", "--share-with", "111", "--share-with", "222", "--tag", "env=prod",
            "--created-at", "2024-01-02T03:04:05Z", "-o", "m.ipk",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let m = try #require(try jsonObject(try cli.run(["info", "--json", "m.ipk"]).stdout)["metadata"] as? [String: Any])
        #expect(m["name"] as? String == "from-file")
        #expect(m["vcpuCount"] as? Int == 4)
        #expect(m["memoryMiB"] as? Int == 16384)
        #expect(m["architecture"] as? String == "arm64")
        #expect(m["bootMode"] as? String == "uefi-preferred")
        #expect(m["visibility"] as? String == "shared")
        #expect(m["sharedWith"] as? [String] == ["111", "222"])
        #expect(m["tags"] as? [String: String] == ["team": "web", "env": "prod"])
        #expect(m["createdAt"] as? String == "2024-01-02T03:04:05Z")
        #expect((m["os"] as? [String: String])?["distribution"] == "debian")
    }

    @Test("an unknown key in the metadata file is a usage error")
    func metadataUnknownKey() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 1 << 20, seed: 5)
        try #"{"name": "x", "vcpus": 4}"#.write(toFile: cli.path("meta.json"), atomically: true, encoding: .utf8)
        let r = try cli.run(["pack", "--disk", "root=root.raw", "--metadata", "meta.json", "-o", "m.ipk"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown metadata key \"vcpus\""))
        #expect(!cli.exists("m.ipk"))
    }

    @Test("never replaces an existing file without --force")
    func refusesToOverwrite() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 1 << 20, seed: 6)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: cli.path("out.ipk")))
        let refused = try cli.run(["pack", "--disk", "root=root.raw", "--name", "o", "-o", "out.ipk"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--force"))
        try expectSameBytes(cli.read("out.ipk"), Array("precious".utf8))
        let forced = try cli.run(["pack", "--disk", "root=root.raw", "--name", "o", "--force", "-o", "out.ipk"])
        #expect(forced.status == 0)
        #expect(try cli.run(["verify", "out.ipk"]).status == 0)
        #expect(cli.listing() == ["out.ipk", "root.raw"])
    }

    @Test("a disk name that could escape a directory is refused before anything is written")
    func refusesUnsafeNames() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 1 << 20, seed: 7)
        for name in ["../evil", ".hidden", "a/b", ""] {
            let r = try cli.run(["pack", "--disk", "\(name)=root.raw", "--name", "n", "-o", "n.ipk"])
            #expect(r.status == 2, "name \(name)")
            #expect(r.stderr.contains("Error:"), "name \(name): \(r.stderr)")
        }
        #expect(!cli.exists("n.ipk"))
    }

    @Test("bad option values are usage errors (exit 2)", arguments: [
        ["--chunk-size", "3000"], ["--chunk-size", "4X"], ["--level", "42"], ["--codec", "lzma"], ["--threads", "0"],
        ["--created-at", "yesterday"], ["--vcpus", "0"], ["--tag", "novalue"], ["--block-size", "root=3000"], ["--block-size", "swap=512"],
    ])
    func badOptions(_ extra: [String]) throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 1 << 20, seed: 8)
        let r = try cli.run(["pack", "--disk", "root=root.raw", "--name", "b", "-o", "b.ipk"] + extra)
        #expect(r.status == 2, "\(extra): \(r.stderr)")
        #expect(!cli.exists("b.ipk"))
    }

    @Test("chunk sizes accept 1MiB, 64K and plain bytes; codecs zlib and stored work")
    func sizesAndCodecs() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 2 << 20, seed: 9)
        for (size, bytes, codec) in [("1MiB", 1 << 20, "zlib"), ("64K", 64 << 10, "stored"), ("131072", 128 << 10, "zstd")] {
            let r = try cli.run(["pack", "--disk", "root=root.raw", "--name", "c", "--chunk-size", size, "--codec", codec, "--force", "-o", "c.ipk"])
            #expect(r.status == 0, "\(r.stderr)")
            let info = try jsonObject(try cli.run(["info", "--json", "c.ipk"]).stdout)
            #expect(info["chunkSize"] as? Int == bytes)
            let codecs = try #require((info["chunks"] as? [String: Any])?["byCodec"] as? [String: Int])
            #expect(codecs[codec, default: 0] > 0, "\(codecs)")
            #expect(try cli.run(["verify", "c.ipk"]).status == 0)
        }
    }

    @Test("a missing input file is an I/O error (exit 3)")
    func missingInput() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["pack", "--disk", "root=missing.raw", "--name", "m", "-o", "m.ipk"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("missing.raw"))
        #expect(cli.listing().isEmpty)
    }

    @Test("sections are packed after the disks with their kind")
    func sections() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 1 << 20, seed: 10)
        try cli.makeDisk("mem.bin", size: 512 << 10, seed: 11)
        let r = try cli.run(["pack", "--section", "memory:ram=mem.bin", "--disk", "root=root.raw", "--name", "s", "-o", "s.ipk"])
        #expect(r.status == 0, "\(r.stderr)")
        let streams = try #require(try jsonObject(try cli.run(["info", "--json", "s.ipk"]).stdout)["streams"] as? [[String: Any]])
        #expect(streams.map { $0["name"] as? String } == ["root", "ram"])
        #expect(streams.map { $0["kind"] as? String } == ["disk", "memory"])
    }
}
