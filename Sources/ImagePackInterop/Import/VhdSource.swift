import ImagePack

/// The 512-byte VHD footer (Virtual Hard Disk Image Format Specification, "Hard Disk Footer
/// Format"). All fields are big-endian.
struct VhdFooter {
    static let size = 512
    // Field offsets.
    static let cookieOffset = 0, featuresOffset = 8, versionOffset = 12, dataOffsetOffset = 16
    static let creatorAppOffset = 28, currentSizeOffset = 48, geometryOffset = 56, diskTypeOffset = 60, checksumOffset = 64

    enum DiskType: UInt32 { case fixed = 2, dynamic = 3, differencing = 4 }

    let dataOffset: UInt64
    let currentSize: UInt64
    let cylinders: UInt16, heads: UInt8, sectorsPerTrack: UInt8
    let creatorApp: [UInt8]
    let diskType: DiskType

    /// One's complement of the byte sum of `bytes`, skipping the 4-byte checksum at `skip`.
    static func checksum(_ bytes: [UInt8], skipping skip: Int) -> UInt32 {
        var sum: UInt32 = 0
        for (i, byte) in bytes.enumerated() where !(skip..<skip + 4).contains(i) { sum &+= UInt32(byte) }
        return ~sum
    }

    /// Parses and validates a footer read at `fileOffset`.
    init(_ bytes: [UInt8], fileOffset: UInt64, path: String) throws(ImagePackError) {
        let f = ForeignBytes(bytes)
        func invalid(_ message: String, _ field: String, _ at: Int) -> ImagePackError {
            ImportError.invalid(.vhd, message, offset: fileOffset + UInt64(at), field: field, path: path)
        }
        guard f.matches(0, ForeignFormat.vhdCookie) else { throw invalid("the footer does not start with \"conectix\"", "cookie", 0) }
        let stored: UInt32 = f.be(Self.checksumOffset)
        let computed = Self.checksum(bytes, skipping: Self.checksumOffset)
        guard stored == computed else {
            throw invalid("footer checksum is 0x\(String(stored, radix: 16)) but the footer sums to 0x\(String(computed, radix: 16))", "checksum", Self.checksumOffset)
        }
        let version: UInt32 = f.be(Self.versionOffset)
        guard version >> 16 == 1 else {
            throw ImportError.unsupported(.vhd, "file format version 0x\(String(version, radix: 16)) is not 1.x", offset: fileOffset + 12, field: "file_format_version", path: path)
        }
        let type: UInt32 = f.be(Self.diskTypeOffset)
        guard let diskType = DiskType(rawValue: type) else {
            throw invalid("disk type \(type) is not fixed (2), dynamic (3) or differencing (4)", "disk_type", Self.diskTypeOffset)
        }
        if diskType == .differencing {
            throw ImportError.unsupported(
                .vhd, "differencing disks (disk type 4) depend on a parent file, which is never opened; merge the chain first with `qemu-img convert -O vpc` or Hyper-V's Merge-VHD",
                offset: fileOffset + UInt64(Self.diskTypeOffset), field: "disk_type", path: path)
        }
        self.diskType = diskType
        dataOffset = f.be(Self.dataOffsetOffset)
        currentSize = f.be(Self.currentSizeOffset)
        cylinders = f.be(Self.geometryOffset)
        heads = bytes[Self.geometryOffset + 2]
        sectorsPerTrack = bytes[Self.geometryOffset + 3]
        creatorApp = Array(bytes[Self.creatorAppOffset..<Self.creatorAppOffset + 4])
    }

    /// The disk size as qemu computes it (block/vpc.c, `vpc_open`): tools that size disks by
    /// CHS geometry (Virtual PC, old qemu) get cylinders x heads x sectors x 512; Hyper-V
    /// ("win "), newer qemu ("qem2"), Disk2vhd ("d2v "), XenServer ("tap\0") and XenConverter
    /// ("CTXS") get the current size field, as does any disk whose geometry is the maximum.
    var virtualSize: UInt64 {
        let sizeByField: Set<[UInt8]> = [Array("win ".utf8), Array("qem2".utf8), Array("d2v ".utf8), Array("CTXS".utf8), [0x74, 0x61, 0x70, 0]]
        let chsSectors = UInt64(cylinders) * UInt64(heads) * UInt64(sectorsPerTrack)
        if sizeByField.contains(creatorApp) || chsSectors == 65535 * 16 * 255 {
            return currentSize / 512 * 512
        }
        return chsSectors * 512
    }

    /// Whether the last 512 bytes of a file look like a VHD footer (its cookie). The opener
    /// then validates it fully, so a damaged footer is reported rather than read as raw.
    static func isPlausibleFixedFooter(_ bytes: [UInt8]) -> Bool {
        bytes.count == size && ForeignBytes(bytes).matches(0, ForeignFormat.vhdCookie)
    }
}

/// A VHD image (fixed or dynamic) read as a disk.
///
/// Fixed: the data, then the footer. Dynamic: footer copy, dynamic header, block allocation
/// table (BAT), blocks of (sector bitmap + data), footer. Sectors whose bitmap bit is clear read
/// as zeros, as the spec says (qemu ignores the bitmap; for qemu-made files both agree since
/// qemu sets every bit). Differencing disks are refused.
final class VhdSource: StreamSource {
    let logicalSize: UInt64
    let file: ReadableFile
    let path: String
    let fileSize: UInt64
    let dynamic: Bool
    let blockSize: Int
    let bitmapSize: Int
    /// Sector offsets of blocks (0xFFFFFFFF: not allocated), cut to what the disk size needs.
    let bat: [UInt32]
    let batOffset: UInt64
    let facts: ImportedDisk.Facts

    static let unallocated: UInt32 = 0xFFFF_FFFF

    init(file: ReadableFile, limits: ImportLimits) throws(ImagePackError) {
        let path = file.path
        self.file = file
        self.path = path
        let fileSize = file.size ?? 0
        self.fileSize = fileSize
        guard fileSize >= 512 else {
            throw ImportError.truncated(.vhd, "the file is \(fileSize) bytes, shorter than a footer", offset: fileSize, field: "footer", path: path)
        }
        let head = try file.read(at: 0, count: 512)
        let dynamic = ForeignBytes(head).matches(0, ForeignFormat.vhdCookie)
        self.dynamic = dynamic
        func invalid(_ message: String, _ offset: UInt64, _ field: String) -> ImagePackError {
            ImportError.invalid(.vhd, message, offset: offset, field: field, path: path)
        }

        let footer: VhdFooter
        if dynamic {
            // The copy at offset 0 is authoritative (it is what qemu reads); the end copy must exist.
            footer = try VhdFooter(head, fileOffset: 0, path: path)
            let tail = fileSize >= 1024 ? try file.read(at: fileSize - 512, count: 512) : []
            guard ForeignBytes(tail).matches(0, ForeignFormat.vhdCookie) else {
                throw ImportError.truncated(.vhd, "the footer at the end of the file is missing", offset: fileSize, field: "footer", path: path)
            }
        } else {
            footer = try VhdFooter(try file.read(at: fileSize - 512, count: 512), fileOffset: fileSize - 512, path: path)
        }
        let size = footer.virtualSize
        guard size <= limits.maxVirtualSize else {
            throw ImportError.limit(.vhd, "the virtual size \(size) exceeds the limit of \(limits.maxVirtualSize)", offset: (dynamic ? 0 : fileSize - 512) + 48, field: "current_size", path: path)
        }
        logicalSize = size

        if footer.diskType == .fixed {
            guard !dynamic else { throw invalid("a footer copy at offset 0 says the disk is fixed", 60, "disk_type") }
            guard size <= fileSize - 512 else {
                throw ImportError.truncated(.vhd, "the fixed disk is \(size) bytes but only \(fileSize - 512) bytes precede the footer", offset: fileSize - 512, field: "current_size", path: path)
            }
            blockSize = 0
            bitmapSize = 0
            bat = []
            batOffset = 0
            facts = ImportedDisk.Facts(variant: "fixed", fileSize: fileSize)
            return
        }
        guard dynamic else { throw invalid("the footer at the end says dynamic but there is no footer copy at offset 0", fileSize - 452, "disk_type") }

        // Dynamic disk header (spec, "Dynamic Disk Header Format"), 1024 bytes.
        let headerOffset = footer.dataOffset
        guard headerOffset >= 512, headerOffset % 512 == 0 else {
            throw invalid("data offset \(headerOffset) is not a sector after the footer copy", 16, "data_offset")
        }
        guard let headerEnd = headerOffset.checkedAdd(1024), headerEnd <= fileSize else {
            throw ImportError.truncated(.vhd, "the dynamic disk header at \(headerOffset) extends past the end of the file", offset: 16, field: "data_offset", path: path)
        }
        let headerBytes = try file.read(at: headerOffset, count: 1024)
        let header = ForeignBytes(headerBytes)
        guard header.matches(0, Array("cxsparse".utf8)) else {
            throw invalid("the dynamic disk header does not start with \"cxsparse\"", headerOffset, "dynamic_header_cookie")
        }
        let stored: UInt32 = header.be(36)
        let computed = VhdFooter.checksum(headerBytes, skipping: 36)
        guard stored == computed else {
            throw invalid("dynamic header checksum is 0x\(String(stored, radix: 16)) but the header sums to 0x\(String(computed, radix: 16))", headerOffset + 36, "dynamic_header_checksum")
        }
        let blockSize: UInt32 = header.be(32)
        guard blockSize >= 512, blockSize & (blockSize - 1) == 0, blockSize <= 256 << 20 else {
            throw invalid("block size \(blockSize) is not a power of two between 512 bytes and 256 MiB", headerOffset + 32, "block_size")
        }
        self.blockSize = Int(blockSize)
        bitmapSize = (Int(blockSize) / 512 / 8 + 511) / 512 * 512
        let maxEntries: UInt32 = header.be(28)
        let needed = size.divCeil(UInt64(blockSize))
        guard UInt64(maxEntries) >= needed else {
            throw invalid("the BAT has \(maxEntries) entries but the disk size \(size) needs \(needed)", headerOffset + 28, "max_table_entries")
        }
        guard needed * 4 <= UInt64(limits.maxTableBytes) else {
            throw ImportError.limit(.vhd, "the BAT needs \(needed) entries (\(needed * 4) bytes), above the limit of \(limits.maxTableBytes) bytes", offset: headerOffset + 28, field: "max_table_entries", path: path)
        }
        let batOffset: UInt64 = header.be(16)
        guard batOffset >= 512, batOffset % 512 == 0 else {
            throw invalid("table offset \(batOffset) is not a sector after the footer copy", headerOffset + 16, "table_offset")
        }
        guard let batEnd = batOffset.checkedAdd(needed * 4), batEnd <= fileSize else {
            throw ImportError.truncated(.vhd, "the BAT at \(batOffset) (\(needed) entries) extends past the end of the file (\(fileSize) bytes)", offset: headerOffset + 16, field: "table_offset", path: path)
        }
        self.batOffset = batOffset
        let raw = try file.read(at: batOffset, count: Int(needed) * 4)
        bat = raw.withUnsafeBytes { buf in (0..<Int(needed)).map { buf.beUInt32($0 * 4) } }
        facts = ImportedDisk.Facts(variant: "dynamic", fileSize: fileSize, clusterSize: Int(blockSize))
    }

    /// File offset of block `index`'s data, or nil when it is not allocated; validated.
    private func blockData(_ index: Int) throws(ImagePackError) -> UInt64? {
        let entry = bat[index]
        if entry == Self.unallocated { return nil }
        let start = UInt64(entry) * 512
        let entryOffset = batOffset + UInt64(index) * 4
        guard start >= 512 else {
            throw ImportError.invalid(.vhd, "block \(index) points into the footer copy at offset \(start)", offset: entryOffset, field: "bat_entry", path: path)
        }
        let inDisk = min(UInt64(blockSize), logicalSize - UInt64(index) * UInt64(blockSize))
        guard start + UInt64(bitmapSize) + inDisk <= fileSize else {
            throw ImportError.truncated(.vhd, "block \(index) at \(start) extends past the end of the file (\(fileSize) bytes)", offset: entryOffset, field: "bat_entry", path: path)
        }
        return start
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        guard let end = offset.checkedAdd(UInt64(buffer.count)), end <= logicalSize else {
            throw ImagePackError(.rangeOutOfBounds, "read of \(buffer.count) bytes at \(offset) is past the end of the disk (\(logicalSize))", path: path)
        }
        guard dynamic else { return try file.read(at: offset, into: buffer) }
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let index = Int(position / UInt64(blockSize))
            let inBlock = Int(position % UInt64(blockSize))
            let count = min(blockSize - inBlock, buffer.count - done)
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + count])
            if let start = try blockData(index) {
                try file.read(at: start + UInt64(bitmapSize) + UInt64(inBlock), into: target)
                // Sectors never written (bitmap bit clear, most significant bit first) read as zeros.
                let firstSector = inBlock / 512
                let lastSector = (inBlock + count - 1) / 512
                let bitmap = try file.read(at: start + UInt64(firstSector / 8), count: lastSector / 8 - firstSector / 8 + 1)
                for sector in firstSector...lastSector where bitmap[sector / 8 - firstSector / 8] & (0x80 >> UInt8(sector % 8)) == 0 {
                    let from = max(sector * 512, inBlock) - inBlock
                    let to = min((sector + 1) * 512, inBlock + count) - inBlock
                    UnsafeMutableRawBufferPointer(rebasing: target[from..<to]).initializeMemory(as: UInt8.self, repeating: 0)
                }
            } else {
                target.initializeMemory(as: UInt8.self, repeating: 0)
            }
            done += count
        }
    }

    func isKnownZero(offset: UInt64, length: Int) -> Bool {
        guard let end = offset.checkedAdd(UInt64(length)), end <= logicalSize else { return false }
        guard dynamic else {
            guard let data = file.nextData(from: offset) else { return true }
            return data >= end
        }
        guard length > 0 else { return true }
        let first = Int(offset / UInt64(blockSize))
        let last = Int((end - 1) / UInt64(blockSize))
        return (first...last).allSatisfy { bat[$0] == Self.unallocated }
    }

    /// A change of the VHD file since it was opened.
    func changeSinceOpened() -> String? { file.changeSinceOpened() }
}
