import Foundation
import ImagePack
import Testing

/// Every writing command killed by SIGKILL, which no handler sees, at many points of its run:
/// by time and by bytes written. Afterwards each destination must be absent or complete and valid
/// (never partial), a file it was not asked to replace untouched, a file --force replaces either
/// the old one or the complete new one, and nothing else new in the directory (no temporary file).
/// Outputs are unnamed files until complete (O_TMPFILE), so this holds at any instant.
///
/// Table-driven: a new writing command is one more ``WritingCommand`` in ``commands(_:)``.
@Suite("crash consistency", .serialized)
struct CrashConsistencyTests {
    /// Kill points per command: half by time, half by bytes written.
    static let pointsPerCommand = 50
    /// Fresh destination, replace with --force, fresh, replace, existing without --force: two
    /// fifths of the points each for the first two, one fifth for the refusal.
    static let modes: [KillMode] = [.fresh, .replacing, .fresh, .replacing, .existing]

    /// The commands under test, over inputs made in `cli`'s directory: two disks of 16 and 8 MiB
    /// (text, random bytes, a fill run and holes), an image of them and a qcow2 copy of the first.
    /// Small enough that a debug build runs each in well under a second.
    static func commands(_ cli: CLI) throws -> [WritingCommand] {
        let root = try cli.makeDisk("root.raw", size: 16 << 20, seed: 11)
        let data = try cli.makeDisk("data.raw", size: 8 << 20, seed: 12)
        var r = try cli.run(["pack", "--disk", "root=root.raw", "--disk", "data=data.raw", "--name", "crash", "--chunk-size", "256K", "--quiet", "-o", "in.ipk"])
        try #require(r.status == 0, "pack of the input failed: \(r.stderr)")
        r = try cli.run(["export", "in.ipk", "--disk", "root", "--format", "qcow2", "-o", "root.qcow2"])
        try #require(r.status == 0, "export of the qcow2 input failed: \(r.stderr)")
        // The next backup of root: 1 MiB rewritten in the middle, as a delta on in.ipk, for the overlay row.
        var root2 = root
        root2.replaceSubrange((6 << 20)..<(7 << 20), with: [UInt8](repeating: 0x5A, count: 1 << 20))
        try Data(root2).write(to: URL(fileURLWithPath: cli.path("root2.raw")))
        r = try cli.run(["pack", "--disk", "root=root2.raw", "--disk", "data=data.raw", "--name", "crash", "--parent", "in.ipk", "--quiet", "-o", "delta.ipk"])
        try #require(r.status == 0, "pack of the delta input failed: \(r.stderr)")
        try FileManager.default.createDirectory(atPath: cli.path("x"), withIntermediateDirectories: true)

        let verifies: @Sendable (CLI, String) throws -> Bool = { cli, name in try cli.run(["verify", "--quiet", name]).status == 0 }
        let force: @Sendable (Bool) -> [String] = { $0 ? ["--force"] : [] }
        return [
            WritingCommand(
                name: "pack",
                arguments: { ["pack", "--disk", "root=root.raw", "--disk", "data=data.raw", "--name", "crash", "--chunk-size", "256K", "--quiet", "-o", "out.ipk"] + force($0) },
                destinations: ["out.ipk"], isComplete: verifies),
            WritingCommand(
                name: "import",
                arguments: { ["import", "root.qcow2", "data.raw", "--disk-name", "root", "--disk-name", "data", "--name", "crash", "--chunk-size", "256K", "--quiet", "-o", "imported.ipk"] + force($0) },
                destinations: ["imported.ipk"], isComplete: verifies),
            WritingCommand(
                name: "extract",
                arguments: { ["extract", "in.ipk", "-o", "x", "--quiet"] + force($0) },
                destinations: ["x/root.raw", "x/data.raw"],
                isComplete: { cli, name in try cli.read(name) == (name == "x/root.raw" ? root : data) }),
            WritingCommand(
                name: "export raw",
                arguments: { ["export", "in.ipk", "--disk", "root", "--format", "raw", "--quiet", "-o", "out.raw"] + force($0) },
                destinations: ["out.raw"],
                isComplete: { cli, name in try cli.read(name) == root }),
            WritingCommand(
                name: "copy",
                arguments: { ["copy", "in.ipk", "--quiet", "-o", "copied.ipk"] + force($0) },
                destinations: ["copied.ipk"], isComplete: verifies),
            WritingCommand(
                name: "copy --codec",
                arguments: { ["copy", "in.ipk", "--codec", "zlib", "--level", "1", "--quiet", "-o", "recoded.ipk"] + force($0) },
                destinations: ["recoded.ipk"], isComplete: verifies),
            WritingCommand(
                name: "export qcow2",
                arguments: { ["export", "in.ipk", "--disk", "root", "--format", "qcow2", "--quiet", "-o", "out.qcow2"] + force($0) },
                destinations: ["out.qcow2"],
                isComplete: { cli, name in
                    // The peer tool reads it: a valid qcow2 holding exactly the disk.
                    try cli.execute(qemuImg!, ["compare", "-q", "-f", "qcow2", "-F", "raw", name, "root.raw"], stdinFile: nil, environment: [:]).status == 0
                }),
            WritingCommand(
                name: "qcow2 overlay",
                arguments: { ["export", "delta.ipk", "--parent", "in.ipk", "--disk", "root", "--format", "qcow2", "--backing-file", "root.qcow2", "--quiet", "-o", "overlay.qcow2"] + force($0) },
                destinations: ["overlay.qcow2"],
                isComplete: { cli, name in
                    // Through its backing file (in.ipk's root), the delta's disk.
                    try cli.execute(qemuImg!, ["compare", "-q", "-f", "qcow2", "-F", "raw", name, "root2.raw"], stdinFile: nil, environment: [:]).status == 0
                }),
        ]
    }

    static let qemuImg: String? = ["/usr/bin/qemu-img", "/usr/local/bin/qemu-img"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("SIGKILL at 50 points of every writing command leaves each destination absent, complete or as it was, and no temporary",
          .enabled(if: FileManager.default.fileExists(atPath: "/proc/self/io"), "reads bytes written from /proc/PID/io"),
          .enabled(if: qemuImg != nil, "qemu-img checks the exported qcow2 (.ci/deps installs qemu-utils)"))
    func killEveryWriter() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let harness = KillHarness(cli: cli)
        var tallies: [KillTally] = []
        for command in try Self.commands(cli) {
            let reference = try harness.measure(command)
            let points = KillHarness.points(count: Self.pointsPerCommand, seconds: reference.seconds, bytes: reference.bytes)
            tallies.append(try harness.run(command, points: points, modes: Self.modes))
        }
        print("crash consistency (SIGKILL):\n" + KillHarness.table(tallies))
        for tally in tallies {
            #expect(tally.points >= Self.pointsPerCommand)
            #expect(tally.outcomes[.damaged, default: 0] == 0, "\(tally.command): damaged outputs")
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
