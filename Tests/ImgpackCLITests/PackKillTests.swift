import Foundation
import ImagePack
import Testing

/// `pack` killed by SIGKILL, which no handler sees: the output is an unnamed file until it is
/// complete, so a kill at any instant leaves nothing behind and never touches the file that
/// `--force` would replace. Stale temporary files of killed writers on file systems without
/// O_TMPFILE are removed by the next writer into the directory.
@Suite("pack killed")
struct PackKillTests {
    /// Where to kill, as bytes of output written: nil is at once (before the output exists), then
    /// growing amounts up to 96 MiB of the ~480 MiB image. Counted in bytes, not time, so the
    /// points fall at the same place in the work on a fast or a loaded machine.
    static let killPoints: [Int?] = [nil, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 32 << 20, 64 << 20, 96 << 20]

    @Test("SIGKILL at any point of a pack leaves no file, and the file --force would replace untouched",
          .enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd"), "finds the output through /proc"))
    func killAnywhere() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let previous = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        for (index, point) in Self.killPoints.enumerated() {
            // Every other run replaces an existing x.ipk (the link-then-rename path of --force).
            let replacing = index % 2 == 1
            try? FileManager.default.removeItem(atPath: cli.path("x.ipk"))
            if replacing { try previous.write(to: URL(fileURLWithPath: cli.path("x.ipk"))) }

            let process = Process()
            process.executableURL = URL(fileURLWithPath: try CLI.binary)
            process.arguments = ["pack", "--simulate", "2G", "--quiet", "-o", "x.ipk"] + (replacing ? ["--force"] : [])
            process.currentDirectoryURL = URL(fileURLWithPath: cli.directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            if let point { Self.wait(until: process, hasWritten: point, in: cli) }
            _ = system_kill(process.processIdentifier, _SIGKILL)
            process.waitUntilExit()

            let at = point.map { "after \($0) bytes" } ?? "at once"
            // The image is far larger than the last kill point, so every run dies mid-way.
            #expect(process.terminationReason == .uncaughtSignal, "killed \(at): the pack was expected to be still running")
            if replacing {
                #expect(cli.listing() == ["x.ipk"], "killed \(at) while replacing")
                #expect(FileManager.default.contents(atPath: cli.path("x.ipk")) == previous, "killed \(at): the file --force would replace changed")
            } else {
                #expect(cli.listing() == [], "killed \(at)")
            }
        }
    }

    /// Returns once `process` has written `bytes` of its output, or has ended.
    static func wait(until process: Process, hasWritten bytes: Int, in cli: CLI) {
        while process.isRunning {
            if let output = cli.outputBeingWritten(by: process.processIdentifier),
               let status = system_stat(output), status.size >= Int64(bytes) {
                return
            }
            usleep(5_000)
        }
    }

    @Test("the next pack into a directory removes a temporary file whose process is gone, and only that")
    func staleTemporaryRemoved() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        // No process has PID 2147483646: the kernel's pid_max is at most 2^22.
        let stale = ".x.ipk.imgpack-tmp-2147483646-0"
        // This test's own process is alive, so its name is not stale.
        let alive = ".y.ipk.imgpack-tmp-\(system_getpid())-0"
        // Not hidden, or not PID-N after the marker: not a name imgpack makes.
        let others = ["x.ipk.imgpack-tmp-2147483646-0", ".x.ipk.imgpack-tmp-2147483646", ".x.ipk.imgpack-tmp-abc-0"]
        for name in [stale, alive] + others {
            #expect(FileManager.default.createFile(atPath: cli.path(name), contents: Data("partial".utf8)))
        }
        let result = try cli.run(["pack", "--simulate", "16M", "--quiet", "-o", "z.ipk"])
        #expect(result.status == 0, "pack failed: \(result.stderr)")
        #expect(cli.listing() == ([alive, "z.ipk"] + others).sorted())
    }
}
