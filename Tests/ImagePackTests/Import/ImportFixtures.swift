import Foundation
import Testing
@testable import ImagePack
@testable import ImagePackInterop

/// Disk images made with qemu-img once per test run, in a private temporary directory.
enum ImportFixtures {
    static let qemuImg: String? = ["/usr/bin/qemu-img", "/usr/local/bin/qemu-img", "/opt/homebrew/bin/qemu-img"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static var hasQemuImg: Bool { qemuImg != nil }
    static let mke2fs: String? = ["/usr/sbin/mke2fs", "/sbin/mke2fs", "/usr/bin/mke2fs"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static let directory: String = {
        let dir = NSTemporaryDirectory() + "imagepack-import-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: ImportFixtures.directory) }
        return dir
    }()

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw FixtureError(message: "\(tool) \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    struct FixtureError: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
    static func pseudoRandom(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        var bytes = [UInt8](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 8) {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            withUnsafeBytes(of: state) { word in for j in 0..<min(8, count - i) { bytes[i + j] = word[j] } }
        }
        return bytes
    }

    /// The three source disks: an ext4 file system, random data, and zero-heavy islands with an
    /// odd size (not a multiple of any cluster).
    static let rawDisks: [String: String] = {
        var disks: [String: String] = [:]
        let ext4 = directory + "/ext4.raw"
        if let mke2fs, (try? run(mke2fs, ["-q", "-F", "-t", "ext4", "-d", "/usr/include/linux", ext4, "64M"])) != nil {
            disks["ext4"] = ext4
        }
        let random = directory + "/random.raw"
        _ = FileManager.default.createFile(atPath: random, contents: Data(pseudoRandom(count: 8 << 20, seed: 42)))
        disks["random"] = random
        let islands = directory + "/islands.raw"
        _ = FileManager.default.createFile(atPath: islands, contents: nil)
        if let handle = FileHandle(forWritingAtPath: islands) {
            let size: UInt64 = (40 << 20) + 3 * 512
            let islands: [UInt64] = [0, 1 << 20, (5 << 20) + 4096 + 7, 17 << 20, size - 3000]
            for (i, at) in islands.enumerated() {
                try? handle.seek(toOffset: at)
                handle.write(Data(pseudoRandom(count: i == 3 ? 3 << 20 : 3000, seed: at + 1)))
            }
            try? handle.truncate(atOffset: size)
            try? handle.close()
        }
        disks["islands"] = islands
        return disks
    }()

    /// A qemu-img conversion of a source disk.
    struct Variant: CustomTestStringConvertible, Sendable {
        let name: String
        let format: ForeignFormat
        let qemuFormat: String
        let options: [String]
        var testDescription: String { name }
    }

    static let variants: [Variant] = [
        Variant(name: "qcow2", format: .qcow2, qemuFormat: "qcow2", options: []),
        Variant(name: "qcow2-zlib", format: .qcow2, qemuFormat: "qcow2", options: ["-c", "-o", "compression_type=zlib"]),
        Variant(name: "qcow2-zstd", format: .qcow2, qemuFormat: "qcow2", options: ["-c", "-o", "compression_type=zstd"]),
        Variant(name: "qcow2-64k", format: .qcow2, qemuFormat: "qcow2", options: ["-o", "cluster_size=65536"]),
        Variant(name: "qcow2-2M", format: .qcow2, qemuFormat: "qcow2", options: ["-o", "cluster_size=2M"]),
        Variant(name: "qcow2-2M-zstd", format: .qcow2, qemuFormat: "qcow2", options: ["-c", "-o", "cluster_size=2M,compression_type=zstd"]),
        Variant(name: "qcow2-4k-zlib", format: .qcow2, qemuFormat: "qcow2", options: ["-c", "-o", "cluster_size=4096"]),
        Variant(name: "qcow2-v2", format: .qcow2, qemuFormat: "qcow2", options: ["-o", "compat=0.10"]),
        Variant(name: "qcow2-v2-zlib", format: .qcow2, qemuFormat: "qcow2", options: ["-c", "-o", "compat=0.10"]),
        Variant(name: "qcow2-extended-l2", format: .qcow2, qemuFormat: "qcow2", options: ["-o", "extended_l2=on,cluster_size=128k"]),
        Variant(name: "vmdk-monolithicSparse", format: .vmdk, qemuFormat: "vmdk", options: ["-o", "subformat=monolithicSparse"]),
        Variant(name: "vmdk-streamOptimized", format: .vmdk, qemuFormat: "vmdk", options: ["-o", "subformat=streamOptimized"]),
        Variant(name: "vhd-fixed", format: .vhd, qemuFormat: "vpc", options: ["-o", "subformat=fixed"]),
        Variant(name: "vhd-dynamic", format: .vhd, qemuFormat: "vpc", options: ["-o", "subformat=dynamic"]),
    ]

    struct Case: CustomTestStringConvertible, Sendable {
        let disk: String
        let variant: Variant
        var testDescription: String { "\(disk) as \(variant.name)" }
    }

    static let cases: [Case] = ["ext4", "random", "islands"].flatMap { disk in variants.map { Case(disk: disk, variant: $0) } }

    /// Converts `disk` with `variant`; returns the image path and qemu-img's raw rendering of it.
    static let conversions = NSLock()

    static func make(_ c: Case) throws -> (image: String, expected: String) {
        // Tests run in parallel; one conversion at a time keeps qemu-img's file locks apart.
        conversions.lock()
        defer { conversions.unlock() }
        guard let qemuImg else { throw FixtureError(message: "qemu-img missing") }
        guard let source = rawDisks[c.disk] else { throw FixtureError(message: "source disk \(c.disk) could not be made (mke2fs missing?)") }
        let image = directory + "/\(c.disk).\(c.variant.name).img"
        let expected = directory + "/\(c.disk).\(c.variant.name).expected.raw"
        if !FileManager.default.fileExists(atPath: expected) {
            try run(qemuImg, ["convert", "-f", "raw", "-O", c.variant.qemuFormat] + c.variant.options + [source, image])
            try run(qemuImg, ["convert", "-f", c.variant.qemuFormat, "-O", "raw", image, expected])
        }
        return (image, expected)
    }

    /// A qemu-made image of the islands disk, copied so a test may patch it.
    static func scratchCopy(_ variantName: String, disk: String = "islands", tag: String) throws -> String {
        let variant = variants.first { $0.name == variantName }!
        let (image, _) = try make(Case(disk: disk, variant: variant))
        let copy = directory + "/scratch-\(tag)-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: image, toPath: copy)
        return copy
    }

    /// Reads the whole disk in 4 MiB pieces as the image writer does (known zeros are not read).
    static func readAll(_ source: any StreamSource, piece: Int = 4 << 20) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(source.logicalSize))
        var offset = 0
        while offset < bytes.count {
            let count = min(piece, bytes.count - offset)
            if !source.isKnownZero(offset: UInt64(offset), length: count) {
                try bytes.withUnsafeMutableBytes { buffer in
                    try source.read(at: UInt64(offset), into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + count]))
                }
            }
            offset += count
        }
        return bytes
    }
}

/// Byte comparison fast enough for debug builds: nil when equal, else the first differing index.
func firstDifference(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int? {
    if a.count == b.count && memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 { return nil }
    var low = 0
    var high = min(a.count, b.count)
    // Binary search on equal prefixes.
    while low < high {
        let mid = (low + high) / 2
        if memcmp(a.baseAddress!, b.baseAddress!, mid + 1) == 0 { low = mid + 1 } else { high = mid }
    }
    return low
}

func isAllZero(_ a: UnsafeRawBufferPointer) -> Bool {
    let zeros = [UInt8](repeating: 0, count: 65536)
    var offset = 0
    while offset < a.count {
        let n = min(65536, a.count - offset)
        if memcmp(a.baseAddress! + offset, zeros, n) != 0 { return false }
        offset += n
    }
    return true
}

/// Patching helpers for crafting hostile files from real ones.
enum Patch {
    static func bytes(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path)!) }
    static func write(_ path: String, _ bytes: [UInt8]) { _ = FileManager.default.createFile(atPath: path, contents: Data(bytes)) }
    static func be32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * i)) } }
    static func be64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (56 - 8 * i)) } }
    static func le32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
    static func le64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
    static func readBE64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(b[at + $1]) } }
    static func readBE32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(b[at + $1]) } }
    static func readLE32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reversed().reduce(0) { $0 << 8 | UInt32(b[at + $1]) } }
    static func readLE64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reversed().reduce(0) { $0 << 8 | UInt64(b[at + $1]) } }
}
