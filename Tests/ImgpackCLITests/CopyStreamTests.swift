import Foundation
import Testing
import TestSupport

/// `copy` with a pipe on either side: the bytes pass through unchanged while they are checked,
/// and the footer (the last 96 bytes) is written only once the image checked out.
@Suite("imgpack copy from and to pipes")
struct CopyStreamTests {
    static let footerSize = 96

    @Test("pipe to pipe: standard output is the input byte for byte; the summary goes to standard error")
    func pipeToPipe() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let r = try cli.run(["copy", "-", "-o", "-"], stdinFile: cli.path("sample.ipk"))
        #expect(r.status == 0, "\(r.stderr)")
        expectSameBytes([UInt8](r.stdout), (try cli.read("sample.ipk")))
        #expect(r.stderr.contains("copied standard input to standard output"), "\(r.stderr)")
        try r.stdout.write(to: URL(fileURLWithPath: cli.path("out.ipk")))
        #expect(try cli.run(["verify", "out.ipk"]).status == 0)
    }

    @Test("through real pipes on both sides (short reads and writes): the same bytes; a damaged image loses its footer")
    func realPipes() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        // copy is in the middle of the pipe: its status goes to a file.
        let good = try cli.shell("cat sample.ipk | { \"$IMGPACK\" copy - -o - --quiet; echo $? > status; } | cat > out.ipk")
        #expect(good.status == 0, "\(good.stderr)")
        #expect(String(decoding: try cli.read("status"), as: UTF8.self) == "0\n", "\(good.stderr)")
        try expectSameBytes(cli.read("out.ipk"), cli.read("sample.ipk"))
        _ = try VerifyTests.damage(cli, "sample.ipk")
        let bad = try cli.shell("cat sample.ipk | { \"$IMGPACK\" copy - -o - --quiet; echo $? > status; } | cat > bad.ipk")
        #expect(bad.status == 0)
        #expect(String(decoding: try cli.read("status"), as: UTF8.self) == "1\n")
        #expect(try cli.read("bad.ipk").count <= (try cli.read("sample.ipk")).count - Self.footerSize)
        #expect(try cli.run(["verify", "bad.ipk"]).status == 1)
    }

    @Test("a corrupted chunk: exit 1 naming the rule, and the output stops before the footer, so readers refuse it")
    func corruptedChunk() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        _ = try VerifyTests.damage(cli, "sample.ipk")
        let input = try cli.read("sample.ipk")
        let r = try cli.run(["copy", "-", "-o", "-", "--quiet"], stdinFile: cli.path("sample.ipk"))
        #expect(r.status == 1)
        #expect(r.stderr.contains("rule V"), "\(r.stderr)")
        // The reader stops at the index after a failure, so less may have passed: never the footer.
        #expect(r.stdout.count <= input.count - Self.footerSize)
        expectSameBytes([UInt8](r.stdout), Array(input.prefix(r.stdout.count)))
        try r.stdout.write(to: URL(fileURLWithPath: cli.path("out.ipk")))
        #expect(try cli.run(["verify", "out.ipk"]).status == 1)
        #expect(try cli.run(["verify", "-"], stdinFile: cli.path("out.ipk")).status == 1)
        // To a file: nothing appears.
        #expect(try cli.run(["copy", "-", "-o", "file.ipk", "--quiet"], stdinFile: cli.path("sample.ipk")).status == 1)
        #expect(!cli.exists("file.ipk"))
    }

    @Test("a truncated input: exit 1 (V40), and what was written is an incomplete image")
    func truncated() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let bytes = try cli.read("sample.ipk")
        for cut in [10, bytes.count / 2] {
            let short = Array(bytes.prefix(bytes.count - cut))
            try Data(short).write(to: URL(fileURLWithPath: cli.path("cut.ipk")))
            let r = try cli.run(["copy", "-", "-o", "-", "--quiet"], stdinFile: cli.path("cut.ipk"))
            #expect(r.status == 1, "\(r.stderr)")
            #expect(r.stderr.contains("rule V"), "\(r.stderr)")
            expectSameBytes([UInt8](r.stdout), Array(short.dropLast(Self.footerSize)))
            #expect(try cli.run(["copy", "-", "-o", "file.ipk", "--quiet"], stdinFile: cli.path("cut.ipk")).status == 1)
            #expect(!cli.exists("file.ipk"))
        }
    }

    @Test("file to pipe and pipe to file: the same bytes; an existing file is kept without --force")
    func fileAndPipe() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let original = try cli.read("sample.ipk")
        let toPipe = try cli.run(["copy", "sample.ipk", "-o", "-", "--quiet"])
        #expect(toPipe.status == 0, "\(toPipe.stderr)")
        expectSameBytes([UInt8](toPipe.stdout), original)
        #expect(toPipe.stderr.isEmpty, "\(toPipe.stderr)")

        let toFile = try cli.run(["copy", "-", "-o", "out.ipk", "--json"], stdinFile: cli.path("sample.ipk"))
        #expect(toFile.status == 0, "\(toFile.stderr)")
        try expectSameBytes(cli.read("out.ipk"), original)
        let report = try jsonObject(toFile.stdout)
        #expect(report["fileLength"] as? Int == original.count)
        #expect(report["reencoded"] as? Bool == false)

        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: cli.path("taken.ipk")))
        let refused = try cli.run(["copy", "-", "-o", "taken.ipk", "--quiet"], stdinFile: cli.path("sample.ipk"))
        #expect(refused.status != 0)
        try expectSameBytes(cli.read("taken.ipk"), [1, 2, 3])
        #expect(try cli.run(["copy", "-", "-o", "taken.ipk", "--quiet", "--force"], stdinFile: cli.path("sample.ipk")).status == 0)
        try expectSameBytes(cli.read("taken.ipk"), original)
    }

    @Test("a delta from a pipe is checked through --parent; without it, refused (V49) without the footer")
    func delta() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try DeltaParentCommandTests().chain(cli)
        let copied = try cli.run(["copy", "-", "--parent", "base.ipk", "--quiet", "-o", "-"], stdinFile: cli.path("delta.ipk"))
        #expect(copied.status == 0, "\(copied.stderr)")
        expectSameBytes([UInt8](copied.stdout), (try cli.read("delta.ipk")))
        let refused = try cli.run(["copy", "-", "--quiet", "-o", "-"], stdinFile: cli.path("delta.ipk"))
        #expect(refused.status == 1 && refused.stderr.contains("V49"), "\(refused.stderr)")
        let delta = try cli.read("delta.ipk")
        #expect(refused.stdout.count <= delta.count - Self.footerSize)
        expectSameBytes([UInt8](refused.stdout), Array(delta.prefix(refused.stdout.count)))
    }

    @Test("--trusted-key: an image not signed by a trusted key exits 5 without its footer")
    func trust() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        #expect(try cli.run(["key", "generate", "-o", "publisher"]).status == 0)
        #expect(try cli.run(["key", "generate", "-o", "stranger"]).status == 0)
        #expect(try cli.run(["sign", "sample.ipk", "--key", "publisher"]).status == 0)
        let signed = try cli.read("sample.ipk")
        let trusted = try cli.run(["copy", "-", "-o", "-", "--quiet", "--trusted-key", "publisher.pub"], stdinFile: cli.path("sample.ipk"))
        #expect(trusted.status == 0, "\(trusted.stderr)")
        expectSameBytes([UInt8](trusted.stdout), signed)
        let untrusted = try cli.run(["copy", "-", "-o", "-", "--quiet", "--trusted-key", "stranger.pub"], stdinFile: cli.path("sample.ipk"))
        #expect(untrusted.status == 5, "\(untrusted.stderr)")
        expectSameBytes([UInt8](untrusted.stdout), Array(signed.dropLast(Self.footerSize)))
        #expect(try cli.run(["copy", "sample.ipk", "-o", "c.ipk", "--quiet", "--trusted-key", "stranger.pub"]).status == 5)
        #expect(!cli.exists("c.ipk"))
        #expect(try cli.run(["copy", "sample.ipk", "-o", "c.ipk", "--quiet", "--trusted-key", "publisher.pub"]).status == 0)
    }

    @Test("--codec, --region and --json with a stream are usage errors")
    func usage() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let codec = try cli.run(["copy", "-", "-o", "x.ipk", "--codec", "zlib"], stdinFile: cli.path("sample.ipk"))
        #expect(codec.status == 2 && codec.stderr.contains("verbatim"), "\(codec.stderr)")
        #expect(try cli.run(["copy", "sample.ipk", "-o", "-", "--region", "eu"]).status == 2)
        #expect(try cli.run(["copy", "sample.ipk", "-o", "-", "--json"]).status == 2)
        #expect(!cli.exists("x.ipk"))
    }
}
