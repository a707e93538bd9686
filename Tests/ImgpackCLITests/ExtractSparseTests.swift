import Foundation
import Testing
import TestSupport

/// Extraction leaves every zero block a hole, also inside data chunks, as `cp --sparse=always` does.
@Suite("imgpack extract: sparse at block granularity")
struct ExtractSparseTests {
    /// A disk whose zero runs start and end off chunk (and block) boundaries: 5 MB of random
    /// bytes, 16 MiB of zeros, 3.3 MB random, 7 MB zeros, 1 MB random. With 4 MiB chunks every
    /// zero run shares chunks with data, so only block-level holes can skip it.
    func makeUnalignedDisk(_ cli: CLI, _ name: String) throws -> [UInt8] {
        var rng = SplitMix(seed: 77)
        var bytes: [UInt8] = []
        func random(_ n: Int) {
            for _ in 0..<(n / 8) { withUnsafeBytes(of: rng.next()) { bytes.append(contentsOf: $0) } }
            bytes.append(contentsOf: [UInt8](repeating: 0x5C, count: n % 8))
        }
        random(5_000_003)
        bytes.append(contentsOf: [UInt8](repeating: 0, count: 16 << 20))
        random(3_333_333)
        bytes.append(contentsOf: [UInt8](repeating: 0, count: 7_000_001))
        random(1_000_000)
        try Data(bytes).write(to: URL(fileURLWithPath: cli.path(name)))
        return bytes
    }

    @Test("extract, extract - and export --format raw allocate no more than cp --sparse=always, same content")
    func unalignedZeroRuns() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let bytes = try makeUnalignedDisk(cli, "disk.raw")
        #expect(try cli.shell("cp --sparse=always disk.raw cp.raw").status == 0)
        let reference = cli.allocated("cp.raw")
        #expect(reference < bytes.count * 3 / 4, "cp made \(reference) bytes allocated: the test disk is not sparse enough to tell")
        #expect(try cli.run(["pack", "--disk", "root=disk.raw", "--name", "u", "-o", "u.ipk"]).status == 0)

        let file = try cli.run(["extract", "u.ipk", "-o", "file"])
        #expect(file.status == 0, "\(file.stderr)")
        let streamed = try cli.run(["extract", "-", "-o", "stream"], stdinFile: cli.path("u.ipk"))
        #expect(streamed.status == 0, "\(streamed.stderr)")
        let exported = try cli.run(["export", "u.ipk", "--format", "raw", "-o", "export.raw"])
        #expect(exported.status == 0, "\(exported.stderr)")
        for name in ["file/root.raw", "stream/root.raw", "export.raw"] {
            try expectSameBytes(cli.read(name), bytes, "\(name) differs from the disk")
            #expect(cli.allocated(name) <= reference, "\(name): \(cli.allocated(name)) bytes allocated, cp --sparse=always \(reference)")
        }
    }

    @Test("a real ext4 file system extracts as sparse as cp --sparse=always makes it",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/mke2fs") || FileManager.default.isExecutableFile(atPath: "/sbin/mke2fs"), "mke2fs (e2fsprogs) not installed"))
    func ext4() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let made = try cli.shell("mke2fs -q -F -t ext4 -d /usr/include disk.raw 512M")
        try #require(made.status == 0, "mke2fs failed: \(made.stderr)")
        #expect(try cli.shell("cp --sparse=always disk.raw cp.raw").status == 0)
        #expect(try cli.run(["pack", "--disk", "root=disk.raw", "--name", "e", "-o", "e.ipk"]).status == 0)
        #expect(try cli.run(["extract", "e.ipk", "-o", "out"]).status == 0)
        #expect(try cli.shell("cmp disk.raw out/root.raw").status == 0)
        #expect(cli.allocated("out/root.raw") <= cli.allocated("cp.raw"), "\(cli.allocated("out/root.raw")) bytes allocated, cp --sparse=always \(cli.allocated("cp.raw"))")
    }
}

/// Every disk of an extract appears, or none does; a destination is checked before anything is written.
@Suite("imgpack extract: all disks or none")
struct ExtractDestinationTests {
    @Test("a dangling symbolic link at a destination refuses the whole extract before any disk appears")
    func danglingLink() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let (root, data) = try cli.packSample()
        try FileManager.default.createDirectory(atPath: cli.path("out"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: cli.path("out/data.raw"), withDestinationPath: cli.path("nowhere"))
        let refused = try cli.run(["extract", "sample.ipk", "-o", "out"])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("out/data.raw") && refused.stderr.contains("symbolic link"), "\(refused.stderr)")
        #expect(!cli.exists("out/root.raw"), "root.raw was published before data.raw was refused")
        // The same from standard input.
        let streamed = try cli.run(["extract", "-", "-o", "out"], stdinFile: cli.path("sample.ipk"))
        #expect(streamed.status == 2 && !cli.exists("out/root.raw"), "\(streamed.stderr)")

        // With --force the link itself is replaced by the file; its target is never created.
        let forced = try cli.run(["extract", "sample.ipk", "-o", "out", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        try expectSameBytes(cli.read("out/data.raw"), data)
        try expectSameBytes(cli.read("out/root.raw"), root)
        #expect(!cli.exists("nowhere"))
        let attributes = try FileManager.default.attributesOfItem(atPath: cli.path("out/data.raw"))
        #expect(attributes[.type] as? FileAttributeType == .typeRegular)
    }

    @Test("a directory at a destination is refused up front, even with --force")
    func directoryInTheWay() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        try FileManager.default.createDirectory(atPath: cli.path("out/data.raw"), withIntermediateDirectories: true)
        for extra in [[], ["--force"]] {
            let r = try cli.run(["extract", "sample.ipk", "-o", "out"] + extra)
            #expect(r.status == 2 && r.stderr.contains("is a directory"), "\(r.stderr)")
            #expect(!cli.exists("out/root.raw"))
        }
    }

    @Test("an -o DIR the extract created is removed again when the extract is refused")
    func createdDirectoryRemoved() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let r = try cli.run(["extract", "sample.ipk", "--disk", "swap", "-o", "new"])
        #expect(r.status == 2)
        #expect(!cli.exists("new"))
        // A directory that was there before stays.
        try FileManager.default.createDirectory(atPath: cli.path("kept"), withIntermediateDirectories: true)
        #expect(try cli.run(["extract", "sample.ipk", "--disk", "swap", "-o", "kept"]).status == 2)
        #expect(cli.exists("kept"))
    }

    @Test("an -o DIR that cannot be created is named with the system's reason")
    func uncreatableDirectory() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let r = try cli.run(["extract", "sample.ipk", "-o", "/proc/nope"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("/proc/nope") && r.stderr.contains("No such file or directory"), "\(r.stderr)")
        #expect(!r.stderr.contains("could not be completed"))
    }
}
