import Foundation
import Testing
import TestSupport

/// qemu-img, when installed: the reference for import and export.
enum QemuImg {
    static let path: String? = ["/usr/bin/qemu-img", "/usr/local/bin/qemu-img", "/opt/homebrew/bin/qemu-img"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static var installed: Bool { path != nil }
}

@Suite("imgpack import and export", .enabled(if: QemuImg.installed, "qemu-img not installed (apt-get install qemu-utils); skipping import/export CLI tests"))
struct ImportExportTests {
    /// Runs qemu-img in the scratch directory; returns its status and output.
    func qemu(_ cli: CLI, _ arguments: [String]) throws -> RunResult {
        try cli.execute(QemuImg.path!, arguments, stdinFile: nil, environment: [:])
    }

    /// A 4 MiB sparse disk plus its qcow2 (zstd clusters) and streamOptimized VMDK conversions.
    func makeSources(_ cli: CLI) throws -> [UInt8] {
        let bytes = try cli.makeDisk("disk.raw", size: (4 << 20) + 1536, seed: 5)
        #expect(try qemu(cli, ["convert", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zstd", "disk.raw", "disk.qcow2"]).status == 0)
        #expect(try qemu(cli, ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", "disk.raw", "disk.vmdk"]).status == 0)
        return bytes
    }

    @Test("import of a qcow2 and a VMDK extracts byte for byte, with provenance tags")
    func importTwo() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let bytes = try makeSources(cli)
        let r = try cli.run(["import", "disk.qcow2", "disk.vmdk", "--disk-name", "root", "--disk-name", "data", "--name", "vm", "--chunk-size", "256K", "-o", "vm.ipk", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try jsonObject(r.stdout)
        #expect(report["rootDigest"] is String)
        let sources = try #require(report["sources"] as? [[String: Any]])
        #expect(sources.map { $0["variant"] as? String } == ["qcow2 v3", "streamOptimized"])
        #expect(sources.map { $0["disk"] as? String } == ["root", "data"])
        #expect(try cli.run(["verify", "vm.ipk"]).status == 0)
        #expect(try cli.run(["extract", "vm.ipk", "-o", "out"]).status == 0)
        try expectSameBytes(cli.read("out/root.raw"), bytes)
        try expectSameBytes(cli.read("out/data.raw"), bytes)
        let info = try jsonObject(try cli.run(["info", "vm.ipk", "--json"]).stdout)
        let tags = (info["metadata"] as? [String: Any])?["tags"] as? [String: String]
        #expect(tags == ["imported-from.root": "qcow2 v3", "imported-from.data": "VMDK streamOptimized"])
        let quiet = try cli.run(["import", "disk.vmdk", "--name", "vm", "--no-provenance", "-o", "plain.ipk", "-q"])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
    }

    @Test("export to qcow2 passes qemu-img check and compare; raw export is the disk")
    func export() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let bytes = try makeSources(cli)
        #expect(try cli.run(["import", "disk.qcow2", "--name", "vm", "--chunk-size", "64K", "-o", "vm.ipk"]).status == 0)
        for (compress, cluster) in [("none", "64K"), ("zlib", "4K"), ("zstd", "2M")] {
            let out = "out-\(compress).qcow2"
            let r = try cli.run(["export", "vm.ipk", "--disk", "root", "--format", "qcow2", "--compress", compress, "--cluster-size", cluster, "-o", out])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("exported root to \(out)"))
            let check = try qemu(cli, ["check", out])
            #expect(check.status == 0 && check.stdoutText.contains("No errors were found"), "\(check.stdoutText) \(check.stderr)")
            #expect(try qemu(cli, ["compare", "-f", "raw", "-F", "qcow2", "disk.raw", out]).status == 0)
        }
        let raw = try cli.run(["export", "vm.ipk", "--format", "raw", "-o", "disk-out.raw", "--json"])
        #expect(raw.status == 0, "\(raw.stderr)")
        #expect(try jsonObject(raw.stdout)["format"] as? String == "raw")
        try expectSameBytes(cli.read("disk-out.raw"), bytes)
    }

    @Test("existing outputs need --force; bad combinations are usage errors")
    func refusals() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try makeSources(cli)
        #expect(try cli.run(["import", "disk.qcow2", "--name", "vm", "-o", "vm.ipk"]).status == 0)
        let again = try cli.run(["import", "disk.qcow2", "--name", "vm", "-o", "vm.ipk"])
        #expect(again.status == 2 && again.stderr.contains("--force"), "\(again.stderr)")
        #expect(try cli.run(["import", "disk.qcow2", "--name", "vm", "-o", "vm.ipk", "--force"]).status == 0)
        #expect(try cli.run(["export", "vm.ipk", "--format", "qcow2", "-o", "x.qcow2"]).status == 0)
        #expect(try cli.run(["export", "vm.ipk", "--format", "qcow2", "-o", "x.qcow2"]).status == 2)
        #expect(try cli.run(["export", "vm.ipk", "--format", "qcow2", "-o", "x.qcow2", "--force"]).status == 0)

        #expect(try cli.run(["import", "--name", "vm", "-o", "y.ipk"]).status == 2)  // no source
        #expect(try cli.run(["import", "disk.qcow2", "disk.vmdk", "--backing", "disk.raw", "--name", "vm", "-o", "y.ipk"]).status == 2)
        #expect(try cli.run(["import", "disk.qcow2", "--disk-name", "a", "--disk-name", "b", "--name", "vm", "-o", "y.ipk"]).status == 2)
        let mismatch = try cli.run(["import", "disk.qcow2", "--format", "vmdk", "--name", "vm", "-o", "y.ipk"])
        #expect(mismatch.status == 2 && mismatch.stderr.contains("qcow2"), "\(mismatch.stderr)")
        #expect(try cli.run(["export", "vm.ipk", "--format", "raw", "--compress", "zstd", "-o", "z.raw"]).status == 2)
        #expect(try cli.run(["export", "vm.ipk", "--format", "qcow2", "--cluster-size", "3K", "-o", "z.qcow2"]).status == 2)
        #expect(try cli.run(["export", "vm.ipk", "--disk", "swap", "--format", "qcow2", "-o", "z.qcow2"]).status == 2)
        #expect(!cli.exists("y.ipk") && !cli.exists("z.raw") && !cli.exists("z.qcow2"))
    }

    @Test("a qcow2 with a backing file needs --backing, and then reads through it")
    func backingFile() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let bytes = try makeSources(cli)
        #expect(try qemu(cli, ["create", "-f", "qcow2", "-b", "disk.qcow2", "-F", "qcow2", "overlay.qcow2"]).status == 0)
        let qemuIO = (QemuImg.path! as NSString).deletingLastPathComponent + "/qemu-io"
        try #require(FileManager.default.isExecutableFile(atPath: qemuIO), "qemu-io (qemu-utils) not installed")
        #expect(try cli.execute(qemuIO, ["-f", "qcow2", "-c", "write -P 0x5a 64k 64k", "overlay.qcow2"], stdinFile: nil, environment: [:]).status == 0)
        let refused = try cli.run(["import", "overlay.qcow2", "--name", "vm", "-o", "vm.ipk"])
        // A valid overlay missing its parent is a usage error (2) that names the option to give it.
        #expect(refused.status == 2 && refused.stderr.contains("--backing PARENT"), "\(refused.stderr)")
        let r = try cli.run(["import", "overlay.qcow2", "--backing", "disk.qcow2", "--name", "vm", "-o", "vm.ipk"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try cli.run(["export", "vm.ipk", "--format", "raw", "-o", "flat.raw"]).status == 0)
        var expected = bytes
        expected.replaceSubrange((64 << 10)..<(128 << 10), with: [UInt8](repeating: 0x5A, count: 64 << 10))
        try expectSameBytes(cli.read("flat.raw"), expected)
    }
}
