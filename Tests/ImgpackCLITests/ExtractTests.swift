import Foundation
import Testing
import TestSupport

@Suite("imgpack extract and cat")
struct ExtractTests {
    @Test("extracts every disk to sparse raw files with the same content")
    func extractAll() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let (root, data) = try cli.packSample()
        let r = try cli.run(["extract", "sample.ipk", "-o", "out"])
        #expect(r.status == 0, "\(r.stderr)")
        try expectSameBytes(cli.read("out/root.raw"), root)
        try expectSameBytes(cli.read("out/data.raw"), data)
        // The root disk is 7/16 zeros in whole chunks: those must be holes.
        #expect(cli.allocated("out/root.raw") <= root.count * 10 / 16, "\(cli.allocated("out/root.raw")) bytes allocated")
        #expect(cli.listing().filter { $0.hasPrefix("out/") } == ["out/data.raw", "out/root.raw"])
    }

    @Test("--disk selects streams; an unknown one is a usage error")
    func selectDisk() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let (_, data) = try cli.packSample()
        #expect(try cli.run(["extract", "sample.ipk", "--disk", "data", "-o", "d"]).status == 0)
        #expect(cli.listing().filter { $0.hasPrefix("d/") } == ["d/data.raw"])
        try expectSameBytes(cli.read("d/data.raw"), data)
        let unknown = try cli.run(["extract", "sample.ipk", "--disk", "swap", "-o", "d"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("root, data"))
        #expect(try cli.run(["extract", "sample.ipk", "--disk", "../x", "-o", "d"]).status == 2)
    }

    @Test("never overwrites without --force, and does with it")
    func overwrite() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let (root, _) = try cli.packSample()
        try FileManager.default.createDirectory(atPath: cli.path("out"), withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: cli.path("out/data.raw")))
        let refused = try cli.run(["extract", "sample.ipk", "-o", "out"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--force"))
        try expectSameBytes(cli.read("out/data.raw"), Array("keep".utf8))
        #expect(!cli.exists("out/root.raw"), "nothing is written when any destination exists")
        let forced = try cli.run(["extract", "sample.ipk", "-o", "out", "--force"])
        #expect(forced.status == 0)
        try expectSameBytes(cli.read("out/root.raw"), root)
        #expect(try cli.read("out/data.raw").count == 2 << 20)
    }

    @Test("--stdout writes one disk; it needs --disk when there are several")
    func toStdout() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let (root, _) = try cli.packSample()
        let r = try cli.run(["extract", "sample.ipk", "--disk", "root", "--stdout"])
        #expect(r.status == 0)
        expectSameBytes([UInt8](r.stdout), root)
        let ambiguous = try cli.run(["extract", "sample.ipk", "--stdout"])
        #expect(ambiguous.status == 2)
        #expect(ambiguous.stdout.isEmpty)
    }

    @Test("pack -o - | extract - round-trips through a pipe, sparse, leaving no temporary files")
    func pipeline() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let root = try cli.makeDisk("root.raw", size: 4 << 20, seed: 21)
        let data = try cli.makeDisk("data.raw", size: 1 << 20, seed: 22)
        let r = try cli.shell("\"$IMGPACK\" pack -q --disk root=root.raw --disk data=data.raw --name p --chunk-size 128K -o - | \"$IMGPACK\" extract - -o out")
        #expect(r.status == 0, "\(r.stderr)")
        try expectSameBytes(cli.read("out/root.raw"), root)
        try expectSameBytes(cli.read("out/data.raw"), data)
        #expect(cli.allocated("out/root.raw") <= root.count * 10 / 16)
        #expect(cli.listing() == ["data.raw", "out", "out/data.raw", "out/root.raw", "root.raw"])
        let one = try cli.shell("\"$IMGPACK\" pack -q --disk root=root.raw --name p -o - | \"$IMGPACK\" extract - --stdout > root.copy")
        #expect(one.status == 0, "\(one.stderr)")
        try expectSameBytes(cli.read("root.copy"), root)
    }

    @Test("a damaged image on standard input publishes nothing")
    func damagedStream() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        _ = try VerifyTests.damage(cli, "sample.ipk")
        let r = try cli.run(["extract", "-", "-o", "out"], stdinFile: cli.path("sample.ipk"))
        #expect(r.status == 1)
        #expect(r.stderr.contains("rule V"))
        #expect(cli.listing().filter { $0.hasPrefix("out/") }.isEmpty, "\(cli.listing())")
        let fromFile = try cli.run(["extract", "sample.ipk", "--disk", "root", "-o", "out"])
        #expect(fromFile.status == 1)
        #expect(cli.listing().filter { $0.hasPrefix("out/") }.isEmpty)
    }

    @Test("when a later disk is damaged, no disk is published, not even the good ones before it")
    func allOrNothing() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let rows = try #require(try jsonObject(try cli.run(["ls", "--json", "sample.ipk"]).stdout)["chunks"] as? [[String: Any]])
        let row = try #require(rows.last { $0["stream"] as? String == "data" && $0["kind"] as? String == "data" })
        var bytes = try cli.read("sample.ipk")
        bytes[(row["payloadOffset"] as! Int) + (row["payloadLength"] as! Int) / 2] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: cli.path("sample.ipk")))
        let r = try cli.run(["extract", "sample.ipk", "-o", "out"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("rule V26"), "\(r.stderr)")
        #expect(cli.listing().filter { $0.hasPrefix("out/") }.isEmpty, "\(cli.listing())")
    }

    @Test("cat reads ranges, across chunk boundaries and holes")
    func cat() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let (root, data) = try cli.packSample()
        let k = 1024
        for (offset, length) in [(0, 100), (256 * k - 10, 100), (1 << 20, 5000), (2 << 20, 300 * k), ((4 << 20) - 7, 7), (3 << 20, 0)] {
            let r = try cli.run(["cat", "sample.ipk", "--disk", "root", "--offset", "\(offset)", "--length", "\(length)"])
            #expect(r.status == 0, "\(r.stderr)")
            expectSameBytes([UInt8](r.stdout), Array(root[offset..<offset + length]), "offset \(offset) length \(length)")
        }
        let sized = try cli.run(["cat", "sample.ipk", "--disk", "data", "--offset", "1M", "--length", "64K"])
        expectSameBytes([UInt8](sized.stdout), Array(data[(1 << 20)..<((1 << 20) + (64 << 10))]))
        let rest = try cli.run(["cat", "sample.ipk", "--disk", "data", "--offset", "2000000"])
        expectSameBytes([UInt8](rest.stdout), Array(data[2_000_000...]))
        let past = try cli.run(["cat", "sample.ipk", "--disk", "data", "--offset", "2M", "--length", "1"])
        #expect(past.status == 2)
        #expect(try cli.run(["cat", "sample.ipk", "--length", "1"]).status == 2)
    }
}
