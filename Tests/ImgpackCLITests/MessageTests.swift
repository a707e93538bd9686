import Foundation
import Testing

/// The messages a new user meets first: each names what is wrong and what to do.
@Suite("imgpack messages")
struct MessageTests {
    @Test("a misspelt option is named, with a suggestion, before the command's own checks")
    func unknownOption() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("disk.raw", size: 1 << 20, seed: 3)
        let r = try cli.run(["pack", "--dsk", "root=disk.raw", "--name", "x", "-o", "q.ipk"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("Unknown option '--dsk'. Did you mean '--disk'?"), "\(r.stderr)")
        #expect(!r.stderr.contains("Nothing to pack"))
        #expect(r.stderr.contains("Usage: imgpack pack"))
        #expect(!cli.exists("q.ipk"))
    }

    @Test("a misspelt subcommand is named, with a suggestion, not its first option")
    func unknownSubcommand() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["pakc", "--disk", "root=disk.raw"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("Unknown subcommand 'pakc'. Did you mean 'pack'?"), "\(r.stderr)")
        #expect(!r.stderr.contains("Unknown option"))
        // An alias is a subcommand too.
        let alias = try cli.run(["inspect", "missing.ipk"])
        #expect(alias.status == 3 && !alias.stderr.contains("Unknown subcommand"), "\(alias.stderr)")
        let far = try cli.run(["frobnicate"])
        #expect(far.status == 2 && far.stderr.contains("Unknown subcommand 'frobnicate'") && !far.stderr.contains("Did you mean"), "\(far.stderr)")
    }

    @Test("pack's metadata errors print pack's usage, not the root's")
    func packUsage() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("disk.raw", size: 1 << 20, seed: 4)
        try Data(#"{"name": "x", "colour": "blue"}"#.utf8).write(to: URL(fileURLWithPath: cli.path("meta.json")))
        let cases: [[String]] = [
            ["pack", "--disk", "root=disk.raw", "-o", "-"],  // no name, and standard output has no stem
            ["pack", "--disk", "root=disk.raw", "--name", "x", "--created-at", "yesterday", "-o", "a.ipk"],
            ["pack", "--disk", "root=disk.raw", "--metadata", "meta.json", "-o", "a.ipk"],
        ]
        for arguments in cases {
            let r = try cli.run(arguments)
            #expect(r.status == 2, "\(arguments): \(r.stderr)")
            #expect(r.stderr.contains("Usage: imgpack pack"), "\(arguments): \(r.stderr)")
            #expect(!r.stderr.contains("imgpack <subcommand>"), "\(arguments): \(r.stderr)")
        }
        #expect(!cli.exists("a.ipk"))
    }

    @Test("without --name, -o FILE names the image after the file's stem")
    func nameFromOutput() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("disk.raw", size: 1 << 20, seed: 5)
        let r = try cli.run(["pack", "--disk", "root=disk.raw", "-o", "web-1.ipk"])
        #expect(r.status == 0, "\(r.stderr)")
        let info = try jsonObject(try cli.run(["info", "web-1.ipk", "--json"]).stdout)
        #expect((info["metadata"] as? [String: Any])?["name"] as? String == "web-1", "\(info)")
    }

    @Test("import refuses an ImagePack image and points to extract, export and copy")
    func importImage() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let r = try cli.run(["import", "sample.ipk", "--name", "x", "-o", "wrapped.ipk"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("already an ImagePack image") && r.stderr.contains("imgpack extract") && r.stderr.contains("imgpack export") && r.stderr.contains("imgpack copy"), "\(r.stderr)")
        #expect(!cli.exists("wrapped.ipk"))
    }

    @Test("verify and validate count chunks in the same words; ls --json gives a zero chunk no codec")
    func countingWords() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let verify = try cli.run(["verify", "sample.ipk"])
        let validate = try cli.run(["validate", "sample.ipk"])
        #expect(verify.status == 0 && validate.status == 0)
        let listed = try jsonObject(try cli.run(["ls", "sample.ipk", "--json"]).stdout)["chunks"] as? [[String: Any]] ?? []
        let total = listed.count
        let stored = listed.filter { $0["kind"] as? String != "zero" }.count
        #expect(total > stored, "the sample has zero chunks")
        #expect(validate.stdoutText.contains("\(total) chunks checked"), "\(validate.stdoutText)")
        #expect(verify.stdoutText.contains("\(total) chunks checked (\(stored) stored chunks decoded"), "\(verify.stdoutText)")
        let verifyJSON = try jsonObject(try cli.run(["verify", "sample.ipk", "--json"]).stdout)
        #expect(verifyJSON["chunks"] as? Int == total && verifyJSON["chunksChecked"] as? Int == stored)
        for chunk in listed {
            if chunk["kind"] as? String == "data" {
                #expect(chunk["codec"] is String)
            } else {
                #expect(chunk["codec"] is NSNull, "\(chunk)")
            }
        }
        let text = try cli.run(["ls", "sample.ipk"]).stdoutText
        #expect(!text.contains("stored") || listed.contains { $0["codec"] as? String == "stored" })
    }

    @Test("cat refuses to write to a terminal, as pack -o - and extract --stdout do",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs util-linux script"))
    func catTerminal() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let r = try cli.shell("script -qfec '\"$IMGPACK\" cat sample.ipk --disk root --length 64' /dev/null")
        #expect(r.status == 2)
        #expect(r.stdoutText.contains("Refusing to write raw disk bytes to a terminal"), "\(r.stdoutText)")
        let piped = try cli.run(["cat", "sample.ipk", "--disk", "root", "--length", "64"])
        #expect(piped.status == 0 && piped.stdout.count == 64)
    }
}
