import Foundation
import Testing
import TestSupport
@testable import ImagePack

/// A real file system changed in place, as the benchmark's 2 GiB disk is (Benchmarks/delta-series.sh),
/// at test size: a 64 MiB ext4 made by `mke2fs -d` from generated files, then five versions, each
/// changed with `debugfs -w` (files added, files deleted, a large file rewritten, many inodes
/// touched, a bit of everything).
enum Ext4Versions {
    static var mke2fs: String? { ImportFixtures.mke2fs }
    static let debugfs: String? = ["/usr/sbin/debugfs", "/sbin/debugfs"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var available: Bool { mke2fs != nil && debugfs != nil }

    /// Runs a tool, its output in the error if it fails (the import fixtures' runner).
    static func run(_ tool: String, _ arguments: [String]) throws { try ImportFixtures.run(tool, arguments) }

    static func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// Builds v0 ... v`count` as `dir`/vN.raw and returns their paths.
    static func make(in dir: String, count: Int = 5) throws -> [String] {
        let tree = dir + "/tree"
        for d in ["etc", "lib", "log", "srv"] { try FileManager.default.createDirectory(atPath: tree + "/" + d, withIntermediateDirectories: true) }
        // 120 small text files, 30 libraries (random + text), one large file: ~16 MB in all.
        for i in 0..<120 { try write(textBytes(2000 + (i * 337) % 9000, seed: UInt64(i)), to: tree + "/etc/f\(i).conf") }
        for i in 0..<30 { try write(randomBytes(100_000 + i * 7000, seed: UInt64(1000 + i)) + textBytes(50_000, seed: UInt64(2000 + i)), to: tree + "/lib/lib\(i).so") }
        try write(textBytes(6 << 20, seed: 3000), to: tree + "/srv/large.db")
        let v0 = dir + "/v0.raw"
        try run(mke2fs!, ["-q", "-F", "-t", "ext4", "-E", "root_owner=0:0", "-d", tree, v0, "64M"])
        var paths = [v0]
        for n in 1...count {
            let path = dir + "/v\(n).raw"
            try FileManager.default.copyItem(atPath: paths[n - 1], toPath: path)
            var commands: [String] = []
            let input = dir + "/in\(n)"
            switch n % 5 {
            case 1:  // add files
                try write(randomBytes(1 << 20, seed: 4000 + UInt64(n)), to: input + "-a")
                try write(textBytes(600_000, seed: 5000 + UInt64(n)), to: input + "-b")
                commands += ["write \(input)-a /srv/new\(n).bin", "write \(input)-b /log/new\(n).log"]
            case 2:  // delete files
                commands += (0..<20).map { "rm /etc/f\($0 * 5 + n).conf" } + ["rm /lib/lib\(n).so"]
            case 3:  // rewrite a large file: its bytes with 256 KiB inserted a third of the way in
                let old = textBytes(6 << 20, seed: 3000)
                try write(Array(old[0..<(2 << 20)]) + randomBytes(256 << 10, seed: 6000) + Array(old[(2 << 20)...]), to: input + "-a")
                commands += ["rm /srv/large.db", "write \(input)-a /srv/large.db"]
            case 4:  // touch many small files
                commands += (0..<120).filter { $0 % 5 != 2 }.map { "sif /etc/f\($0).conf mtime 2026120\(n)0000" }
            default:  // a bit of everything
                try write(textBytes(300_000, seed: 7000 + UInt64(n)), to: input + "-a")
                commands += ["write \(input)-a /log/app\(n).log", "rm /lib/lib20.so"] + (60..<90).map { "sif /etc/f\($0).conf mtime 202612050000" }
            }
            try write(Array((commands.joined(separator: "\n") + "\n").utf8), to: input + ".cmd")
            try run(debugfs!, ["-w", "-f", input + ".cmd", path])
            paths.append(path)
        }
        return paths
    }
}

@Suite("Delta images of a real ext4 changed in place", .enabled(if: Ext4Versions.available, "mke2fs/debugfs missing (.ci/deps installs e2fsprogs)"))
struct DeltaExt4Tests {
    @Test("a chain of 5 deltas over ext4 versions: every delta has its full pack's root digest and reads back by random access and streaming; flatten equals the full pack")
    func chain() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let versions = try Ext4Versions.make(in: dir)
        let options = WriterOptions(chunkSize: 1 << 20, threads: 2)
        var readers: [ImageReader] = []
        for (n, raw) in versions.enumerated() {
            let state = SystemState(metadata: testMetadata(), streams: [StreamSpec(name: "root", source: try FileSource(path: raw))])
            let full = try ImageWriter.write(state, toFile: dir + "/full\(n).ipk", options: options)
            var deltaOptions = options
            deltaOptions.parent = readers.last
            let delta = try ImageWriter.write(
                SystemState(metadata: testMetadata(), streams: [StreamSpec(name: "root", source: try FileSource(path: raw))]),
                toFile: dir + "/d\(n).ipk", options: deltaOptions)
            #expect(delta.rootDigest == full.rootDigest, "v\(n)")
            if n > 0 {
                #expect(delta.chunksByKind[.parent, default: 0] > 0, "v\(n)")
                #expect(delta.fileLength < full.fileLength, "v\(n): delta \(delta.fileLength) bytes, full \(full.fileLength)")
            }
            readers.append(try ImageReader(path: dir + "/d\(n).ipk", parents: readers.reversed()))
            let disk = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw)))
            let top = readers[n]
            #expect(top.parents.readers.count == n)
            try expectSameBytes(top.read(stream: 0, at: 0, count: disk.count), disk, "v\(n) by random access")
            let (streamed, content) = try streamAll(dir + "/d\(n).ipk", parents: Array(readers[0..<n]))
            #expect(streamed.rootDigest == full.rootDigest)
            expectSameBytes(content[0], disk, "v\(n) streamed")
        }
        // flatten of the 5-deep delta: the full image's root digest, and the same bytes extracted.
        let top = readers[5]
        let flat = try ImageWriter.write(SystemState(image: top), toFile: dir + "/flat.ipk", options: options)
        let full = try ImageReader(path: dir + "/full5.ipk")
        #expect(flat.rootDigest == full.rootDigest)
        let flatReader = try ImageReader(path: dir + "/flat.ipk")
        #expect(flatReader.parentDigest == nil)
        try flatReader.extract(stream: 0, toFile: dir + "/flat.raw")
        try top.extract(stream: 0, toFile: dir + "/delta.raw")
        let expected = try Data(contentsOf: URL(fileURLWithPath: versions[5]))
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: dir + "/flat.raw")), expected)
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: dir + "/delta.raw")), expected)
    }
}
