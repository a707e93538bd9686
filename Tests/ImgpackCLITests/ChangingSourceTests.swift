import Foundation
import ImagePack
import Testing

/// `pack` and `import` of a disk that another process writes meanwhile (a live disk) fail with
/// exit 1 and a message naming the disk and how to pack a consistent state, and publish nothing;
/// with --allow-changing-source the image is written and its metadata says which disks changed.
@Suite("changing source", .serialized)
struct ChangingSourceTests {
    /// Starts a shell loop that writes a new 8-byte counter at a moving offset of `disk` until
    /// stopped, as a running instance writes its disk; returns once it has written at least once.
    func startWriter(_ cli: CLI, disk: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "i=0; while :; do i=$((i+1)); printf '%08d' $i | dd of=\(disk) bs=8 seek=$(((i * 4099) % 1000000)) conv=notrunc 2>/dev/null; done"]
        process.currentDirectoryURL = URL(fileURLWithPath: cli.directory)
        let before = try #require(system_stat(cli.path(disk))).modifiedNanoseconds
        try process.run()
        while process.isRunning, (system_stat(cli.path(disk))?.modifiedNanoseconds ?? before) == before { usleep(1_000) }
        return process
    }

    @Test("a disk written during pack or import fails the command (exit 1), names the disk, publishes nothing; --allow-changing-source tags the image")
    func liveDisk() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.makeDisk("root.raw", size: 32 << 20, seed: 5)
        try cli.makeDisk("data.raw", size: 4 << 20, seed: 6)
        let writer = try startWriter(cli, disk: "root.raw")
        defer {
            // SIGKILL: the shell may inherit SIGTERM blocked from the test runner's thread.
            _ = system_kill(writer.processIdentifier, _SIGKILL)
            writer.waitUntilExit()
        }
        let before = cli.listing()
        for arguments in [
            ["pack", "--disk", "root=root.raw", "--disk", "data=data.raw", "--name", "live", "-o", "x.ipk"],
            ["import", "root.raw", "data.raw", "--name", "live", "-o", "x.ipk"],
        ] {
            let result = try cli.run(arguments)
            #expect(result.status == 1, "\(arguments[0]): exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("sourceChanged"), "\(arguments[0]): \(result.stderr)")
            #expect(result.stderr.contains("root (it was modified"), "\(arguments[0]) does not name the disk: \(result.stderr)")
            #expect(!result.stderr.contains("data ("), "\(arguments[0]) names a disk that did not change: \(result.stderr)")
            #expect(result.stderr.contains("fsfreeze") && result.stderr.contains("--allow-changing-source"), "\(arguments[0]): \(result.stderr)")
            #expect(cli.listing() == before, "\(arguments[0]) published something")
        }

        let allowed = try cli.run(["pack", "--disk", "root=root.raw", "--disk", "data=data.raw", "--name", "live", "--allow-changing-source", "-o", "x.ipk"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        let info = try cli.run(["info", "x.ipk"])
        #expect(info.stdoutText.contains("imagepack.source-changed=root"), "\(info.stdoutText)")
        #expect(try cli.run(["verify", "--quiet", "x.ipk"]).status == 0)
    }
}
