import Foundation
import ImagePack
import Testing
import TestSupport

/// `sign` of a format 1.0 image interrupted: killed by SIGKILL at many points, or out of space.
/// The signed image is written beside the original and renamed over it, so every outcome is the
/// original image, byte for byte, or the fully signed one. (A format 1.2 image is signed in place:
/// ShareKillTests.)
@Suite("sign interrupted")
struct SignKillTests {
    /// Bytes of the new file written when the kill comes; nil is at once. Counted in bytes, not
    /// time, so the points fall at the same place on a fast or a loaded machine.
    static let killPoints: [Int?] = [nil, 0, 1 << 20, 8 << 20, 32 << 20]

    @Test("SIGKILL at any point of a sign leaves the image as it was or fully signed, and no other file",
          .enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd"), "finds the output through /proc"))
    func killAnywhere() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        // Stored chunks: a ~100 MB image, far more than the last kill point.
        let packed = try cli.run(["pack", "--simulate", "128M", "--codec", "stored", "--legacy-layout", "--quiet", "-o", "original.ipk"])
        #expect(packed.status == 0, "\(packed.stderr)")
        #expect(try cli.run(["key", "generate", "-o", "publisher"]).status == 0)
        let original = try cli.read("original.ipk")
        var unsignedOutcomes = 0
        for point in Self.killPoints {
            try? FileManager.default.removeItem(atPath: cli.path("x.ipk"))
            try FileManager.default.copyItem(atPath: cli.path("original.ipk"), toPath: cli.path("x.ipk"))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try CLI.binary)
            process.arguments = ["sign", "x.ipk", "--key", "publisher"]
            process.currentDirectoryURL = URL(fileURLWithPath: cli.directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            if let point { KillHarness.wait(for: process, until: .afterWriting(bytes: point)) }
            _ = system_kill(process.processIdentifier, _SIGKILL)
            process.waitUntilExit()

            let at = point.map { "after \($0) bytes" } ?? "at once"
            #expect(cli.listing() == ["original.ipk", "publisher", "publisher.pub", "x.ipk"], "killed \(at)")
            let now = try cli.read("x.ipk")
            if now == original {
                unsignedOutcomes += 1
            } else {
                let check = try cli.run(["verify", "--quick", "x.ipk", "--trusted-key", "publisher.pub"])
                #expect(check.status == 0, "killed \(at): the image is neither the original nor signed: \(check.stderr)")
                expectSameBytes(Array(now.prefix(original.count - 96)), Array(original.prefix(original.count - 96)), "killed \(at)")
            }
        }
        #expect(unsignedOutcomes > 0, "no kill landed before the rename: the test did not test anything")
    }

    @Test("sign on a full file system fails with exit 3 and leaves the image and the directory as they were",
          .enabled(if: getuid() == 0, "mounts a small tmpfs"))
    func fullDisk() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["pack", "--simulate", "16M", "--codec", "stored", "--legacy-layout", "--quiet", "-o", "x.ipk"]).status == 0)
        #expect(try cli.run(["key", "generate", "-o", "publisher"]).status == 0)
        let original = try cli.read("x.ipk")
        // Room for the image but not for a second copy of it.
        let size = (original.count / 4096 + 64) * 4096
        try FileManager.default.createDirectory(atPath: cli.path("small"), withIntermediateDirectories: true)
        let mounted = try cli.shell("mount -t tmpfs -o size=\(size) tmpfs small")
        try #require(mounted.status == 0, "cannot mount a tmpfs: \(mounted.stderr)")
        defer { _ = try? cli.shell("umount small") }
        try FileManager.default.copyItem(atPath: cli.path("x.ipk"), toPath: cli.path("small/x.ipk"))
        let r = try cli.run(["sign", "small/x.ipk", "--key", "publisher"])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stderr.contains("No space left"), "\(r.stderr)")
        try expectSameBytes(cli.read("small/x.ipk"), original)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.path("small")) == ["x.ipk"])
    }
}
