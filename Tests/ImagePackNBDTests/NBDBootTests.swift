import Foundation
import Testing

/// A real launch: qemu (TCG) boots a Linux guest whose root disk is `imgpack serve` over NBD
/// (.ci/nbd-boot-test does the work and prints "NBD BOOT TEST PASSED").
@Suite("NBD boot", .enabled(if: BootTools.enabled, BootTools.skipMessage))
struct NBDBootTests {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("a VM boots from an image served over NBD, reads its files and writes into the overlay")
    func boot() throws {
        // The work directory is kept under .build so the kernel package is downloaded once.
        let work = Self.package.appendingPathComponent(".build/nbd-boot-test").path
        let script = Self.package.appendingPathComponent(".ci/nbd-boot-test").path
        let r = try ExternalTools.run("/bin/bash", [script, ExternalTools.imgpack, work], in: Self.package.path)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("NBD BOOT TEST PASSED"))
    }
}

/// What the boot test runs; missing tools skip it outside CI and fail it in CI.
enum BootTools {
    static let tools = ["qemu-system-x86_64", "busybox", "cpio", "mke2fs", "debugfs", "nbdcopy", "dpkg-deb"]
    static var missing: [String] { tools.filter { ExternalTools.find($0) == nil } }
    static var enabled: Bool { missing.isEmpty || ExternalTools.isCI }
    static var skipMessage: Comment {
        "skipped: \(missing.joined(separator: ", ")) not installed (apt-get install qemu-system-x86 busybox-static cpio e2fsprogs libnbd-bin)"
    }
}
