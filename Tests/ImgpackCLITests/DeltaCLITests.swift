import Foundation
import Testing

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
        #expect(try cli.read("out/root.raw") == cli.read("ref/root.raw"))
        #expect(try cli.read("out/data.raw") == cli.read("ref/data.raw"))

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
