import Foundation
import ImagePack
import Testing
import TestSupport

/// `share` (and `sign`) on a format 1.2 image, interrupted: the new catalogue goes into the tail
/// area's free space and the footer is switched with one write (spec §9.4), so every outcome is
/// the image as it was, byte for byte, or the updated image with the same root digest and a
/// signature that still verifies.
@Suite("share interrupted")
struct ShareKillTests {
    /// Kill points: at once, after a few bytes written (inside the catalogue write, between it
    /// and the footer), and at fractions of a clean run's wall time.
    static let bytePoints: [Int] = [0, 1, 200, 400, 600, 4096]
    static let timeFractions: [Double] = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2]

    @Test("SIGKILL at any point of a share leaves the image as it was or fully updated, signed and with the same root, and no other file",
          .enabled(if: FileManager.default.fileExists(atPath: "/proc/self/io"), "reads bytes written from /proc/PID/io"))
    func killAnywhere() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["pack", "--simulate", "32M", "--quiet", "-o", "original.ipk"]).status == 0)
        #expect(try cli.run(["key", "generate", "-o", "publisher"]).status == 0)
        #expect(try cli.run(["sign", "original.ipk", "--key", "publisher"]).status == 0)
        let original = try cli.read("original.ipk")
        let originalReader = try ImageReader(path: cli.path("original.ipk"))
        let root = originalReader.rootDigest
        let arguments = ["share", "x.ipk", "--add", "123456789012"]

        // One clean run for its duration.
        try FileManager.default.copyItem(atPath: cli.path("original.ipk"), toPath: cli.path("x.ipk"))
        let start = Date()
        let clean = try cli.run(arguments)
        let seconds = Date().timeIntervalSince(start)
        #expect(clean.status == 0, "\(clean.stderr)")
        let points: [KillPoint] = Self.bytePoints.map { .afterWriting(bytes: $0) } + Self.timeFractions.map { .after(seconds: seconds * $0) }

        var outcomes: [String: Int] = [:]
        for point in points {
            try? FileManager.default.removeItem(atPath: cli.path("x.ipk"))
            try FileManager.default.copyItem(atPath: cli.path("original.ipk"), toPath: cli.path("x.ipk"))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try CLI.binary)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: cli.directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            KillHarness.wait(for: process, until: point)
            _ = system_kill(process.processIdentifier, _SIGKILL)
            process.waitUntilExit()

            #expect(cli.listing() == ["original.ipk", "publisher", "publisher.pub", "x.ipk"], "killed \(point)")
            let now = try cli.read("x.ipk")
            if now == original {
                outcomes["as it was", default: 0] += 1
                continue
            }
            let check = try cli.run(["verify", "--quick", "x.ipk", "--trusted-key", "publisher.pub"])
            #expect(check.status == 0, "killed \(point): the image is neither the original nor verified: \(check.stderr)")
            let reader = try ImageReader(path: cli.path("x.ipk"))
            #expect(reader.rootDigest == root, "killed \(point)")
            let accounts = reader.metadata.sharedWith
            #expect(accounts.contains("123456789012") || reader.metadata == originalReader.metadata, "killed \(point): \(accounts)")
            outcomes[accounts.contains("123456789012") ? "updated" : "old catalogue, stale bytes in free space", default: 0] += 1
        }
        print("share killed at \(points.count) points: \(outcomes)")
        #expect(outcomes["updated", default: 0] > 0, "no kill landed after the footer write: the test did not see a completed update")
    }

    @Test("share in place needs no free space: on a full file system it succeeds, and a share that must rewrite the image fails with exit 3 and leaves it as it was",
          .enabled(if: getuid() == 0, "mounts a small tmpfs"))
    func fullDisk() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["pack", "--simulate", "16M", "--codec", "stored", "--quiet", "-o", "x.ipk"]).status == 0)
        let original = try cli.read("x.ipk")
        // Room for the image but not for a second copy of it.
        let size = (original.count / 4096 + 64) * 4096
        try FileManager.default.createDirectory(atPath: cli.path("small"), withIntermediateDirectories: true)
        let mounted = try cli.shell("mount -t tmpfs -o size=\(size) tmpfs small")
        try #require(mounted.status == 0, "cannot mount a tmpfs: \(mounted.stderr)")
        defer { _ = try? cli.shell("umount small") }
        try FileManager.default.copyItem(atPath: cli.path("x.ipk"), toPath: cli.path("small/x.ipk"))
        // Fill what is left.
        _ = try cli.shell("dd if=/dev/zero of=small/filler bs=4096 2>/dev/null")
        let inPlace = try cli.run(["share", "small/x.ipk", "--add", "111111111111"])
        #expect(inPlace.status == 0, "\(inPlace.stderr)")
        let updated = try cli.read("small/x.ipk")
        #expect(updated.count == original.count)
        // Hundreds of accounts do not fit the tail area: the image must be written again, and cannot be.
        let many = (0..<400).map { "account-\(String(repeating: "y", count: 24))-\($0)" }
        let rewrite = try cli.run(["share", "small/x.ipk", "--add"] + many)
        #expect(rewrite.status == 3, "\(rewrite.stderr)")
        #expect(rewrite.stderr.contains("No space left"), "\(rewrite.stderr)")
        try expectSameBytes(cli.read("small/x.ipk"), updated)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.path("small")).sorted() == ["filler", "x.ipk"])
    }
}
