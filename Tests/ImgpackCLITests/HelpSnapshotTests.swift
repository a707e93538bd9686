import Foundation
import Testing

/// `--help` of every command, compared byte for byte with Snapshots/<name>.txt.
/// Run with UPDATE_SNAPSHOTS=1 to rewrite the snapshots after an intended change.
@Suite("help snapshots")
struct HelpSnapshotTests {
    static let commands: [[String]] = [
        [], ["pack"], ["import"], ["info"], ["verify"], ["validate"], ["extract"], ["export"], ["cat"], ["ls"], ["recover"], ["key", "generate"], ["sign"], ["share"],
        ["copy"], ["flatten"], ["rebase"], ["diff"], ["serve"], ["demo"], ["push"], ["pull"], ["copy-remote"], ["ls-remote"], ["cat-remote"],
    ]

    static let snapshotDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    @Test("--help matches its snapshot", arguments: commands)
    func help(_ command: [String]) throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let r = try cli.run(command + ["--help"])
        #expect(r.status == 0)
        let name = (command.first ?? "imgpack") + ".txt"
        let file = Self.snapshotDirectory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["UPDATE_SNAPSHOTS"] == "1" {
            try FileManager.default.createDirectory(at: Self.snapshotDirectory, withIntermediateDirectories: true)
            try r.stdout.write(to: file)
            return
        }
        let expected = try String(contentsOf: file, encoding: .utf8)
        #expect(r.stdoutText == expected, "help of \(command) changed; if intended, rerun with UPDATE_SNAPSHOTS=1")
    }

    @Test("--version and completion scripts work")
    func versionAndCompletions() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let version = try cli.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdoutText.contains("format 1."))
        for shell in ["bash", "zsh", "fish"] {
            let r = try cli.run(["--generate-completion-script", shell])
            #expect(r.status == 0)
            #expect(r.stdoutText.contains("extract"))
        }
    }
}

@Suite("exit codes and terminals")
struct TerminalTests {
    @Test("usage errors exit 2, I/O errors 3, invalid images 1")
    func exitCodes() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["pack", "--bogus"]).status == 2)
        #expect(try cli.run(["frobnicate"]).status == 2)
        #expect(try cli.run(["info"]).status == 2)
        #expect(try cli.run(["info", "missing.ipk"]).status == 3)
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: cli.path("junk")))
        #expect(try cli.run(["verify", "junk"]).status == 1)
    }

    /// Runs `command` under a pseudo-terminal with util-linux `script`; returns everything the terminal showed.
    func underTerminal(_ cli: CLI, _ command: String) throws -> RunResult {
        try cli.shell("script -qfec \(shellQuote(command)) /dev/null")
    }

    func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    @Test("the progress bar shows on a terminal, not on a pipe, not with --quiet",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs util-linux script"))
    func progressBar() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 4 << 20, seed: 31)
        let pack = "\"$IMGPACK\" pack --disk root=root.raw --name t --chunk-size 64K --threads 1 -o"
        let tty = try underTerminal(cli, "\(pack) a.ipk")
        #expect(tty.status == 0, "\(tty.stdoutText)")
        #expect(tty.stdoutText.contains("pack  ["), "\(tty.stdoutText.debugDescription)")
        #expect(tty.stdoutText.contains("100%"))
        #expect(tty.stdoutText.contains("\r\u{1B}[K"))
        let verify = try underTerminal(cli, "\"$IMGPACK\" verify a.ipk")
        #expect(verify.stdoutText.contains("verify  ["))

        let quiet = try underTerminal(cli, "\(pack) b.ipk --quiet")
        #expect(!quiet.stdoutText.contains("["))
        #expect(!quiet.stdoutText.contains("root digest"))

        let piped = try cli.run(["pack", "--disk", "root=root.raw", "--name", "t", "--chunk-size", "64K", "-o", "c.ipk"])
        #expect(!piped.stderr.contains("["))
        #expect(!piped.stderr.contains("\r"))
        #expect(piped.stderr.contains("root digest"))
    }

    @Test("-o - refuses to write an image to a terminal",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs util-linux script"))
    func refusesTerminal() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 1 << 20, seed: 32)
        let r = try underTerminal(cli, "\"$IMGPACK\" pack --disk root=root.raw --name t -o -")
        #expect(r.status == 2)
        #expect(r.stdoutText.contains("terminal"))
    }

    @Test("SIGINT stops a pack with exit 130 and leaves no file behind")
    func interrupt() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        // Slow on purpose: zstd level 19 on one thread.
        try cli.makeDisk("root.raw", size: 48 << 20, seed: 33)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CLI.binary)
        process.arguments = ["pack", "--disk", "root=root.raw", "--name", "i", "--level", "19", "--threads", "1", "-o", "i.ipk"]
        process.currentDirectoryURL = URL(fileURLWithPath: cli.directory)
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until the output is open, so the signal lands mid-write: an unnamed file, seen through
        // /proc, or a named temporary one where there is no O_TMPFILE.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, cli.outputBeingWritten(by: process.processIdentifier) == nil,
              !cli.listing().contains(where: { $0.contains("imgpack-tmp") }) { usleep(20_000) }
        usleep(200_000)
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(cli.listing() == ["root.raw"])
    }
}
