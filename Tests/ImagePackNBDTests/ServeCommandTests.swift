import Foundation
import Testing

/// `imgpack serve`'s command line: what it refuses before serving anything.
@Suite("imgpack serve command line")
struct ServeCommandTests {
    func run(_ arguments: [String]) throws -> ExternalTools.Result {
        try ExternalTools.run("imgpack", ["serve", TestServer.twoDisks] + arguments, in: NSTemporaryDirectory())
    }

    @Test("usage errors exit 2: two listeners, --disk without --overlay, a remote address without --allow-remote, --overlay with --overlay-dir")
    func usageErrors() throws {
        let both = try run(["--socket", "/tmp/x.sock", "--listen", "127.0.0.1:0"])
        #expect(both.status == 2 && both.stderr.contains("alternatives"))
        let disk = try run(["--disk", "root"])
        #expect(disk.status == 2 && disk.stderr.contains("--overlay"))
        let remote = try run(["--listen", "0.0.0.0:0"])
        #expect(remote.status == 2 && remote.stderr.contains("--allow-remote"), "\(remote.stderr)")
        let address = try run(["--listen", "host:port"])
        #expect(address.status == 2)
        let overlays = try run(["--overlay", "/tmp/o", "--overlay-dir", "/tmp/d"])
        #expect(overlays.status == 2 && overlays.stderr.contains("alternatives"), "\(overlays.stderr)")
    }

    @Test("an overlay of another image exits 2 and names the digests")
    func overlayOfAnotherImage() throws {
        let directory = TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made = try TestServer(directory: directory) { $0.overlayPath = directory + "/o" }
        made.stop(removing: false)
        let r = try ExternalTools.run("imgpack", ["serve", TestServer.samples + "/small.ipk", "--overlay", directory + "/o", "--socket", directory + "/s"], in: directory)
        #expect(r.status == 2 && r.stderr.contains("rootDigest"), "\(r.stderr)")
    }
}
