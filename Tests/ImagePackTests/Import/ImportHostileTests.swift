import Foundation
import Testing
@testable import ImagePack
@testable import ImagePackInterop

/// Opens and reads a whole file, returning the error it throws (nil if none). (No timing assertion:
/// the machine is shared; hangs are caught by the test run's own time limit, and timings go in notes.)
private func importError(_ path: String, format: ForeignFormat? = nil, limits: ImportLimits = .init()) -> ImagePackError? {
    do {
        let disk = try ForeignFormat.open(path: path, format: format, limits: limits)
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        var offset: UInt64 = 0
        while offset < disk.virtualSize {
            let count = Int(min(UInt64(buffer.count), disk.virtualSize - offset))
            if !disk.source.isKnownZero(offset: offset, length: count) {
                try buffer.withUnsafeMutableBytes { try disk.source.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<count])) }
            }
            offset += UInt64(count)
        }
        return nil
    } catch let error as ImagePackError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

/// Expects `path` to be refused with `code`, an offset and a field (for errors about the file's content).
private func expectRefused(_ path: String, _ code: ImagePackError.Code, mentioning text: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    let error = importError(path)
    #expect(error?.code == code, "got \(error.map(String.init(describing:)) ?? "no error")", sourceLocation: sourceLocation)
    if let error, code != .invalidArgument {
        #expect(error.offset != nil, "no offset in \(error)", sourceLocation: sourceLocation)
        if code != .unsupportedInput || error.field != nil { #expect(error.field != nil, "no field in \(error)", sourceLocation: sourceLocation) }
    }
    if let text { #expect(error?.message.contains(text) == true, "message lacks \(text): \(error?.message ?? "")", sourceLocation: sourceLocation) }
}

/// qcow2 layout facts read from a real file.
private struct Qcow2Layout {
    let bytes: [UInt8]
    var clusterBits: Int { Int(Patch.readBE32(bytes, 20)) }
    var clusterSize: Int { 1 << clusterBits }
    var l1Offset: Int { Int(Patch.readBE64(bytes, 40)) }
    var firstL2: Int { Int(Patch.readBE64(bytes, l1Offset) & 0x00FF_FFFF_FFFF_FE00) }
    /// File offset of the first L2 entry that maps data (compressed or not).
    var firstDataEntry: Int {
        (0..<clusterSize / 8).map { firstL2 + $0 * 8 }.first { Patch.readBE64(bytes, $0) & ~(UInt64(1) << 63) > 1 }!
    }
}

@Suite("Import refuses hostile and broken files", .enabled(if: ImportFixtures.hasQemuImg, "qemu-img not installed (apt-get install qemu-utils); skipping tests that patch qemu-made files"))
struct ImportHostileTests {
    // MARK: qcow2

    @Test("a huge L1 size is refused before anything is allocated")
    func qcow2HugeL1() throws {
        let path = try ImportFixtures.scratchCopy("qcow2", tag: "l1size")
        var b = Patch.bytes(path)
        Patch.be32(&b, 36, 0x0FFF_FFFF)
        Patch.write(path, b)
        expectRefused(path, .limitExceeded, mentioning: "L1 table")
    }

    @Test("an L1 size too small for the disk size is refused")
    func qcow2SmallL1() throws {
        let path = try ImportFixtures.scratchCopy("qcow2", tag: "l1small")
        var b = Patch.bytes(path)
        Patch.be64(&b, 24, 1 << 40)  // 1 TiB with one L1 entry
        Patch.write(path, b)
        expectRefused(path, .invalidInput)
    }

    @Test("a declared size above the limit is refused")
    func qcow2HugeSize() throws {
        let path = try ImportFixtures.scratchCopy("qcow2", tag: "size")
        var b = Patch.bytes(path)
        Patch.be64(&b, 24, 1 << 62)
        Patch.write(path, b)
        expectRefused(path, .limitExceeded)
    }

    @Test("an L2 table past the end of the file is refused")
    func qcow2L2PastEOF() throws {
        let path = try ImportFixtures.scratchCopy("qcow2", tag: "l2eof")
        var b = Patch.bytes(path)
        let layout = Qcow2Layout(bytes: b)
        Patch.be64(&b, layout.l1Offset, (UInt64(1) << 63) | UInt64(b.count + 100 * layout.clusterSize) / UInt64(layout.clusterSize) * UInt64(layout.clusterSize))
        Patch.write(path, b)
        expectRefused(path, .truncated, mentioning: "L2 table")
    }

    @Test("an L2 table that is the L1 table itself is refused")
    func qcow2L2IsL1() throws {
        let path = try ImportFixtures.scratchCopy("qcow2", tag: "l2loop")
        var b = Patch.bytes(path)
        let layout = Qcow2Layout(bytes: b)
        Patch.be64(&b, layout.l1Offset, UInt64(layout.l1Offset))
        Patch.write(path, b)
        expectRefused(path, .invalidInput, mentioning: "overlaps the L1 table")
    }

    @Test("a data cluster inside the L1 table or misaligned is refused")
    func qcow2DataIntoMetadata() throws {
        let path = try ImportFixtures.scratchCopy("qcow2", tag: "data-l1")
        var b = Patch.bytes(path)
        let layout = Qcow2Layout(bytes: b)
        Patch.be64(&b, layout.firstDataEntry, (UInt64(1) << 63) | UInt64(layout.l1Offset))
        Patch.write(path, b)
        expectRefused(path, .invalidInput, mentioning: "overlaps the L1 table")

        let misaligned = try ImportFixtures.scratchCopy("qcow2", tag: "data-misaligned")
        var m = Patch.bytes(misaligned)
        Patch.be64(&m, layout.firstDataEntry, (UInt64(1) << 63) | UInt64(layout.clusterSize + 4096))
        Patch.write(misaligned, m)
        expectRefused(misaligned, .invalidInput, mentioning: "not aligned")
    }

    @Test("a zero-cluster flag in a version 2 image is refused")
    func qcow2V2ZeroFlag() throws {
        let path = try ImportFixtures.scratchCopy("qcow2-v2", tag: "v2zero")
        var b = Patch.bytes(path)
        let layout = Qcow2Layout(bytes: b)
        b[layout.firstDataEntry + 7] |= 1
        Patch.write(path, b)
        expectRefused(path, .invalidInput, mentioning: "version 2")
    }

    @Test("a compressed cluster pointing into the header is refused")
    func qcow2CompressedIntoHeader() throws {
        let path = try ImportFixtures.scratchCopy("qcow2-zlib", tag: "c-header")
        var b = Patch.bytes(path)
        let layout = Qcow2Layout(bytes: b)
        Patch.be64(&b, layout.firstDataEntry, (UInt64(1) << 62) | 100)
        Patch.write(path, b)
        expectRefused(path, .invalidInput, mentioning: "header cluster")
    }

    /// Replaces the first compressed cluster by `payload` appended at the end of the file.
    private func compressedBomb(_ variant: String, payload: [UInt8]) throws -> String {
        let path = try ImportFixtures.scratchCopy(variant, tag: "bomb")
        var b = Patch.bytes(path)
        let layout = Qcow2Layout(bytes: b)
        let at = (b.count + 511) / 512 * 512
        b += [UInt8](repeating: 0, count: at - b.count) + payload + [UInt8](repeating: 0, count: 512)
        let shift = 62 - (layout.clusterBits - 8)
        let sectors = UInt64((payload.count + 511) / 512 - 1)
        Patch.be64(&b, layout.firstDataEntry, (UInt64(1) << 62) | sectors << UInt64(shift) | UInt64(at))
        Patch.write(path, b)
        return path
    }

    @Test("a zlib cluster that inflates beyond one cluster (bomb) is refused")
    func qcow2ZlibBomb() throws {
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        var out = [UInt8](repeating: 0, count: 1 << 20)
        let n = try zeros.withUnsafeBytes { src in try out.withUnsafeMutableBytes { try Zlib.Compressor(level: 9).compress(src, into: $0)! } }
        let raw = Array(out[2..<n - 4])  // strip the zlib wrapper: qcow2 stores raw deflate
        let path = try compressedBomb("qcow2-zlib", payload: raw)
        expectRefused(path, .invalidInput, mentioning: "more than")
    }

    @Test("a zstd cluster that inflates beyond one cluster (bomb) is refused")
    func qcow2ZstdBomb() throws {
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        var out = [UInt8](repeating: 0, count: 1 << 20)
        let n = try zeros.withUnsafeBytes { src in try out.withUnsafeMutableBytes { try Zstd.Compressor(level: 19).compress(src, into: $0)! } }
        let path = try compressedBomb("qcow2-zstd", payload: Array(out[0..<n]))
        expectRefused(path, .invalidInput, mentioning: "more than")
    }

    @Test("a compressed cluster that decodes short or not at all is refused")
    func qcow2CompressedGarbage() throws {
        expectRefused(try compressedBomb("qcow2-zlib", payload: [0x03, 0x00]), .invalidInput, mentioning: "only")  // empty final block
        let garbage = try compressedBomb("qcow2-zstd", payload: [UInt8](repeating: 0xA5, count: 700))
        #expect(importError(garbage)?.code == .decompressionFailed)
    }

    @Test("a backing file is named as data and never opened")
    func qcow2BackingRefused() throws {
        let path = try ImportFixtures.scratchCopy("qcow2", tag: "backing")
        var b = Patch.bytes(path)
        let name = Array("/etc/passwd".utf8)
        b.replaceSubrange(4096..<4096 + name.count, with: name)
        Patch.be64(&b, 8, 4096)
        Patch.be32(&b, 16, UInt32(name.count))
        Patch.write(path, b)
        expectRefused(path, .unsupportedInput, mentioning: "\"/etc/passwd\"")
    }

    @Test("an overlay reads through a backing disk the caller opened")
    func qcow2Overlay() throws {
        let base = try ImportFixtures.make(.init(disk: "islands", variant: ImportFixtures.variants[0])).image
        // The overlay: empty over the base, then 200 KB written at 1 MiB by qemu-io, so only
        // those clusters are allocated in it and the rest reads from the parent.
        let overlay = ImportFixtures.directory + "/overlay-\(UUID().uuidString).qcow2"
        try ImportFixtures.run(ImportFixtures.qemuImg!, ["create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay])
        let qemuIO = (ImportFixtures.qemuImg! as NSString).deletingLastPathComponent + "/qemu-io"
        try #require(FileManager.default.isExecutableFile(atPath: qemuIO), "qemu-io (qemu-utils) not installed")
        try ImportFixtures.run(qemuIO, ["-f", "qcow2", "-c", "write -P 0x5a 1000k 200k", overlay])
        let expectedPath = overlay + ".raw"
        try ImportFixtures.run(ImportFixtures.qemuImg!, ["convert", "-f", "qcow2", "-O", "raw", overlay, expectedPath])
        #expect(importError(overlay)?.code == .unsupportedInput)
        let parent = try ForeignFormat.open(path: base)
        let disk = try ForeignFormat.open(path: overlay, backing: parent.source)
        #expect(disk.facts.backingFile == base)
        let actual = try ImportFixtures.readAll(disk.source)
        let expected = [UInt8](FileManager.default.contents(atPath: expectedPath)!)
        #expect(actual.withUnsafeBytes { a in expected.withUnsafeBytes { firstDifference(a, $0) } } == nil)
        // The overlay holds only what differs: most of the disk is read from the parent.
        #expect(FileManager.default.contents(atPath: overlay)!.count < 1 << 20)
    }

    @Test("encryption, external data files, the corrupt bit and unknown features are refused; the dirty bit is noted")
    func qcow2Features() throws {
        func patched(_ tag: String, _ edit: (inout [UInt8]) -> Void) throws -> String {
            let path = try ImportFixtures.scratchCopy("qcow2", tag: tag)
            var b = Patch.bytes(path)
            edit(&b)
            Patch.write(path, b)
            return path
        }
        expectRefused(try patched("aes") { Patch.be32(&$0, 32, 1) }, .unsupportedInput, mentioning: "encrypted")
        expectRefused(try patched("luks") { Patch.be32(&$0, 32, 2) }, .unsupportedInput, mentioning: "encrypted")
        expectRefused(try patched("corrupt") { Patch.be64(&$0, 72, 2) }, .invalidInput, mentioning: "corrupt")
        expectRefused(try patched("datafile") { Patch.be64(&$0, 72, 4) }, .unsupportedInput, mentioning: "external data file")
        expectRefused(try patched("unknown") { Patch.be64(&$0, 72, 1 << 40) }, .unsupportedInput, mentioning: "unknown incompatible")
        expectRefused(try patched("version") { Patch.be32(&$0, 4, 4) }, .unsupportedInput)
        expectRefused(try patched("clusterbits") { Patch.be32(&$0, 20, 30) }, .invalidInput, mentioning: "cluster_bits")
        expectRefused(try patched("hdrlen") { Patch.be32(&$0, 100, 1 << 30) }, .invalidInput, mentioning: "header_length")
        expectRefused(try patched("ext") { Patch.be32(&$0, 112, 0x1234); Patch.be32(&$0, 116, 0xFFFF_FFF0) }, .invalidInput, mentioning: "header extension")
        let dirty = try patched("dirty") { Patch.be64(&$0, 72, 1) }
        #expect(importError(dirty) == nil)
        #expect(try ForeignFormat.open(path: dirty).facts.notes.contains { $0.contains("dirty") })
    }

    // MARK: VMDK

    @Test("a grain directory past the end of the file is refused")
    func vmdkGrainDirectoryPastEOF() throws {
        let path = try ImportFixtures.scratchCopy("vmdk-monolithicSparse", tag: "gd")
        var b = Patch.bytes(path)
        Patch.le64(&b, 56, UInt64(b.count / 512 + 1000))
        Patch.write(path, b)
        expectRefused(path, .truncated, mentioning: "grain directory")
    }

    @Test("a huge capacity or grain size is refused")
    func vmdkHugeDeclarations() throws {
        let path = try ImportFixtures.scratchCopy("vmdk-monolithicSparse", tag: "cap")
        var b = Patch.bytes(path)
        Patch.le64(&b, 12, 1 << 50)
        Patch.write(path, b)
        expectRefused(path, .limitExceeded, mentioning: "capacity")
        var g = Patch.bytes(try ImportFixtures.scratchCopy("vmdk-monolithicSparse", tag: "grain"))
        Patch.le64(&g, 20, 1 << 20)
        let grain = ImportFixtures.directory + "/grain-\(UUID().uuidString)"
        Patch.write(grain, g)
        expectRefused(grain, .limitExceeded, mentioning: "grains")
    }

    @Test("a grain table entry pointing into the header, or a grain marker for another LBA, is refused")
    func vmdkBadGrainPointers() throws {
        let path = try ImportFixtures.scratchCopy("vmdk-streamOptimized", tag: "gte")
        var b = Patch.bytes(path)
        let gd = Int(Patch.readLE64(b, 56)) * 512
        let gt = Int(Patch.readLE32(b, gd)) * 512
        let grain = Int(Patch.readLE32(b, gt)) * 512
        Patch.le64(&b, grain, 12345 * 128)  // marker LBA of another grain
        Patch.write(path, b)
        expectRefused(path, .invalidInput, mentioning: "LBA")

        let mono = try ImportFixtures.scratchCopy("vmdk-monolithicSparse", tag: "gte0")
        var m = Patch.bytes(mono)
        let mgt = Int(Patch.readLE32(m, Int(Patch.readLE64(m, 56)) * 512)) * 512
        Patch.le32(&m, mgt, 0x7FFF_FFFF)
        Patch.write(mono, m)
        expectRefused(mono, .truncated, mentioning: "grain 0")
    }

    @Test("a compressed grain that inflates beyond one grain (bomb) is refused")
    func vmdkBomb() throws {
        let path = try ImportFixtures.scratchCopy("vmdk-streamOptimized", tag: "vbomb")
        var b = Patch.bytes(path)
        let gd = Int(Patch.readLE64(b, 56)) * 512
        let gt = Int(Patch.readLE32(b, gd)) * 512
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        var out = [UInt8](repeating: 0, count: 1 << 20)
        let n = try zeros.withUnsafeBytes { src in try out.withUnsafeMutableBytes { try Zlib.Compressor(level: 9).compress(src, into: $0)! } }
        let at = (b.count + 511) / 512 * 512
        var marker = [UInt8](repeating: 0, count: 12)
        Patch.le32(&marker, 8, UInt32(n))
        b += [UInt8](repeating: 0, count: at - b.count) + marker + out[0..<n] + [UInt8](repeating: 0, count: 512)
        Patch.le32(&b, gt, UInt32(at / 512))
        Patch.write(path, b)
        expectRefused(path, .invalidInput, mentioning: "more than")
    }

    @Test("descriptor-only, split-extent and differencing VMDKs are refused as unsupported")
    func vmdkVariantsRefused() throws {
        let descriptor = ImportFixtures.directory + "/descriptor-\(UUID().uuidString).vmdk"
        Patch.write(descriptor, Array("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentSparse\"\nRW 4192256 SPARSE \"disk-s001.vmdk\"\n".utf8))
        expectRefused(descriptor, .unsupportedInput, mentioning: "descriptor-only VMDK")

        let split = try ImportFixtures.scratchCopy("vmdk-monolithicSparse", tag: "split")
        var s = Patch.bytes(split)
        Patch.le64(&s, 28, 0)
        Patch.le64(&s, 36, 0)
        Patch.write(split, s)
        expectRefused(split, .unsupportedInput, mentioning: "split VMDK")

        let child = try ImportFixtures.scratchCopy("vmdk-monolithicSparse", tag: "child")
        var c = Patch.bytes(child)
        let parent = Array("parentCID=ffffffff".utf8)
        let at = (0..<c.count - parent.count).first { Array(c[$0..<$0 + parent.count]) == parent }!
        c.replaceSubrange(at..<at + parent.count, with: Array("parentCID=1234abcd".utf8))
        Patch.write(child, c)
        expectRefused(child, .unsupportedInput, mentioning: "differencing")
    }

    @Test("a streamOptimized file with its grain directory in the footer reads like qemu-img")
    func vmdkFooter() throws {
        let (image, expectedPath) = try ImportFixtures.make(.init(disk: "islands", variant: ImportFixtures.variants[11]))
        var b = Patch.bytes(image)
        let header = Array(b[0..<512])
        // Drop the end-of-stream marker, then append: footer marker, footer (the header with the
        // real grain directory), end-of-stream marker (VMDK spec, "The Footer").
        b.removeLast(512)
        var marker = [UInt8](repeating: 0, count: 512)
        Patch.le32(&marker, 12, 3)
        b += marker + header + [UInt8](repeating: 0, count: 512)
        Patch.le64(&b, 56, .max)
        let path = ImportFixtures.directory + "/footer-\(UUID().uuidString).vmdk"
        Patch.write(path, b)
        let disk = try ForeignFormat.open(path: path)
        let expected = [UInt8](FileManager.default.contents(atPath: expectedPath)!)
        let actual = try ImportFixtures.readAll(disk.source)
        #expect(actual.withUnsafeBytes { a in expected.withUnsafeBytes { firstDifference(a, $0) } } == nil)

        // Without the footer (cut short), the file is refused.
        let cut = ImportFixtures.directory + "/footer-cut-\(UUID().uuidString).vmdk"
        Patch.write(cut, Array(b.dropLast(1024)))
        expectRefused(cut, .invalidInput, mentioning: "footer")
    }

    // MARK: VHD

    @Test("a VHD footer with a bad checksum is refused")
    func vhdChecksum() throws {
        for variant in ["vhd-fixed", "vhd-dynamic"] {
            let path = try ImportFixtures.scratchCopy(variant, tag: "sum")
            var b = Patch.bytes(path)
            let footer = variant == "vhd-fixed" ? b.count - 512 : 0
            b[footer + 40] ^= 0x01  // original size
            Patch.write(path, b)
            expectRefused(path, .invalidInput, mentioning: "checksum")
        }
    }

    /// Rewrites the footer copy at offset 0 (and at the end) of a dynamic VHD with `edit`, fixing the checksum.
    private func editVhdFooter(_ tag: String, _ edit: (inout [UInt8]) -> Void) throws -> String {
        let path = try ImportFixtures.scratchCopy("vhd-dynamic", tag: tag)
        var b = Patch.bytes(path)
        for at in [0, b.count - 512] {
            var footer = Array(b[at..<at + 512])
            edit(&footer)
            Patch.be32(&footer, 64, 0)
            Patch.be32(&footer, 64, ~footer.reduce(UInt32(0)) { $0 &+ UInt32($1) })
            b.replaceSubrange(at..<at + 512, with: footer)
        }
        Patch.write(path, b)
        return path
    }

    @Test("a differencing VHD is refused as unsupported")
    func vhdDifferencing() throws {
        expectRefused(try editVhdFooter("diff") { Patch.be32(&$0, 60, 4) }, .unsupportedInput, mentioning: "differencing")
        expectRefused(try editVhdFooter("type") { Patch.be32(&$0, 60, 7) }, .invalidInput, mentioning: "disk type")
    }

    @Test("a VHD whose BAT or blocks lie outside the file is refused")
    func vhdTables() throws {
        // Dynamic header at offset 512: table offset at +16, max entries at +28, checksum at +36.
        func editHeader(_ tag: String, _ edit: (inout [UInt8]) -> Void) throws -> String {
            let path = try ImportFixtures.scratchCopy("vhd-dynamic", tag: tag)
            var b = Patch.bytes(path)
            var header = Array(b[512..<1536])
            edit(&header)
            Patch.be32(&header, 36, 0)
            Patch.be32(&header, 36, ~header.reduce(UInt32(0)) { $0 &+ UInt32($1) })
            b.replaceSubrange(512..<1536, with: header)
            Patch.write(path, b)
            return path
        }
        expectRefused(try editHeader("bat") { Patch.be64(&$0, 16, 1 << 40) }, .truncated, mentioning: "BAT")
        expectRefused(try editHeader("entries") { Patch.be32(&$0, 28, 1) }, .invalidInput, mentioning: "BAT")
        expectRefused(try editHeader("block") { Patch.be32(&$0, 32, 3 << 20) }, .invalidInput, mentioning: "block size")

        let path = try ImportFixtures.scratchCopy("vhd-dynamic", tag: "block")
        var b = Patch.bytes(path)
        let bat = Int(Patch.readBE64(b, 512 + 16))
        Patch.be32(&b, bat, 0x7FFF_FFF0)
        Patch.write(path, b)
        expectRefused(path, .truncated, mentioning: "block 0")
    }

    // MARK: Truncation and detection

    @Test("files cut at any length fail with a precise error, never a crash or hang", arguments: ["qcow2", "qcow2-zlib", "qcow2-zstd", "qcow2-v2", "vmdk-monolithicSparse", "vmdk-streamOptimized", "vhd-dynamic"])
    func truncatedFiles(_ variant: String) throws {
        let variantInfo = ImportFixtures.variants.first { $0.name == variant }!
        let expectedPath = try ImportFixtures.make(.init(disk: "islands", variant: variantInfo)).expected
        let expected = Patch.bytes(expectedPath)
        let full = Patch.bytes(try ImportFixtures.scratchCopy(variant, tag: "cut"))
        for length in [1, 4, 50, 71, 100, 511, 512, 1000, 4096, 70_000, full.count / 3, full.count / 2, full.count - 600, full.count - 1] where length < full.count {
            let path = ImportFixtures.directory + "/cut-\(variant)-\(length)"
            Patch.write(path, Array(full[0..<length]))
            let error = importError(path)
            if length < 8 { continue }  // too short to hold a whole magic: may be a raw disk
            if let error {
                #expect([.truncated, .invalidInput].contains(error.code), "\(variant) cut at \(length): \(error)")
            } else {
                // Accepted only if the cut removed nothing the disk needs (trailing refcount blocks...).
                let disk = try ForeignFormat.open(path: path)
                let actual = try ImportFixtures.readAll(disk.source)
                #expect(actual.withUnsafeBytes { a in expected.withUnsafeBytes { firstDifference(a, $0) } } == nil, "\(variant) cut at \(length) read wrong data (file \(path))")
            }
        }
    }

    @Test("the format comes from the content, not the name; a disagreeing format is refused naming both")
    func detection() throws {
        let qcow2 = try ImportFixtures.scratchCopy("qcow2", tag: "named") 
        let misnamed = qcow2 + ".vmdk"
        try FileManager.default.moveItem(atPath: qcow2, toPath: misnamed)
        #expect(try ForeignFormat.detect(path: misnamed) == .qcow2)
        #expect(try ForeignFormat.open(path: misnamed).format == .qcow2)
        let error = importError(misnamed, format: .vmdk)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("qcow2") == true && error?.message.contains("VMDK") == true)
        #expect(importError(misnamed, format: .raw)?.code == .invalidArgument)

        for (variant, format) in [("vmdk-streamOptimized", ForeignFormat.vmdk), ("vhd-fixed", .vhd), ("vhd-dynamic", .vhd), ("qcow2-v2", .qcow2)] {
            let path = try ImportFixtures.scratchCopy(variant, tag: "detect")
            let renamed = path + ".qcow2"
            try FileManager.default.moveItem(atPath: path, toPath: renamed)
            #expect(try ForeignFormat.detect(path: renamed) == format, "\(variant)")
        }
    }
}

/// Detection and limits that need no external tool.
@Suite("Import without qemu-img")
struct ImportUnitTests {
    private func file(_ bytes: [UInt8]) -> String {
        let path = NSTemporaryDirectory() + "imagepack-unit-\(UUID().uuidString)"
        Patch.write(path, bytes)
        return path
    }

    @Test("plain bytes are a raw disk")
    func raw() throws {
        let path = file(ImportFixtures.pseudoRandom(count: 1 << 20, seed: 7))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let disk = try ForeignFormat.open(path: path)
        #expect(disk.format == .raw)
        #expect(disk.virtualSize == 1 << 20)
        #expect(importError(path, limits: ImportLimits(maxVirtualSize: 4096))?.code == .limitExceeded)
    }

    @Test("a VHDX file is refused, not read as raw")
    func vhdx() throws {
        let path = file(Array("vhdxfile".utf8) + [UInt8](repeating: 0, count: 4096))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(importError(path)?.code == .unsupportedInput)
    }

    @Test("a qcow2 magic in a tiny file is a truncated qcow2")
    func tinyQcow2() throws {
        let path = file([0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(importError(path)?.code == .truncated)
    }

    @Test("a VMDK text descriptor is detected and refused")
    func descriptor() throws {
        let path = file(Array("# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"disk-flat.vmdk\" 0\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try ForeignFormat.detect(path: path) == .vmdk)
        #expect(importError(path)?.code == .unsupportedInput)
    }
}
