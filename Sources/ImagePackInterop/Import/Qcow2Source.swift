import ImagePack

/// A qcow2 image (versions 2 and 3) read as a disk.
///
/// Reads the active L1 table (internal snapshots are counted, not read), follows L2 tables
/// through a bounded cache, and inflates compressed clusters (zlib or zstd) into buffers of
/// exactly one cluster. Refused: encryption, external data files, a backing file unless the
/// caller supplies the parent disk, images marked corrupt. The dirty bit is tolerated: it only
/// means refcounts may be stale, and this reader never looks at refcounts.
///
/// Layout facts below cite the qcow2 specification (qemu `docs/interop/qcow2.txt`).
final class Qcow2Source: StreamSource {
    let logicalSize: UInt64
    let file: ReadableFile
    let fileSize: UInt64
    let path: String
    let clusterBits: Int
    let clusterSize: Int
    /// Entries per L2 table (cluster size / 8, or / 16 with extended L2 entries).
    let l2Entries: Int
    let extendedL2: Bool
    let version: UInt32
    let subclusterBits: Int
    /// The active L1 table, cut to the entries the virtual size needs.
    let l1: [UInt64]
    let l1Range: Range<UInt64>
    let compression: Compression
    let backing: (any StreamSource)?
    let cache: TableCache
    let zlib = DecompressorPool<Zlib.Decompressor> { () throws(ImagePackError) in try Zlib.Decompressor(wrapping: .raw(windowBits: 12)) }
    let zstd = DecompressorPool<Zstd.Decompressor> { () throws(ImagePackError) in try Zstd.Decompressor() }
    let facts: ImportedDisk.Facts

    enum Compression: UInt8 { case zlib = 0, zstd = 1 }

    // Incompatible feature bits (header bytes 72-79).
    static let dirtyBit: UInt64 = 1 << 0
    static let corruptBit: UInt64 = 1 << 1
    static let externalDataBit: UInt64 = 1 << 2
    static let compressionTypeBit: UInt64 = 1 << 3
    static let extendedL2Bit: UInt64 = 1 << 4
    static let knownIncompatible: UInt64 = 0x1F

    // L1/L2 entry fields.
    static let offsetMask: UInt64 = 0x00FF_FFFF_FFFF_FE00  // bits 9-55: host offset
    static let l1ReservedMask: UInt64 = 0x7F00_0000_0000_01FF  // bits 0-8 and 56-62
    static let l2StandardReservedMask: UInt64 = 0x3F00_0000_0000_01FE  // bits 1-8 and 56-61
    static let compressedFlag: UInt64 = 1 << 62
    static let zeroFlag: UInt64 = 1 << 0

    init(file: ReadableFile, limits: ImportLimits, backing: (any StreamSource)?) throws(ImagePackError) {
        let path = file.path
        self.file = file
        self.path = path
        let fileSize = file.size ?? 0
        self.fileSize = fileSize
        func invalid(_ message: String, _ offset: UInt64, _ field: String) -> ImagePackError {
            ImportError.invalid(.qcow2, message, offset: offset, field: field, path: path)
        }

        // Fixed header: 72 bytes for version 2, header_length (at least 104) for version 3.
        guard fileSize >= 72 else {
            throw ImportError.truncated(.qcow2, "the file is \(fileSize) bytes, shorter than the 72-byte header", offset: fileSize, field: "header", path: path)
        }
        let fixed = ForeignBytes(try file.read(at: 0, count: Int(min(fileSize, 112))))
        let version: UInt32 = fixed.be(4)
        guard version == 2 || version == 3 else {
            throw ImportError.unsupported(.qcow2, "version \(version) is not supported (only 2 and 3)", offset: 4, field: "version", path: path)
        }
        self.version = version
        let clusterBits: UInt32 = fixed.be(20)
        guard (9...21).contains(clusterBits) else {
            throw invalid("cluster_bits is \(clusterBits), outside 9...21", 20, "cluster_bits")
        }
        let clusterSize = 1 << Int(clusterBits)
        guard clusterSize <= limits.maxClusterSize else {
            throw ImportError.limit(.qcow2, "clusters of \(clusterSize) bytes exceed the limit of \(limits.maxClusterSize)", offset: 20, field: "cluster_bits", path: path)
        }
        self.clusterBits = Int(clusterBits)
        self.clusterSize = clusterSize

        var headerLength = 72
        var incompatible: UInt64 = 0
        var compressionByte: UInt8 = 0
        if version == 3 {
            guard fileSize >= 104 else {
                throw ImportError.truncated(.qcow2, "the file is \(fileSize) bytes, shorter than the 104-byte version 3 header", offset: fileSize, field: "header", path: path)
            }
            incompatible = fixed.be(72)
            let refcountOrder: UInt32 = fixed.be(96)
            guard refcountOrder <= 6 else { throw invalid("refcount_order is \(refcountOrder), above 6", 96, "refcount_order") }
            let length: UInt32 = fixed.be(100)
            guard length >= 104, length % 8 == 0, Int(length) <= clusterSize, UInt64(length) <= fileSize else {
                throw invalid("header_length is \(length); it must be a multiple of 8, at least 104 and within the first cluster and the file", 100, "header_length")
            }
            headerLength = Int(length)
            if headerLength > 104 { compressionByte = fixed.bytes[104] }
        }

        // Incompatible features (version 3).
        if incompatible & Self.corruptBit != 0 {
            throw invalid("qemu marked this image corrupt (incompatible feature bit 1); repair it with `qemu-img check -r all` before importing", 72, "incompatible_features")
        }
        if incompatible & Self.externalDataBit != 0 {
            throw ImportError.unsupported(.qcow2, "the image keeps its data in an external data file, which is never opened; convert it with `qemu-img convert -O qcow2` first", offset: 72, field: "incompatible_features", path: path)
        }
        let unknown = incompatible & ~Self.knownIncompatible
        guard unknown == 0 else {
            throw ImportError.unsupported(.qcow2, "unknown incompatible feature bits 0x\(String(unknown, radix: 16)); a newer qemu made it, convert it with that qemu first", offset: 72, field: "incompatible_features", path: path)
        }
        if incompatible & Self.compressionTypeBit != 0 {
            guard headerLength > 104, let type = Compression(rawValue: compressionByte) else {
                throw ImportError.unsupported(.qcow2, "compression type \(compressionByte) is not supported (only zlib 0 and zstd 1)", offset: 104, field: "compression_type", path: path)
            }
            compression = type
        } else {
            guard compressionByte == 0 else {
                throw invalid("compression_type is \(compressionByte) but incompatible feature bit 3 is clear", 104, "compression_type")
            }
            compression = .zlib
        }
        extendedL2 = incompatible & Self.extendedL2Bit != 0
        if extendedL2 && clusterBits < 14 {
            throw invalid("extended L2 entries need clusters of at least 16 KiB, not \(clusterSize)", 20, "cluster_bits")
        }
        subclusterBits = extendedL2 ? Int(clusterBits) - 5 : Int(clusterBits)
        l2Entries = clusterSize / (extendedL2 ? 16 : 8)

        let cryptMethod: UInt32 = fixed.be(32)
        guard cryptMethod == 0 else {
            throw ImportError.unsupported(.qcow2, "the image is encrypted (crypt_method \(cryptMethod): \(cryptMethod == 1 ? "AES" : "LUKS")); decrypt it with `qemu-img convert --object secret,... -O qcow2` first", offset: 32, field: "crypt_method", path: path)
        }

        // Virtual size and the L1 table it needs.
        let size: UInt64 = fixed.be(24)
        guard size <= limits.maxVirtualSize else {
            throw ImportError.limit(.qcow2, "the virtual size \(size) exceeds the limit of \(limits.maxVirtualSize)", offset: 24, field: "size", path: path)
        }
        logicalSize = size
        let bytesPerL2 = UInt64(clusterSize) * UInt64(l2Entries)
        let needed = size.divCeil(bytesPerL2)
        let l1Size: UInt32 = fixed.be(36)
        guard UInt64(l1Size) >= needed else {
            throw invalid("l1_size is \(l1Size) but the virtual size \(size) needs \(needed) entries", 36, "l1_size")
        }
        guard UInt64(l1Size) * 8 <= UInt64(limits.maxTableBytes) else {
            throw ImportError.limit(.qcow2, "the L1 table has \(l1Size) entries (\(UInt64(l1Size) * 8) bytes), above the limit of \(limits.maxTableBytes) bytes", offset: 36, field: "l1_size", path: path)
        }
        let l1Offset: UInt64 = fixed.be(40)
        if l1Size > 0 {
            guard l1Offset % UInt64(clusterSize) == 0, l1Offset >= UInt64(clusterSize) else {
                throw invalid("l1_table_offset \(l1Offset) is not a cluster boundary after the header", 40, "l1_table_offset")
            }
            guard let end = l1Offset.checkedAdd(UInt64(l1Size) * 8), end <= fileSize else {
                throw ImportError.truncated(.qcow2, "the L1 table at \(l1Offset) (\(l1Size) entries) extends past the end of the file (\(fileSize) bytes)", offset: 40, field: "l1_table_offset", path: path)
            }
            l1Range = l1Offset..<end
        } else {
            l1Range = 0..<0
        }
        var l1: [UInt64] = []
        if needed > 0 {
            let raw = try file.read(at: l1Offset, count: Int(needed) * 8)
            l1 = raw.withUnsafeBytes { buf in (0..<Int(needed)).map { buf.beUInt64($0 * 8) } }
        }
        for (i, entry) in l1.enumerated() where entry & Self.l1ReservedMask != 0 {
            throw invalid("L1 entry \(i) (0x\(String(entry, radix: 16))) has reserved bits set", l1Offset + UInt64(i) * 8, "l1_entry")
        }
        self.l1 = l1

        // Snapshots: counted, never read (only the active L1 table defines the disk).
        let snapshots: UInt32 = fixed.be(60)
        guard snapshots <= 65536 else { throw invalid("nb_snapshots is \(snapshots), above qemu's limit of 65536", 60, "nb_snapshots") }

        // Header extensions follow the header, inside the first cluster (qcow2 spec, "Header extensions").
        let extensionEnd = Int(min(UInt64(clusterSize), fileSize))
        let headerCluster = ForeignBytes(try file.read(at: 0, count: extensionEnd))
        var notes: [String] = []
        var backingFormat: String?
        var cursor = headerLength
        while cursor + 8 <= extensionEnd {
            let type: UInt32 = headerCluster.be(cursor)
            let length = Int(headerCluster.be(cursor + 4, as: UInt32.self))
            if type == 0 { break }
            let padded = (length + 7) & ~7
            guard length <= extensionEnd, cursor + 8 + padded <= extensionEnd else {
                throw invalid("header extension 0x\(String(type, radix: 16)) of \(length) bytes runs past the first cluster", UInt64(cursor + 4), "header_extension_length")
            }
            if type == 0xE279_2ACA { backingFormat = headerCluster.ascii(cursor + 8, length) }
            cursor += 8 + padded
        }

        // Backing file: reported as data, never opened.
        let backingOffset: UInt64 = fixed.be(8)
        let backingLength: UInt32 = fixed.be(16)
        var backingName: String?
        if backingOffset != 0 {
            guard backingLength <= 1023, backingOffset < UInt64(extensionEnd), backingOffset + UInt64(backingLength) <= UInt64(extensionEnd) else {
                throw invalid("the backing file name (\(backingLength) bytes at \(backingOffset)) is not inside the first cluster or is longer than 1023 bytes", 8, "backing_file_offset")
            }
            let start = Int(backingOffset)
            backingName = String(decoding: headerCluster.bytes[start..<start + Int(backingLength)], as: UTF8.self)
        }
        if let backingName, backing == nil {
            // The file is valid; what is missing is the parent, an argument the caller can give
            // (imgpack maps this refusal, by its field, to a usage error).
            throw ImportError.unsupported(
                .qcow2,
                "the image is an overlay with a backing file, named in the file as \(String(reflecting: backingName))\(backingFormat.map { " (format \(String(reflecting: $0)))" } ?? ""); "
                    + "it is never opened by name. Give the parent yourself (imgpack: --backing PARENT; library: the backing disk), "
                    + "or flatten the chain first with `qemu-img convert -O qcow2 image flat.qcow2`",
                offset: backingOffset, field: "backing_file_offset", path: path)
        }
        self.backing = backingName == nil ? nil : backing
        if incompatible & Self.dirtyBit != 0 {
            notes.append("dirty bit set: the image was not closed cleanly; its refcounts may be stale, which does not affect reading")
        }
        cache = TableCache(maxTables: limits.maxCacheBytes / clusterSize)
        facts = ImportedDisk.Facts(
            variant: "qcow2 v\(version)\(extendedL2 ? " (extended L2)" : "")", fileSize: fileSize, clusterSize: clusterSize,
            compression: compression == .zlib ? "zlib" : "zstd", backingFile: backingName, snapshotCount: Int(snapshots), notes: notes)
    }

    /// Where the bytes of one guest (sub)cluster come from.
    enum Mapping: Equatable {
        case zero
        case unallocated
        case data(UInt64)
        case compressed(offset: UInt64, length: Int)
    }

    /// Looks up the guest range starting at `offset`; returns the mapping and how many bytes
    /// from `offset` it covers (up to the end of its (sub)cluster).
    func mapping(at offset: UInt64) throws(ImagePackError) -> (Mapping, Int) {
        let clusterIndex = offset >> UInt64(clusterBits)
        let inCluster = Int(offset & UInt64(clusterSize - 1))
        let l1Index = Int(clusterIndex / UInt64(l2Entries))
        let l2Index = Int(clusterIndex % UInt64(l2Entries))
        let l1Entry = l1[l1Index]
        let l2Offset = l1Entry & Self.offsetMask
        guard l2Offset != 0 else {
            // A whole missing L2 table: unallocated up to the end of its range.
            let rangeEnd = (UInt64(l1Index) + 1) * UInt64(clusterSize) * UInt64(l2Entries)
            return (.unallocated, Int(min(rangeEnd - offset, UInt64(Int.max))))
        }
        let entryOffset = UInt64(l1Index) * 8 + l1Range.lowerBound
        let table = try l2Table(at: l2Offset, l1EntryOffset: entryOffset)
        let entryFileOffset = l2Offset + UInt64(l2Index * (extendedL2 ? 16 : 8))
        let entry = table[extendedL2 ? l2Index * 2 : l2Index]
        let clusterRemaining = clusterSize - inCluster

        if entry & Self.compressedFlag != 0 {
            if extendedL2 && table[l2Index * 2 + 1] != 0 {
                throw invalid("the subcluster bitmap of a compressed cluster must be zero", entryFileOffset + 8, "l2_bitmap")
            }
            let shift = 62 - (clusterBits - 8)
            let host = entry & ((1 << UInt64(shift)) - 1)
            let sectors = Int((entry >> UInt64(shift)) & ((1 << UInt64(clusterBits - 8)) - 1)) + 1
            guard host >= UInt64(clusterSize) else {
                throw invalid("compressed cluster offset \(host) points into the header cluster", entryFileOffset, "l2_entry")
            }
            guard host < fileSize else {
                throw ImportError.truncated(.qcow2, "compressed cluster at \(host) starts past the end of the file (\(fileSize) bytes)", offset: entryFileOffset, field: "l2_entry", path: path)
            }
            // The last sector may extend past the end of the file (qemu writes the exact length).
            let length = min(UInt64(sectors * 512 - Int(host & 511)), fileSize - host)
            return (.compressed(offset: host, length: Int(length)), clusterRemaining)
        }

        if entry & Self.l2StandardReservedMask != 0 {
            throw invalid("L2 entry 0x\(String(entry, radix: 16)) has reserved bits set", entryFileOffset, "l2_entry")
        }
        let host = entry & Self.offsetMask
        guard extendedL2 else {
            if entry & Self.zeroFlag != 0 && version < 3 {
                throw invalid("a version 2 image cannot have zero clusters (bit 0 of an L2 entry is reserved)", entryFileOffset, "l2_entry")
            }
            if host != 0 { try checkDataCluster(host, upTo: clusterSize, entryFileOffset: entryFileOffset, guestCluster: clusterIndex) }
            if entry & Self.zeroFlag != 0 { return (.zero, clusterRemaining) }
            return (host == 0 ? .unallocated : .data(host), clusterRemaining)
        }
        // Extended L2 (qcow2 spec, "Extended L2 Entries"): 32 subclusters, bits 0-31 allocated, 32-63 reads as zero.
        if entry & Self.zeroFlag != 0 {
            throw invalid("bit 0 of an extended L2 entry is reserved", entryFileOffset, "l2_entry")
        }
        let bitmap = table[l2Index * 2 + 1]
        let sub = inCluster >> subclusterBits
        let allocated = bitmap & (1 << UInt64(sub)) != 0
        let zero = bitmap & (1 << UInt64(32 + sub)) != 0
        let subRemaining = (1 << subclusterBits) - (inCluster & ((1 << subclusterBits) - 1))
        if allocated && zero {
            throw invalid("subcluster \(sub) is marked both allocated and zero", entryFileOffset + 8, "l2_bitmap")
        }
        if zero { return (.zero, subRemaining) }
        if !allocated { return (.unallocated, subRemaining) }
        guard host != 0 else {
            throw invalid("subcluster \(sub) is marked allocated but the cluster has no host offset", entryFileOffset, "l2_entry")
        }
        // qemu writes only allocated subclusters, so the file may end inside the cluster.
        try checkDataCluster(host, upTo: (sub + 1) << subclusterBits, entryFileOffset: entryFileOffset, guestCluster: clusterIndex)
        return (.data(host), subRemaining)
    }

    private func invalid(_ message: String, _ offset: UInt64, _ field: String) -> ImagePackError {
        ImportError.invalid(.qcow2, message, offset: offset, field: field, path: path)
    }

    /// A host cluster (L2 table or data) must be aligned, after the header, clear of the L1
    /// table and inside the file.
    private func checkHostCluster(_ host: UInt64, bytes: UInt64, what: String, entryOffset: UInt64, field: String) throws(ImagePackError) {
        guard host % UInt64(clusterSize) == 0 else {
            throw invalid("\(what) offset \(host) is not aligned to the \(clusterSize)-byte cluster", entryOffset, field)
        }
        guard host >= UInt64(clusterSize) else { throw invalid("\(what) offset \(host) points into the header cluster", entryOffset, field) }
        guard !(host < l1Range.upperBound && l1Range.lowerBound < host + UInt64(clusterSize)) else {
            throw invalid("\(what) offset \(host) overlaps the L1 table", entryOffset, field)
        }
        guard let end = host.checkedAdd(bytes), end <= fileSize else {
            throw ImportError.truncated(.qcow2, "\(what) at \(host) extends past the end of the file (\(fileSize) bytes)", offset: entryOffset, field: field, path: path)
        }
    }

    /// Checks a data cluster whose first `upTo` bytes will be read. Only the part of the last
    /// cluster inside the virtual size need exist in the file.
    private func checkDataCluster(_ host: UInt64, upTo: Int, entryFileOffset: UInt64, guestCluster: UInt64) throws(ImagePackError) {
        let guestStart = guestCluster << UInt64(clusterBits)
        let bytes = min(UInt64(upTo), logicalSize - guestStart)
        try checkHostCluster(host, bytes: bytes, what: "data cluster", entryOffset: entryFileOffset, field: "l2_entry")
    }

    private func l2Table(at l2Offset: UInt64, l1EntryOffset: UInt64) throws(ImagePackError) -> [UInt64] {
        try cache.table(at: l2Offset) { () throws(ImagePackError) in
            try checkHostCluster(l2Offset, bytes: UInt64(clusterSize), what: "L2 table", entryOffset: l1EntryOffset, field: "l1_entry")
            let raw = try file.read(at: l2Offset, count: clusterSize)
            return raw.withUnsafeBytes { buf in (0..<clusterSize / 8).map { buf.beUInt64($0 * 8) } }
        }
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        guard let end = offset.checkedAdd(UInt64(buffer.count)), end <= logicalSize else {
            throw ImagePackError(.rangeOutOfBounds, "read of \(buffer.count) bytes at \(offset) is past the end of the disk (\(logicalSize))", path: path)
        }
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let (mapping, covered) = try mapping(at: position)
            let count = min(covered, buffer.count - done)
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + count])
            let inCluster = Int(position & UInt64(clusterSize - 1))
            switch mapping {
            case .zero:
                target.initializeMemory(as: UInt8.self, repeating: 0)
            case .unallocated:
                try readBacking(at: position, into: target)
            case .data(let host):
                try file.read(at: host + UInt64(inCluster), into: target)
            case .compressed(let host, let length):
                try readCompressed(host: host, length: length, inCluster: inCluster, into: target)
            }
            done += count
        }
    }

    private func readBacking(at position: UInt64, into target: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        guard let backing, position < backing.logicalSize else {
            target.initializeMemory(as: UInt8.self, repeating: 0)
            return
        }
        let available = Int(min(UInt64(target.count), backing.logicalSize - position))
        try backing.read(at: position, into: UnsafeMutableRawBufferPointer(rebasing: target[0..<available]))
        if available < target.count {
            UnsafeMutableRawBufferPointer(rebasing: target[available...]).initializeMemory(as: UInt8.self, repeating: 0)
        }
    }

    /// Inflates one compressed cluster into a buffer one byte larger than a cluster: a stream
    /// that fills it would expand past the cluster and is refused (a bomb stops there).
    private func readCompressed(host: UInt64, length: Int, inCluster: Int, into target: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
        let input = try file.read(at: host, count: length)
        var output = [UInt8](repeating: 0, count: clusterSize + 1)
        var failure: ImagePackError?
        let produced: Int = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                do throws(ImagePackError) {
                    switch compression {
                    case .zlib: return try zlib.with { d throws(ImagePackError) in try d.inflate(src, into: dst).produced }
                    case .zstd: return try zstd.with { d throws(ImagePackError) in try d.decompressPrefix(src, into: dst) }
                    }
                } catch {
                    failure = error
                    return 0
                }
            }
        }
        if let failure {
            throw ImagePackError(
                failure.code, "qcow2: compressed cluster at \(host) (\(length) bytes) does not decode: \(failure.message)",
                rule: failure.rule, offset: host, field: "compressed_cluster", cause: failure.cause, path: path)
        }
        guard produced == clusterSize else {
            throw invalid(
                "compressed cluster at \(host) decodes to \(produced > clusterSize ? "more than" : "only") \(min(produced, clusterSize)) bytes, not one \(clusterSize)-byte cluster",
                host, "compressed_cluster")
        }
        output.withUnsafeBytes { src in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[inCluster..<inCluster + target.count]))
        }
    }

    func isKnownZero(offset: UInt64, length: Int) -> Bool {
        guard let end = offset.checkedAdd(UInt64(length)), end <= logicalSize else { return false }
        var position = offset
        while position < end {
            guard let (mapping, covered) = try? mapping(at: position) else { return false }
            let count = min(UInt64(covered), end - position)
            switch mapping {
            case .zero: break
            case .unallocated:
                if let backing, position < backing.logicalSize {
                    let inside = Int(min(count, backing.logicalSize - position))
                    if !backing.isKnownZero(offset: position, length: inside) { return false }
                }
            case .data, .compressed: return false
            }
            position += count
        }
        return true
    }

    /// A change of the qcow2 file since it was opened, or of its backing disk.
    func changeSinceOpened() -> String? {
        if let change = file.changeSinceOpened() { return change }
        return backing?.changeSinceOpened().map { "its backing disk changed: \($0)" }
    }
}
