import ImagePack

/// A VMDK hosted sparse extent read as a disk: monolithicSparse or streamOptimized
/// (VMware "Virtual Disk Format 1.1", "Hosted Sparse Extents" and "Stream-Optimized
/// Compressed Sparse Extents"). All fields are little-endian.
///
/// Refused with `.unsupportedInput`: descriptor-only files, extents of split or flat disks
/// (no embedded descriptor), differencing disks (a parent CID), ESX vmfsSparse (COWD) extents.
final class VmdkSource: StreamSource {
    let logicalSize: UInt64
    let file: ReadableFile
    let path: String
    let fileSize: UInt64
    let grainSize: Int
    let gtEntries: Int
    let compressed: Bool
    let zeroGrains: Bool
    /// Grain directory: sector offsets of grain tables (0: none), cut to what the capacity needs.
    let directory: [UInt32]
    let directoryOffset: UInt64
    let cache: TableCache
    let zlib = DecompressorPool<Zlib.Decompressor> { () throws(ImagePackError) in try Zlib.Decompressor(wrapping: .zlib) }
    let facts: ImportedDisk.Facts

    // Header flags (byte 8).
    static let flagRedundantGT: UInt32 = 1 << 1
    static let flagZeroGrain: UInt32 = 1 << 2
    static let flagCompressed: UInt32 = 1 << 16
    static let flagMarkers: UInt32 = 1 << 17
    static let gdAtEnd: UInt64 = 0xFFFF_FFFF_FFFF_FFFF

    /// Whether the first bytes of a file are a VMDK text descriptor.
    static func looksLikeDescriptor(_ head: [UInt8]) -> Bool {
        let text = String(decoding: head.prefix(512), as: UTF8.self)
        return text.hasPrefix("# Disk DescriptorFile") || (text.contains("createType=") && text.contains("version="))
    }

    /// Fields of the 512-byte sparse extent header.
    struct Header {
        let version: UInt32, flags: UInt32
        let capacity: UInt64, grainSectors: UInt64
        let descriptorOffset: UInt64, descriptorSize: UInt64
        let gtEntries: UInt32
        let gdOffset: UInt64
        let uncleanShutdown: Bool
        let compressAlgorithm: UInt16

        init(_ bytes: [UInt8]) {
            let h = ForeignBytes(bytes)
            version = h.le(4)
            flags = h.le(8)
            capacity = h.le(12)
            grainSectors = h.le(20)
            descriptorOffset = h.le(28)
            descriptorSize = h.le(36)
            gtEntries = h.le(44)
            gdOffset = h.le(56)
            uncleanShutdown = bytes[72] != 0
            compressAlgorithm = h.le(77)
        }
    }

    init(file: ReadableFile, limits: ImportLimits) throws(ImagePackError) {
        let path = file.path
        self.file = file
        self.path = path
        let fileSize = file.size ?? 0
        self.fileSize = fileSize
        func invalid(_ message: String, _ offset: UInt64, _ field: String) -> ImagePackError {
            ImportError.invalid(.vmdk, message, offset: offset, field: field, path: path)
        }
        let head = try file.read(at: 0, count: Int(min(fileSize, 512)))
        let h = ForeignBytes(head)
        if h.matches(0, ForeignFormat.vmdkCowdMagic) {
            throw ImportError.unsupported(.vmdk, "ESX vmfsSparse (COWD) extents are not supported; convert with `qemu-img convert -O raw` first", offset: 0, field: "magic", path: path)
        }
        guard h.matches(0, ForeignFormat.vmdkSparseMagic) else {
            if Self.looksLikeDescriptor(head) {
                throw ImportError.unsupported(
                    .vmdk, "descriptor-only VMDK: this text file only names its extent files, which are never opened by name; point at the extent or convert with qemu-img (`qemu-img convert -O vmdk -o subformat=monolithicSparse`)",
                    offset: 0, field: "descriptor", path: path)
            }
            throw invalid("the file does not start with \"KDMV\"", 0, "magic")
        }
        guard fileSize >= 512 else {
            throw ImportError.truncated(.vmdk, "the file is \(fileSize) bytes, shorter than the 512-byte header", offset: fileSize, field: "header", path: path)
        }
        var header = Header(head)
        guard (1...3).contains(header.version) else {
            throw ImportError.unsupported(.vmdk, "sparse extent version \(header.version) is not supported (1 to 3)", offset: 4, field: "version", path: path)
        }
        compressed = header.flags & Self.flagCompressed != 0
        if compressed {
            guard header.compressAlgorithm == 1 else {
                throw ImportError.unsupported(.vmdk, "compression algorithm \(header.compressAlgorithm) is not deflate (1)", offset: 77, field: "compressAlgorithm", path: path)
            }
            guard header.flags & Self.flagMarkers != 0 else {
                throw ImportError.unsupported(.vmdk, "compressed grains without grain markers are not supported", offset: 8, field: "flags", path: path)
            }
        }
        // streamOptimized writers that stream put the grain directory at the end: the real
        // header is the footer, 1024 bytes before the end (footer marker, footer, end-of-stream marker).
        if header.gdOffset == Self.gdAtEnd {
            guard compressed, fileSize >= 1536 + 512 else {
                throw invalid("the grain directory is at the end but the file is not a compressed stream or is too short for a footer", 56, "gdOffset")
            }
            let footerOffset = fileSize - 1024
            let footerBytes = try file.read(at: footerOffset, count: 512)
            guard ForeignBytes(footerBytes).matches(0, ForeignFormat.vmdkSparseMagic) else {
                throw invalid("the footer 1024 bytes before the end does not start with \"KDMV\" (the file may be truncated)", footerOffset, "footer")
            }
            let marker = ForeignBytes(try file.read(at: fileSize - 1536, count: 16))
            guard marker.le(8, as: UInt32.self) == 0, marker.le(12, as: UInt32.self) == 3 else {
                throw invalid("the footer is not preceded by a footer marker (type 3)", fileSize - 1536, "footer_marker")
            }
            let footer = Header(footerBytes)
            guard footer.capacity == header.capacity, footer.grainSectors == header.grainSectors, footer.gtEntries == header.gtEntries,
                footer.gdOffset != Self.gdAtEnd
            else {
                throw invalid("the footer disagrees with the header (capacity, grain size or grain table size) or has no grain directory", footerOffset, "footer")
            }
            header = footer
        }

        let grainBytes = header.grainSectors.checkedMul(512) ?? .max
        guard header.grainSectors >= 1, header.grainSectors & (header.grainSectors - 1) == 0 else {
            throw invalid("grain size of \(header.grainSectors) sectors is not a power of two", 20, "grainSize")
        }
        guard grainBytes <= UInt64(limits.maxClusterSize) else {
            throw ImportError.limit(.vmdk, "grains of \(grainBytes) bytes exceed the limit of \(limits.maxClusterSize)", offset: 20, field: "grainSize", path: path)
        }
        grainSize = Int(grainBytes)
        guard (1...65536).contains(header.gtEntries) else {
            throw invalid("numGTEsPerGT is \(header.gtEntries), outside 1...65536 (VMware writes 512)", 44, "numGTEsPerGT")
        }
        gtEntries = Int(header.gtEntries)
        guard let size = header.capacity.checkedMul(512), size <= limits.maxVirtualSize else {
            throw ImportError.limit(.vmdk, "the capacity of \(header.capacity) sectors exceeds the limit of \(limits.maxVirtualSize) bytes", offset: 12, field: "capacity", path: path)
        }
        logicalSize = size
        zeroGrains = header.flags & Self.flagZeroGrain != 0

        // Embedded descriptor: a monolithic disk has one; a split disk's extent has none.
        guard header.descriptorOffset != 0, header.descriptorSize != 0 else {
            throw ImportError.unsupported(
                .vmdk, "this is one extent of a split VMDK (it has no embedded descriptor); open the disk's descriptor with `qemu-img convert -O vmdk -o subformat=monolithicSparse` to make one file",
                offset: 28, field: "descriptorOffset", path: path)
        }
        guard header.descriptorSize <= 2048,
            let descriptorStart = header.descriptorOffset.checkedMul(512),
            let descriptorEnd = descriptorStart.checkedAdd(header.descriptorSize * 512), descriptorEnd <= fileSize
        else {
            throw invalid("the embedded descriptor (\(header.descriptorSize) sectors at sector \(header.descriptorOffset)) is larger than 1 MiB or past the end of the file", 28, "descriptorOffset")
        }
        let descriptorBytes = try file.read(at: descriptorStart, count: Int(header.descriptorSize) * 512)
        let variant = try Self.checkDescriptor(descriptorBytes, at: descriptorStart, compressed: compressed, path: path)

        // Grain directory: one entry per grain table the capacity needs.
        let perTable = UInt64(grainSize) * UInt64(gtEntries)
        let needed = size.divCeil(perTable)
        guard needed * 4 <= UInt64(limits.maxTableBytes) else {
            throw ImportError.limit(.vmdk, "the grain directory needs \(needed) entries, above the limit of \(limits.maxTableBytes) bytes", offset: 12, field: "capacity", path: path)
        }
        guard let gdStart = header.gdOffset.checkedMul(512), gdStart >= 512 else {
            throw invalid("grain directory sector \(header.gdOffset) is not after the header", 56, "gdOffset")
        }
        guard let gdEnd = gdStart.checkedAdd(needed * 4), gdEnd <= fileSize else {
            throw ImportError.truncated(.vmdk, "the grain directory at \(gdStart) (\(needed) entries) extends past the end of the file (\(fileSize) bytes)", offset: 56, field: "gdOffset", path: path)
        }
        directoryOffset = gdStart
        let raw = try file.read(at: gdStart, count: Int(needed) * 4)
        directory = raw.withUnsafeBytes { buf in (0..<Int(needed)).map { buf.leUInt32($0 * 4) } }
        cache = TableCache(maxTables: limits.maxCacheBytes / (gtEntries * 8))
        facts = ImportedDisk.Facts(
            variant: variant, fileSize: fileSize, clusterSize: grainSize, compression: compressed ? "deflate" : nil,
            notes: header.uncleanShutdown ? ["unclean shutdown flag set: the disk was not closed cleanly by its last writer"] : [])
    }

    /// Checks the embedded descriptor: one SPARSE extent, no parent, a monolithic create type.
    /// Returns the create type.
    static func checkDescriptor(_ bytes: [UInt8], at offset: UInt64, compressed: Bool, path: String) throws(ImagePackError) -> String {
        let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        var createType = ""
        var extents: [String] = []
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("createType=") {
                createType = String(line.dropFirst("createType=".count)).filter { $0 != "\"" }
            } else if line.hasPrefix("parentCID=") {
                let parent = line.dropFirst("parentCID=".count).lowercased()
                if parent != "ffffffff" {
                    throw ImportError.unsupported(
                        .vmdk, "differencing disk (parentCID \(parent)): its parent file is never opened; consolidate the snapshot chain in VMware or convert with qemu-img first",
                        offset: offset, field: "parentCID", path: path)
                }
            } else if line.hasPrefix("RW ") || line.hasPrefix("RDONLY ") || line.hasPrefix("NOACCESS ") {
                extents.append(String(line))
            }
        }
        let monolithic = ["monolithicSparse", "streamOptimized"]
        guard monolithic.contains(createType), extents.count == 1, extents[0].split(separator: " ").dropFirst(2).first == "SPARSE" else {
            throw ImportError.unsupported(
                .vmdk, "create type \(String(reflecting: createType)) with \(extents.count) extent(s) is not a single-file sparse disk (only monolithicSparse and streamOptimized are supported); convert with `qemu-img convert -O vmdk -o subformat=monolithicSparse`",
                offset: offset, field: "createType", path: path)
        }
        return compressed ? "streamOptimized" : "monolithicSparse"
    }

    enum Mapping { case zero, data(UInt64), compressed(UInt64) }

    /// The grain holding guest byte `offset`.
    func mapping(grain index: UInt64) throws(ImagePackError) -> Mapping {
        let tableIndex = Int(index / UInt64(gtEntries))
        let entryIndex = Int(index % UInt64(gtEntries))
        let gde = directory[tableIndex]
        guard gde != 0 else { return .zero }
        let gdeOffset = directoryOffset + UInt64(tableIndex) * 4
        let tableStart = UInt64(gde) * 512
        let table = try cache.table(at: tableStart) { () throws(ImagePackError) in
            guard tableStart + UInt64(gtEntries) * 4 <= fileSize else {
                throw ImportError.truncated(.vmdk, "grain table \(tableIndex) at \(tableStart) extends past the end of the file (\(fileSize) bytes)", offset: gdeOffset, field: "grain_directory_entry", path: path)
            }
            let raw = try file.read(at: tableStart, count: gtEntries * 4)
            return raw.withUnsafeBytes { buf in (0..<gtEntries).map { UInt64(buf.leUInt32($0 * 4)) } }
        }
        let gte = table[entryIndex]
        let gteOffset = tableStart + UInt64(entryIndex) * 4
        if gte == 0 || (gte == 1 && zeroGrains) { return .zero }
        let start = gte * 512
        guard start >= 512 else {
            throw ImportError.invalid(.vmdk, "grain \(index) points into the header", offset: gteOffset, field: "grain_table_entry", path: path)
        }
        if compressed {
            guard start + 12 <= fileSize else {
                throw ImportError.truncated(.vmdk, "grain \(index) at \(start) lies past the end of the file (\(fileSize) bytes)", offset: gteOffset, field: "grain_table_entry", path: path)
            }
            return .compressed(start)
        }
        let inDisk = min(UInt64(grainSize), logicalSize - index * UInt64(grainSize))
        guard start + inDisk <= fileSize else {
            throw ImportError.truncated(.vmdk, "grain \(index) at \(start) extends past the end of the file (\(fileSize) bytes)", offset: gteOffset, field: "grain_table_entry", path: path)
        }
        return .data(start)
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        guard let end = offset.checkedAdd(UInt64(buffer.count)), end <= logicalSize else {
            throw ImagePackError(.rangeOutOfBounds, "read of \(buffer.count) bytes at \(offset) is past the end of the disk (\(logicalSize))", path: path)
        }
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let index = position / UInt64(grainSize)
            let inGrain = Int(position % UInt64(grainSize))
            let count = min(grainSize - inGrain, buffer.count - done)
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + count])
            switch try mapping(grain: index) {
            case .zero: target.initializeMemory(as: UInt8.self, repeating: 0)
            case .data(let start): try file.read(at: start + UInt64(inGrain), into: target)
            case .compressed(let start): try readCompressed(grain: index, at: start, inGrain: inGrain, into: target)
            }
            done += count
        }
    }

    /// Inflates one compressed grain (marker: LBA u64, size u32, zlib data) into a buffer one
    /// byte larger than a grain, so a grain that would expand further is caught there.
    private func readCompressed(grain index: UInt64, at start: UInt64, inGrain: Int, into target: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        let marker = ForeignBytes(try file.read(at: start, count: 12))
        let lba: UInt64 = marker.le(0)
        let length: UInt32 = marker.le(8)
        let grainSectors = UInt64(grainSize / 512)
        guard lba == index * grainSectors else {
            throw ImportError.invalid(.vmdk, "the grain marker at \(start) says LBA \(lba) but the grain table puts it at LBA \(index * grainSectors)", offset: start, field: "grain_marker_lba", path: path)
        }
        guard length > 0, Int(length) <= 2 * grainSize + 1024 else {
            throw ImportError.invalid(.vmdk, "compressed grain of \(length) bytes is empty or larger than any deflate output for a \(grainSize)-byte grain", offset: start + 8, field: "grain_marker_size", path: path)
        }
        guard start + 12 + UInt64(length) <= fileSize else {
            throw ImportError.truncated(.vmdk, "compressed grain at \(start) (\(length) bytes) extends past the end of the file (\(fileSize) bytes)", offset: start + 8, field: "grain_marker_size", path: path)
        }
        let input = try file.read(at: start + 12, count: Int(length))
        var output = [UInt8](repeating: 0, count: grainSize + 1)
        var failure: ImagePackError?
        let produced: Int = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                do throws(ImagePackError) {
                    return try zlib.with { d throws(ImagePackError) in try d.inflate(src, into: dst).produced }
                } catch {
                    failure = error
                    return 0
                }
            }
        }
        if let failure {
            throw ImagePackError(
                failure.code, "VMDK: compressed grain at \(start) does not decode: \(failure.message)",
                rule: failure.rule, offset: start, field: "compressed_grain", cause: failure.cause, path: path)
        }
        // The last grain may be cut at the capacity.
        let inDisk = Int(min(UInt64(grainSize), logicalSize - index * UInt64(grainSize)))
        guard produced == grainSize || (produced == inDisk && inDisk < grainSize) else {
            throw ImportError.invalid(
                .vmdk, "compressed grain at \(start) decodes to \(produced > grainSize ? "more than" : "only") \(min(produced, grainSize)) bytes, not one \(grainSize)-byte grain",
                offset: start, field: "compressed_grain", path: path)
        }
        output.withUnsafeBytes { src in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[inGrain..<inGrain + target.count]))
        }
    }

    func isKnownZero(offset: UInt64, length: Int) -> Bool {
        guard let end = offset.checkedAdd(UInt64(length)), end <= logicalSize else { return false }
        guard length > 0 else { return true }
        var index = offset / UInt64(grainSize)
        let last = (end - 1) / UInt64(grainSize)
        while index <= last {
            // A missing grain table covers all of its grains.
            let tableIndex = Int(index / UInt64(gtEntries))
            if directory[tableIndex] == 0 {
                index = (UInt64(tableIndex) + 1) * UInt64(gtEntries)
                continue
            }
            guard case .zero = (try? mapping(grain: index)) ?? .data(0) else { return false }
            index += 1
        }
        return true
    }

    /// A change of the VMDK file since it was opened.
    func changeSinceOpened() -> String? { file.changeSinceOpened() }
}
