import Foundation
import Testing
import TestSupport

@Suite("dedup from the command line: pack writes references, every reading command reads them")
struct DedupCLITests {
    /// The same creation time for both packs, so their metadata (and root digests) can be equal.
    static let fixedTime = ["SOURCE_DATE_EPOCH": "1700000000"]

    /// A disk of 64 KiB chunks holding a 256 KiB "file" twice at chunk alignment, with other
    /// content between and a short last chunk; written to `name`.
    func duplicatedDisk(_ cli: CLI, _ name: String) throws -> [UInt8] {
        var rng = SplitMix(seed: 5)
        var file = [UInt8](repeating: 0, count: 256 << 10)
        let words = Array("lorem ipsum dolor sit amet, consectetur adipiscing elit\n".utf8)
        for i in file.indices { file[i] = words[(i + Int(rng.next() % 5)) % words.count] }
        var noise = [UInt8](repeating: 0, count: 64 << 10)
        for i in noise.indices { noise[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let disk = noise + file + [UInt8](repeating: 0, count: 64 << 10) + file + Array(noise[0..<1000])
        try Data(disk).write(to: URL(fileURLWithPath: cli.path(name)))
        return disk
    }

    @Test("pack dedups (same root digest as --no-dedup, smaller); verify, validate, info, extract from a file and from a pipe, cat, export, diff, recover")
    func commands() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let disk = try duplicatedDisk(cli, "disk.raw")
        let packed = try cli.run(["pack", "--disk", "root=disk.raw", "--name", "web", "--chunk-size", "64K", "--json", "-o", "d.ipk"], environment: Self.fixedTime)
        #expect(packed.status == 0, "\(packed.stderr)")
        let plain = try cli.run(["pack", "--disk", "root=disk.raw", "--name", "web", "--chunk-size", "64K", "--no-dedup", "--json", "-o", "n.ipk"], environment: Self.fixedTime)
        #expect(plain.status == 0, "\(plain.stderr)")
        let root = try jsonObject(packed.stdout)["rootDigest"] as? String
        let plainRoot = try jsonObject(plain.stdout)["rootDigest"] as? String
        #expect(root != nil && root == plainRoot)
        #expect(try cli.read("d.ipk").count < cli.read("n.ipk").count)

        let info = try jsonObject(try cli.run(["info", "--json", "d.ipk"]).stdout)
        let chunks = try #require(info["chunks"] as? [String: Any])
        let byKind = try #require(chunks["byKind"] as? [String: Int])
        #expect(byKind["reference"] == 4, "the file's second copy: \(byKind)")
        // The text report counts them per stream: the REF column, before PARENT, the last two.
        let text = try cli.run(["info", "d.ipk"]).stdoutText
        let header = try #require(text.split(separator: "\n").first { $0.contains("REF") }).split(separator: " ")
        let row = try #require(text.split(separator: "\n").first { $0.contains(" root ") }).split(separator: " ")
        #expect(header.suffix(2) == ["REF", "PARENT"], "\(text)")
        #expect(row.suffix(2) == ["4", "0"], "\(text)")
        #expect(try cli.run(["verify", "d.ipk"]).status == 0)
        #expect(try cli.run(["validate", "d.ipk"]).status == 0)

        #expect(try cli.run(["extract", "d.ipk", "-o", "out"]).status == 0)
        try expectSameBytes(cli.read("out/root.raw"), disk)
        let piped = try cli.run(["extract", "-", "-o", "piped"], stdinFile: cli.path("d.ipk"))
        #expect(piped.status == 0, "\(piped.stderr)")
        try expectSameBytes(cli.read("piped/root.raw"), disk)
        let pipedVerify = try cli.run(["verify", "-", "--json"], stdinFile: cli.path("d.ipk"))
        #expect(pipedVerify.status == 0, "\(pipedVerify.stderr)")
        // verify - keeps no content for references; they count as checked, as their plain copies do.
        let plainVerify = try jsonObject(try cli.run(["verify", "-", "--json"], stdinFile: cli.path("n.ipk")).stdout)
        let verified = try jsonObject(pipedVerify.stdout)
        #expect(verified["bytesChecked"] as? Int != nil && verified["bytesChecked"] as? Int == plainVerify["bytesChecked"] as? Int)
        #expect(verified["rootDigest"] as? String == root)
        let cat = try cli.run(["cat", "d.ipk", "--offset", "\(320 << 10)", "--length", "\(256 << 10)"])
        #expect(cat.status == 0)
        expectSameBytes([UInt8](cat.stdout), Array(disk[(320 << 10)..<(576 << 10)]))
        #expect(try cli.run(["export", "d.ipk", "--format", "raw", "-o", "e.raw"]).status == 0)
        try expectSameBytes(cli.read("e.raw"), disk)

        let diff = try jsonObject(try cli.run(["diff", "--json", "d.ipk", "n.ipk"]).stdout)
        #expect(diff["identical"] as? Bool == true, "references change how, not what")

        #expect(try cli.run(["recover", "d.ipk", "-o", "rec"]).status == 0)
        try expectSameBytes(cli.read("rec/root.raw"), disk)
    }

    @Test("pack to standard output (the header cannot be rewritten) gives an image every reader takes, with the root digest of a file")
    func packToPipe() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let disk = try duplicatedDisk(cli, "disk.raw")
        let file = try cli.run(["pack", "--disk", "root=disk.raw", "--chunk-size", "64K", "--json", "-o", "f.ipk"])
        #expect(file.status == 0)
        let piped = try cli.shell("\"$IMGPACK\" pack --disk root=disk.raw --chunk-size 64K --name web -o - > p.ipk")
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try cli.run(["verify", "p.ipk"]).status == 0)
        let streamed = try cli.run(["extract", "-", "-o", "out"], stdinFile: cli.path("p.ipk"))
        #expect(streamed.status == 0, "\(streamed.stderr)")
        try expectSameBytes(cli.read("out/root.raw"), disk)
    }

    @Test("a delta with references: pack --parent, extract through the parent, flatten and rebase keep the root digest and the content")
    func deltaFlattenRebase() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let disk = try duplicatedDisk(cli, "disk.raw")
        #expect(try cli.run(["pack", "--disk", "root=disk.raw", "--name", "web", "--chunk-size", "64K", "-o", "base.ipk"], environment: Self.fixedTime).status == 0)
        // The next backup: the first chunk is new, and repeated in place of the zero chunk.
        var next = disk
        let fresh = Array("a new chunk, written after the first backup\n".utf8)
        let chunk = (0..<(64 << 10)).map { fresh[$0 % fresh.count] }
        next.replaceSubrange(0..<(64 << 10), with: chunk)
        next.replaceSubrange((320 << 10)..<(384 << 10), with: chunk)
        try Data(next).write(to: URL(fileURLWithPath: cli.path("disk.raw")))
        let delta = try cli.run(["pack", "--disk", "root=disk.raw", "--name", "web", "--parent", "base.ipk", "--json", "-o", "delta.ipk"], environment: Self.fixedTime)
        #expect(delta.status == 0, "\(delta.stderr)")
        let full = try cli.run(["pack", "--disk", "root=disk.raw", "--name", "web", "--chunk-size", "64K", "--json", "-o", "full.ipk"], environment: Self.fixedTime)
        let root = try jsonObject(delta.stdout)["rootDigest"] as? String
        let fullRoot = try jsonObject(full.stdout)["rootDigest"] as? String
        #expect(root != nil && root == fullRoot)
        let info = try jsonObject(try cli.run(["info", "--json", "delta.ipk"]).stdout)
        let byKind = try #require((info["chunks"] as? [String: Any])?["byKind"] as? [String: Int])
        #expect(byKind["reference"] == 1 && (byKind["parent"] ?? 0) > 0, "\(byKind)")
        #expect(try cli.run(["extract", "-", "--parent", "base.ipk", "-o", "out"], stdinFile: cli.path("delta.ipk")).status == 0)
        try expectSameBytes(cli.read("out/root.raw"), next)
        let flat = try cli.run(["flatten", "delta.ipk", "--parent", "base.ipk", "--json", "-o", "flat.ipk"])
        #expect(flat.status == 0, "\(flat.stderr)")
        #expect(try jsonObject(flat.stdout)["rootDigest"] as? String == root)
        #expect(try cli.run(["verify", "flat.ipk"]).status == 0)
        let rebased = try cli.run(["rebase", "delta.ipk", "--parent", "base.ipk", "--onto", "full.ipk", "--json", "-o", "rebased.ipk"])
        #expect(rebased.status == 0, "\(rebased.stderr)")
        #expect(try jsonObject(rebased.stdout)["rootDigest"] as? String == root)
        #expect(try cli.run(["verify", "rebased.ipk", "--parent", "full.ipk"]).status == 0)
        let diff = try jsonObject(try cli.run(["diff", "--json", "flat.ipk", "full.ipk"]).stdout)
        #expect(diff["identical"] as? Bool == true)
    }
}
