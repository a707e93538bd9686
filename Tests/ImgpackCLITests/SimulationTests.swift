import Foundation
import Testing
import TestSupport

@Suite("pack --simulate and demo")
struct SimulationTests {
    @Test("--simulate packs a two-disk instance, deterministically from the seed")
    func simulate() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        for name in ["a.ipk", "b.ipk"] {
            let r = try cli.run(["pack", "--simulate", "6M", "--seed", "7", "--chunk-size", "256K", "-o", name])
            #expect(r.status == 0, "\(r.stderr)")
        }
        try expectSameBytes(cli.read("a.ipk"), cli.read("b.ipk"))
        let info = try jsonObject(try cli.run(["info", "--json", "a.ipk"]).stdout)
        let streams = try #require(info["streams"] as? [[String: Any]])
        #expect(streams.map { $0["name"] as? String } == ["root", "data"])
        #expect(info["logicalBytes"] as? Int == 6 << 20)
        let metadata = try #require(info["metadata"] as? [String: Any])
        #expect((metadata["name"] as? String)?.hasPrefix("sim-") == true)
        #expect(try cli.run(["verify", "a.ipk"]).status == 0)

        let other = try cli.run(["pack", "--simulate", "6M", "--seed", "8", "--chunk-size", "256K", "--name", "renamed", "-o", "c.ipk"])
        #expect(other.status == 0)
        let c = try jsonObject(try cli.run(["info", "--json", "c.ipk"]).stdout)
        #expect(c["rootDigest"] as? String != info["rootDigest"] as? String)
        #expect((c["metadata"] as? [String: Any])?["name"] as? String == "renamed")
    }

    @Test("--profile makes one root disk of that profile")
    func profile() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["pack", "--simulate", "2M", "--profile", "random", "--json", "-o", "r.ipk"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try jsonObject(r.stdout)
        #expect((summary["streams"] as? [[String: Any]])?.map { $0["name"] as? String } == ["root"])
        // Random bytes hardly compress.
        #expect((summary["ratio"] as? Double).map { $0 < 1.1 } == true)
    }

    @Test("simulation options are checked", arguments: [
        ["--seed", "3", "--disk", "a=b"], ["--simulate", "1M", "--disk", "a=b"], ["--simulate", "1K"], ["--profile", "server", "--disk", "a=b"],
        ["--simulate", "1M", "--profile", "nonsense"],
    ])
    func badSimulation(_ args: [String]) throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["pack"] + args + ["-o", "x.ipk"])
        #expect(r.status == 2, "\(args): \(r.stderr)")
    }

    @Test("demo packs, verifies and reads back a small instance")
    func demo() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["demo", "--size", "8M", "--reads", "40", "--chunk-size", "256K", "--keep", "kept"])
        #expect(r.status == 0, "\(r.stdoutText)\n\(r.stderr)")
        for text in ["pack", "verify", "random reads", "streaming read", "root digest  sha256:", "result       OK"] {
            #expect(r.stdoutText.contains(text), "missing \(text)")
        }
        #expect(cli.listing() == ["kept", "kept/demo-1.ipk"])
        #expect(try cli.run(["verify", "kept/demo-1.ipk"]).status == 0)
    }
}
