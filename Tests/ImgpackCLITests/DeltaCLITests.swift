import Foundation
import Testing
import TestSupport

@Suite("delta images from the command line: pack --parent, --generation, info, verify, extract, flatten, diff")
struct DeltaCLITests {
    @Test("three simulated generations as a chain: each delta has its full image's root digest and reads back through its parents")
    func chain() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try FileManager.default.createDirectory(atPath: cli.path("chain"), withIntermediateDirectories: true)
        let common = ["--simulate", "4M", "--seed", "3", "--chunk-size", "64K"]
        var roots: [String] = []
        for g in 0...2 {
            let full = try cli.run(["pack"] + common + ["--generation", "\(g)", "--json", "-o", "full\(g).ipk"])
            #expect(full.status == 0, "\(full.stderr)")
            roots.append(try jsonObject(full.stdout)["rootDigest"] as! String)
            // A delta takes its parent's chunk size: --chunk-size only for the first generation.
            var args = ["pack"] + (g == 0 ? common : Array(common[0..<4])) + ["--generation", "\(g)", "--json", "-o", "chain/g\(g).ipk"]
            if g > 0 { args += ["--parent", "chain/g\(g - 1).ipk", "--parent-dir", "chain"] }
            let delta = try cli.run(args)
            #expect(delta.status == 0, "\(delta.stderr)")
            #expect(try jsonObject(delta.stdout)["rootDigest"] as? String == roots[g])
        }
        #expect(Set(roots).count == 3, "each generation changes the instance")
        #expect(try cli.read("chain/g2.ipk").count * 4 < cli.read("full2.ipk").count, "a delta is a fraction of a full image")

        // Without parents: structure only, and a clear refusal naming the parent.
        let info = try jsonObject(try cli.run(["info", "--json", "chain/g2.ipk"]).stdout)
        #expect(info["rootDigest"] as? String == roots[2])
        #expect(info["parentDigest"] as? String == roots[1])
        #expect(try cli.run(["validate", "chain/g2.ipk"]).status == 0)
        let refused = try cli.run(["verify", "chain/g2.ipk"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("V49") && refused.stderr.contains(roots[1]))

        // With parents (any order; a directory): info shows the chain, verify and extract work.
        let chained = try jsonObject(try cli.run(["info", "--json", "chain/g2.ipk", "--parent", "chain/g0.ipk", "--parent", "chain/g1.ipk"]).stdout)
        #expect((chained["parentChain"] as? [[String: Any]])?.map { $0["rootDigest"] as? String } == [roots[1], roots[0]])
        let verify = try cli.run(["verify", "chain/g2.ipk", "--parent-dir", "chain"])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(try cli.run(["extract", "chain/g2.ipk", "--parent-dir", "chain", "-o", "out"]).status == 0)
        #expect(try cli.run(["extract", "full2.ipk", "-o", "ref"]).status == 0)
        try expectSameBytes(cli.read("out/root.raw"), cli.read("ref/root.raw"))
        try expectSameBytes(cli.read("out/data.raw"), cli.read("ref/data.raw"))

        // flatten: the full image of the same state.
        let flat = try cli.run(["flatten", "chain/g2.ipk", "--parent-dir", "chain", "--json", "-o", "flat.ipk"])
        #expect(flat.status == 0, "\(flat.stderr)")
        #expect(try jsonObject(flat.stdout)["rootDigest"] as? String == roots[2])
        #expect(try cli.run(["verify", "flat.ipk"]).status == 0)

        // rebase: generation 2 as a delta on generation 0, same root digest, reads back.
        let rebased = try cli.run(["rebase", "chain/g2.ipk", "--parent-dir", "chain", "--onto", "chain/g0.ipk", "--json", "-o", "g2-on-g0.ipk"])
        #expect(rebased.status == 0, "\(rebased.stderr)")
        #expect(try jsonObject(rebased.stdout)["rootDigest"] as? String == roots[2])
        let onG0 = try jsonObject(try cli.run(["info", "--json", "g2-on-g0.ipk"]).stdout)
        #expect(onG0["parentDigest"] as? String == roots[0])
        #expect(try cli.run(["verify", "g2-on-g0.ipk", "--parent", "chain/g0.ipk"]).status == 0)

        // diff: from the indexes alone.
        let diff = try jsonObject(try cli.run(["diff", "--json", "full1.ipk", "chain/g2.ipk"]).stdout)
        #expect(diff["identical"] as? Bool == false)
        let streams = try #require(diff["streams"] as? [[String: Any]])
        #expect(streams.allSatisfy { ($0["changedBytes"] as? Int ?? 0) > 0 })
        let same = try jsonObject(try cli.run(["diff", "--json", "full2.ipk", "flat.ipk"]).stdout)
        #expect(same["identical"] as? Bool == true)
    }

    @Test("a --chunk-size other than the parent's is refused before anything is written")
    func chunkSize() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["pack", "--simulate", "1M", "--chunk-size", "64K", "-o", "base.ipk"]).status == 0)
        let r = try cli.run(["pack", "--simulate", "1M", "--chunk-size", "128K", "--parent", "base.ipk", "-o", "d.ipk"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--chunk-size"))
        #expect(!FileManager.default.fileExists(atPath: cli.path("d.ipk")))
    }
}

@Suite("delta images from the command line: export --backing-file, copy, sign and recover with parents")
struct DeltaParentCommandTests {
    static let qemuImg: String? = ["/usr/bin/qemu-img", "/usr/local/bin/qemu-img"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Two simulated generations: base.ipk (full) and delta.ipk on it, 64 KiB chunks.
    func chain(_ cli: CLI) throws {
        let common = ["--simulate", "4M", "--seed", "5", "--chunk-size", "64K", "--quiet"]
        #expect(try cli.run(["pack"] + common + ["-o", "base.ipk"]).status == 0)
        let delta = try cli.run(["pack"] + common.filter { $0 != "--chunk-size" && $0 != "64K" } + ["--generation", "1", "--parent", "base.ipk", "-o", "delta.ipk"])
        #expect(delta.status == 0, "\(delta.stderr)")
    }

    @Test("export --backing-file: a qcow2 overlay on the parent's export that qemu-img checks and reads as the delta's disk",
          .enabled(if: qemuImg != nil, "qemu-img not installed"))
    func exportOverlay() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try chain(cli)
        #expect(try cli.run(["export", "base.ipk", "--disk", "root", "--format", "qcow2", "--quiet", "-o", "base.qcow2"]).status == 0)
        #expect(try cli.run(["extract", "delta.ipk", "--parent", "base.ipk", "--disk", "root", "--quiet", "-o", "x"]).status == 0)
        let r = try cli.run(["export", "delta.ipk", "--parent", "base.ipk", "--disk", "root", "--format", "qcow2", "--backing-file", "base.qcow2", "--json", "-o", "delta.qcow2"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try jsonObject(r.stdout)
        #expect(report["backingFile"] as? String == "base.qcow2")
        let qemu = Self.qemuImg!
        let check = try cli.execute(qemu, ["check", "delta.qcow2"], stdinFile: nil, environment: [:])
        #expect(check.status == 0, "\(check.stdoutText)")
        let compare = try cli.execute(qemu, ["compare", "-f", "qcow2", "-F", "raw", "delta.qcow2", "x/root.raw"], stdinFile: nil, environment: [:])
        #expect(compare.status == 0 && compare.stdoutText.contains("identical"), "\(compare.stdoutText)")
        // Exactly the 64 KiB clusters in which the two generations differ, no more.
        #expect(try cli.run(["extract", "base.ipk", "--disk", "root", "--quiet", "-o", "b"]).status == 0)
        let (old, new) = (try cli.read("b/root.raw"), try cli.read("x/root.raw"))
        let differing = stride(from: 0, to: new.count, by: 65536).filter { old[$0..<min($0 + 65536, new.count)] != new[$0..<min($0 + 65536, new.count)] }.count
        #expect(differing > 0)
        #expect((report["storedClusters"] as? Int ?? -1) + (report["zeroClusters"] as? Int ?? -1) == differing, "\(report)")
        #expect((report["backingClusters"] as? Int ?? -1) == (new.count + 65535) / 65536 - differing)

        // Without the parent, for a full image without --parent, or on a backing file of another size: refused, nothing written.
        let noParent = try cli.run(["export", "delta.ipk", "--disk", "root", "--format", "qcow2", "--backing-file", "base.qcow2", "-o", "a.qcow2"])
        #expect(noParent.status == 1 && noParent.stderr.contains("V49"), "\(noParent.stderr)")
        let full = try cli.run(["export", "base.ipk", "--disk", "root", "--format", "qcow2", "--backing-file", "base.qcow2", "-o", "b.qcow2"])
        #expect(full.status == 2 && full.stderr.contains("--parent"), "\(full.stderr)")
        #expect(try cli.run(["export", "base.ipk", "--disk", "data", "--format", "raw", "--quiet", "-o", "data.raw"]).status == 0)
        let size = try cli.run(["export", "delta.ipk", "--parent", "base.ipk", "--disk", "root", "--format", "qcow2", "--backing-file", "data.raw", "-o", "c.qcow2"])
        #expect(size.status == 2 && size.stderr.contains("bytes"), "\(size.stderr)")
        let raw = try cli.run(["export", "delta.ipk", "--parent", "base.ipk", "--disk", "root", "--format", "raw", "--backing-file", "base.qcow2", "-o", "d.raw"])
        #expect(raw.status == 2)
        for name in ["a.qcow2", "b.qcow2", "c.qcow2", "d.raw"] { #expect(!FileManager.default.fileExists(atPath: cli.path(name))) }
    }

    @Test("copy of a delta keeps it a delta, verified through --parent; without it, refused with V49 and nothing written")
    func copy() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try chain(cli)
        let refused = try cli.run(["copy", "delta.ipk", "-o", "c.ipk"])
        #expect(refused.status == 1 && refused.stderr.contains("V49"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.path("c.ipk")))
        let copied = try cli.run(["copy", "delta.ipk", "--parent", "base.ipk", "--json", "-o", "c.ipk"])
        #expect(copied.status == 0, "\(copied.stderr)")
        try expectSameBytes(cli.read("c.ipk"), cli.read("delta.ipk"))
        let recoded = try cli.run(["copy", "delta.ipk", "--parent", "base.ipk", "--codec", "zlib", "--json", "-o", "z.ipk"])
        #expect(recoded.status == 0, "\(recoded.stderr)")
        let info = try jsonObject(try cli.run(["info", "--json", "z.ipk"]).stdout)
        let original = try jsonObject(try cli.run(["info", "--json", "delta.ipk"]).stdout)
        #expect(info["parentDigest"] as? String == original["parentDigest"] as? String, "a re-encoded delta stays a delta on the same parent")
        #expect(info["rootDigest"] as? String == original["rootDigest"] as? String)
        #expect(try cli.read("z.ipk").count < cli.read("base.ipk").count)
        #expect(try cli.run(["verify", "z.ipk", "--parent", "base.ipk"]).status == 0)
    }

    @Test("sign --verify checks every chunk first: a delta needs --parent (V49 without), a damaged image is not signed; without --verify a damaged chunk is signed but still fails verify")
    func sign() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try chain(cli)
        #expect(try cli.run(["key", "generate", "-o", "k.pem"]).status == 0)
        let before = try cli.read("delta.ipk")
        let refused = try cli.run(["sign", "delta.ipk", "--key", "k.pem", "--verify"])
        #expect(refused.status == 1 && refused.stderr.contains("V49"), "\(refused.stderr)")
        try expectSameBytes(cli.read("delta.ipk"), before)
        let unused = try cli.run(["sign", "delta.ipk", "--key", "k.pem", "--parent", "base.ipk"])
        #expect(unused.status == 2 && unused.stderr.contains("--verify"), "\(unused.stderr)")
        let signed = try cli.run(["sign", "delta.ipk", "--key", "k.pem", "--verify", "--parent", "base.ipk"])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(try cli.run(["verify", "delta.ipk", "--parent", "base.ipk"]).status == 0)

        // One flipped payload byte in the middle of base.ipk: the structure opens, a chunk fails.
        var damaged = try cli.read("base.ipk")
        damaged[damaged.count / 2] ^= 0x55
        try Data(damaged).write(to: URL(fileURLWithPath: cli.path("bad.ipk")))
        let bad = try cli.run(["sign", "bad.ipk", "--key", "k.pem", "--verify"])
        #expect(bad.status == 1, "\(bad.stderr)")
        try expectSameBytes(cli.read("bad.ipk"), damaged)
        // Signed without --verify (constant time), the damage is still found by every reader:
        // the signature binds the root digest, which binds each chunk's digest.
        #expect(try cli.run(["sign", "bad.ipk", "--key", "k.pem"]).status == 0)
        let checked = try cli.run(["verify", "bad.ipk", "--trusted-key", "k.pem.pub"])
        #expect(checked.status == 1, "\(checked.stderr)")
        // The damaged chunk is found by its own checks (header, payload CRC, decode or digest).
        #expect(["V20", "V26", "V27", "V28"].contains { checked.stderr.contains("rule \($0)") }, "\(checked.stderr)")
    }

    @Test("recover of a delta: with --parent every byte, without it the parent's ranges reported missing")
    func recover() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try chain(cli)
        #expect(try cli.run(["extract", "delta.ipk", "--parent", "base.ipk", "--quiet", "-o", "ref"]).status == 0)
        let full = try cli.run(["recover", "delta.ipk", "--parent", "base.ipk", "-o", "r"])
        #expect(full.status == 0, "\(full.stdoutText) \(full.stderr)")
        try expectSameBytes(cli.read("r/root.raw"), cli.read("ref/root.raw"))
        try expectSameBytes(cli.read("r/data.raw"), cli.read("ref/data.raw"))
        let partial = try cli.run(["recover", "delta.ipk", "-o", "p"])
        #expect(partial.status == 1)
        #expect(partial.stdoutText.contains("missing"))
    }
}
