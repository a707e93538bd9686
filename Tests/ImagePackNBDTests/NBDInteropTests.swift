import Foundation
import ImagePack
import Testing

/// `imgpack serve` against the clients people use: qemu-img, qemu-io, nbdinfo, nbdcopy.
@Suite("NBD interop with qemu and libnbd tools", .enabled(if: ExternalTools.enabled, ExternalTools.skipMessage))
struct NBDInteropTests {
    /// An image with two disks (64 KiB chunks, zero runs in both) and its disks extracted.
    struct Fixture {
        let directory: String
        let image: String
        let rootSize = (4 << 20) + 12345

        init() throws {
            directory = NSTemporaryDirectory() + "imagepack-nbd-interop-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var root = [UInt8](repeating: 0, count: rootSize)
            var state: UInt32 = 12345
            for i in 0..<rootSize where !(512 << 10..<3 << 19).contains(i) && i < rootSize - (300 << 10) {
                state = state &* 1_103_515_245 &+ 12345
                // Half random, half text-like: compressible, never a whole chunk of zeros.
                root[i] = i & 1 == 0 ? UInt8(truncatingIfNeeded: state >> 16) : UInt8(65 + i % 26)
            }
            var data = [UInt8](repeating: 0, count: 1 << 20)
            for i in 0..<(64 << 10) { data[i] = UInt8(97 + i % 23) }
            try Data(root).write(to: URL(fileURLWithPath: directory + "/root.in"))
            try Data(data).write(to: URL(fileURLWithPath: directory + "/data.in"))
            image = directory + "/two.ipk"
            let pack = try ExternalTools.run("imgpack", ["pack", "--disk", "root=root.in", "--disk", "data=data.in", "--chunk-size", "64K", "--name", "interop", "-o", image], in: directory)
            try #require(pack.status == 0, "\(pack.stderr)")
            let extract = try ExternalTools.run("imgpack", ["extract", image, "-o", "raw"], in: directory)
            try #require(extract.status == 0, "\(extract.stderr)")
        }

        func raw(_ disk: String) -> String { directory + "/raw/\(disk).raw" }
        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test("qemu-img compare finds every disk identical to imgpack extract; nbdinfo --list names them all")
    func compareAndList() throws {
        let f = try Fixture()
        defer { f.remove() }
        let server = try ServeProcess(image: f.image, socket: f.directory + "/s", in: f.directory)
        defer { server.stop() }
        for disk in ["root", "data"] {
            let r = try ExternalTools.run("qemu-img", ["compare", "-f", "raw", "-F", "raw", server.uri(disk), f.raw(disk)], in: f.directory)
            #expect(r.status == 0, "\(disk): \(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("Images are identical"))
        }
        let list = try ExternalTools.run("nbdinfo", ["--list", server.uri("")], in: f.directory)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("export=\"root\"") && list.stdout.contains("export=\"data\""))
    }

    @Test("nbdinfo --map shows holes exactly where the zero chunks are")
    func map() throws {
        let f = try Fixture()
        defer { f.remove() }
        let server = try ServeProcess(image: f.image, socket: f.directory + "/s", in: f.directory)
        defer { server.stop() }
        let reader = try ImageReader(path: f.image)
        for (s, info) in reader.streams.enumerated() {
            let r = try ExternalTools.run("nbdinfo", ["--map", server.uri(info.name)], in: f.directory)
            #expect(r.status == 0, "\(r.stderr)")
            var shown: [(UInt64, UInt64, Int)] = []
            for line in r.stdout.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 3, let offset = UInt64(fields[0]), let length = UInt64(fields[1]), let type = Int(fields[2]) else { continue }
                if let last = shown.last, last.2 == type, last.0 + last.1 == offset { shown[shown.count - 1].1 += length } else { shown.append((offset, length, type)) }
            }
            var expected: [(UInt64, UInt64, Int)] = []
            for entry in reader.chunks(ofStream: s) {
                let type = entry.kind == .zero ? 3 : 0
                if let last = expected.last, last.2 == type { expected[expected.count - 1].1 += UInt64(entry.logicalLength) } else {
                    expected.append((entry.logicalOffset, UInt64(entry.logicalLength), type))
                }
            }
            #expect(expected.contains { $0.2 == 3 }, "the fixture has zero chunks in \(info.name)")
            #expect(shown.map(\.0) == expected.map(\.0), "\(info.name): \(r.stdout)")
            #expect(shown.map(\.1) == expected.map(\.1))
            #expect(shown.map(\.2) == expected.map(\.2))
        }
    }

    @Test("nbdcopy of each export equals imgpack extract")
    func nbdcopy() throws {
        let f = try Fixture()
        defer { f.remove() }
        let server = try ServeProcess(image: f.image, socket: f.directory + "/s", in: f.directory)
        defer { server.stop() }
        for disk in ["root", "data"] {
            let out = f.directory + "/\(disk).copy"
            let r = try ExternalTools.run("nbdcopy", [server.uri(disk), out], in: f.directory)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: f.raw(disk))))
        }
    }

    @Test("qemu-io random reads return the disk's bytes")
    func randomReads() throws {
        let f = try Fixture()
        defer { f.remove() }
        let server = try ServeProcess(image: f.image, socket: f.directory + "/s", in: f.directory)
        defer { server.stop() }
        let root = [UInt8](try Data(contentsOf: URL(fileURLWithPath: f.raw("root"))))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var commands: [String] = []
        var ranges: [(Int, Int)] = []
        for _ in 0..<24 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = 1 + Int(state >> 58)
            let offset = Int((state >> 20) % UInt64(root.count - length))
            ranges.append((offset, length))
            commands += ["-c", "read -v \(offset) \(length)"]
        }
        let r = try ExternalTools.run("qemu-io", ["-r", "-f", "raw"] + commands + [server.uri("root")], in: f.directory)
        #expect(r.status == 0, "\(r.stderr)")
        // `read -v` dumps "xxxxxxxx:  hh hh ..  text" lines; collect the bytes of every dump in order.
        var dumped: [UInt8] = []
        for line in r.stdout.split(separator: "\n") where line.count > 10 && line.dropFirst(8).hasPrefix(":") {
            let hex = line.dropFirst(10).prefix(16 * 3)
            dumped += hex.split(separator: " ").compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        }
        #expect(dumped == ranges.flatMap { Array(root[$0.0..<$0.0 + $0.1]) })
    }

    @Test("with --overlay, a qemu-io write reads back in a new connection and after a restart; the image is unchanged")
    func overlay() throws {
        let f = try Fixture()
        defer { f.remove() }
        let before = try Data(contentsOf: URL(fileURLWithPath: f.image))
        let overlay = f.directory + "/root.overlay"
        var server = try ServeProcess(image: f.image, socket: f.directory + "/s", extra: ["--overlay", overlay], in: f.directory)
        let write = try ExternalTools.run("qemu-io", ["-f", "raw", "-c", "write -P 0xab 1M 64k", server.uri("root")], in: f.directory)
        #expect(write.status == 0 && !write.stdout.contains("failed"), "\(write.stdout) \(write.stderr)")
        let check = ["-r", "-f", "raw", "-c", "read -P 0xab 1M 64k", "-c", "read -P 0 600k 4k"]
        var read = try ExternalTools.run("qemu-io", check + [server.uri("root")], in: f.directory)
        #expect(read.status == 0 && !read.stdout.contains("failed") && !read.stdout.contains("Pattern verification"), "\(read.stdout)")
        #expect(server.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: server.socket), "the socket is removed at SIGTERM")
        server = try ServeProcess(image: f.image, socket: f.directory + "/s", extra: ["--overlay", overlay], in: f.directory)
        read = try ExternalTools.run("qemu-io", check + [server.uri("root")], in: f.directory)
        #expect(read.status == 0 && !read.stdout.contains("failed") && !read.stdout.contains("Pattern verification"), "\(read.stdout)")
        let compare = try ExternalTools.run("qemu-img", ["compare", "-f", "raw", "-F", "raw", server.uri("root"), f.raw("root")], in: f.directory)
        #expect(compare.stdout.contains("Content mismatch at offset 1048576"), "\(compare.stdout)")
        server.stop()
        #expect(try Data(contentsOf: URL(fileURLWithPath: f.image)) == before)
        let readOnly = try ServeProcess(image: f.image, socket: f.directory + "/ro", in: f.directory)
        defer { readOnly.stop() }
        let refused = try ExternalTools.run("qemu-io", ["-f", "raw", "-c", "write -P 0xcd 0 4k", readOnly.uri("root")], in: f.directory)
        // qemu-io sees the export's read-only flag and refuses to open it for writing (EACCES);
        // a client that wrote anyway would get EPERM. Either way nothing is written.
        let said = refused.stdout + refused.stderr
        #expect(refused.status != 0, "\(said)")
        #expect(["Permission denied", "Operation not permitted", "read-only"].contains { said.contains($0) }, "\(said)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: f.image)) == before)
    }

    @Test("with --overlay-dir, qemu-io writes to one instance; another instance and the plain disk still equal imgpack extract; the write survives a restart")
    func instances() throws {
        let f = try Fixture()
        defer { f.remove() }
        let overlays = f.directory + "/vms"
        var server = try ServeProcess(image: f.image, socket: f.directory + "/s", extra: ["--overlay-dir", overlays], in: f.directory)
        let write = try ExternalTools.run("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 2M 64k", server.uri("web-1/root")], in: f.directory)
        #expect(write.status == 0 && !write.stdout.contains("failed"), "\(write.stdout) \(write.stderr)")
        for export in ["web-2/root", "root"] {
            let same = try ExternalTools.run("qemu-img", ["compare", "-f", "raw", "-F", "raw", server.uri(export), f.raw("root")], in: f.directory)
            #expect(same.status == 0 && same.stdout.contains("identical"), "\(export): \(same.stdout) \(same.stderr)")
        }
        #expect(server.stop() == 0)
        server = try ServeProcess(image: f.image, socket: f.directory + "/s", extra: ["--overlay-dir", overlays], in: f.directory)
        defer { server.stop() }
        let read = try ExternalTools.run("qemu-io", ["-r", "-f", "raw", "-c", "read -P 0x5a 2M 64k", server.uri("web-1/root")], in: f.directory)
        #expect(read.status == 0 && !read.stdout.contains("failed") && !read.stdout.contains("Pattern verification"), "\(read.stdout)")
        let differs = try ExternalTools.run("qemu-img", ["compare", "-f", "raw", "-F", "raw", server.uri("web-1/root"), f.raw("root")], in: f.directory)
        #expect(differs.stdout.contains("Content mismatch at offset 2097152"), "\(differs.stdout)")
        #expect(FileManager.default.fileExists(atPath: overlays + "/web-1/root.overlay"))
        let list = try ExternalTools.run("nbdinfo", ["--list", "nbd+unix://?socket=" + server.socket], in: f.directory)
        #expect(list.stdout.contains("INSTANCE/root"), "\(list.stdout)")
    }

    @Test("a corrupted chunk gives an I/O error on its range only")
    func corruptChunk() throws {
        let f = try Fixture()
        defer { f.remove() }
        let reader = try ImageReader(path: f.image)
        let victim = reader.chunks(ofStream: 0).filter { $0.kind == .data }[3]
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: f.image)))
        bytes[Int(victim.recordOffset) + Int(victim.storedSize) - Int(victim.payloadLength) / 2] ^= 0x5A
        let damaged = f.directory + "/damaged.ipk"
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let server = try ServeProcess(image: damaged, socket: f.directory + "/s", in: f.directory)
        defer { server.stop() }
        let bad = try ExternalTools.run("qemu-io", ["-r", "-f", "raw", "-c", "read \(victim.logicalOffset + 100) 4k", server.uri("root")], in: f.directory)
        #expect(bad.stdout.contains("Input/output error") || bad.stderr.contains("Input/output error"), "\(bad.stdout) \(bad.stderr)")
        let good = try ExternalTools.run("qemu-io", ["-r", "-f", "raw", "-c", "read \(victim.logicalEnd) 64k", "-c", "read 0 64k", server.uri("root")], in: f.directory)
        #expect(good.status == 0 && !good.stdout.contains("error"), "\(good.stdout) \(good.stderr)")
        #expect(server.logText.contains("chunk"), "the failure is logged: \(server.logText)")
    }
}
