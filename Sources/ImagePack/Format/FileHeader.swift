/// The 64-byte header at offset 0 (spec §3).
struct FileHeader: Equatable {
    var critical: FeatureFlags = []
    var optional: UInt64 = 0
    /// The writer's nominal chunk size; informational, chunks may be shorter.
    var chunkSize: UInt32

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Layout.headerSize)
        w.append(Layout.headerMagic)
        w.u16(FormatVersion.major)
        w.u16(FormatVersion.minor(for: critical))
        w.u32(UInt32(Layout.headerSize))
        w.u64(critical.rawValue)
        w.u64(optional)
        w.u32(chunkSize)
        w.zeros(24)
        w.crc()
        return w.bytes
    }

    /// Parses and checks a header (rules V1-V6).
    static func decode(_ bytes: [UInt8]) throws(ImagePackError) -> FileHeader {
        guard bytes.count >= Layout.headerSize else {
            throw ImagePackError(.truncated, "the file is \(bytes.count) bytes, shorter than the 64-byte header; it is not an ImagePack image or was cut off", rule: .v1, offset: 0)
        }
        guard Array(bytes[0..<8]) == Layout.headerMagic else {
            throw ImagePackError(.badMagic, "not an ImagePack image: the first 8 bytes are not the ImagePack magic", rule: .v1, offset: 0, field: "magic")
        }
        var c = ByteCursor(Array(bytes[0..<Layout.headerSize]), base: 0, context: "header")
        _ = try c.take(8, "magic")
        let major = try c.u16("majorVersion")
        _ = try c.u16("minorVersion")
        let stored = UInt32(bytes[60]) | UInt32(bytes[61]) << 8 | UInt32(bytes[62]) << 16 | UInt32(bytes[63]) << 24
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<60])) }
        guard stored == computed else {
            throw ImagePackError(.headerChecksumMismatch, "header checksum does not match: the header is damaged", rule: .v4, offset: 60, field: "headerCRC")
        }
        guard major == FormatVersion.major else {
            throw ImagePackError(.unsupportedVersion, "format major version \(major) is not supported (this library reads version \(FormatVersion.major)); use a newer imgpack", rule: .v2, offset: 8, field: "majorVersion")
        }
        let size = try c.u32("headerSize")
        guard size == UInt32(Layout.headerSize) else {
            throw ImagePackError(.malformedField, "header size is \(size), version 1 headers are 64 bytes", rule: .v3, offset: 12, field: "headerSize")
        }
        let critical = FeatureFlags(rawValue: try c.u64("criticalFeatures"))
        let unknown = critical.subtracting(FeatureFlags.knownCritical)
        guard unknown.isEmpty else {
            throw ImagePackError(.unknownCriticalFeature, "the image needs critical features 0x\(String(unknown.rawValue, radix: 16)) that this reader does not know; use a newer imgpack", rule: .v5, offset: 16, field: "criticalFeatures")
        }
        let optional = try c.u64("optionalFeatures")
        let chunkSize = try c.u32("chunkSize")
        try c.reserved(24, "reserved")
        return FileHeader(critical: critical, optional: optional, chunkSize: chunkSize)
    }
}

/// The 96-byte footer, the last bytes of the file (spec §9).
struct FileFooter: Equatable {
    var indexOffset: UInt64
    var indexLength: UInt64
    var signaturesOffset: UInt64 = 0
    var signaturesLength: UInt64 = 0
    var fileLength: UInt64
    var rootDigest: Digest
    /// Where the CTLG record is (format 1.2, spec §9.1, §9.4); both 0 (reserved) in an image
    /// without the `catalogue` feature.
    var catalogueOffset: UInt64 = 0
    var catalogueLength: UInt32 = 0

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Layout.footerSize)
        w.u64(indexOffset)
        w.u64(indexLength)
        w.u64(signaturesOffset)
        w.u64(signaturesLength)
        w.u64(fileLength)
        w.digest(rootDigest)
        w.u64(catalogueOffset)
        w.u32(catalogueLength)
        w.crc()
        w.append(Layout.footerMagic)
        return w.bytes
    }

    /// Parses and checks a footer found at `offset` (rules V40-V42).
    static func decode(_ bytes: [UInt8], at offset: UInt64) throws(ImagePackError) -> FileFooter {
        guard bytes.count == Layout.footerSize else {
            throw ImagePackError(.truncated, "the footer is incomplete: the image was cut off", rule: .v40, offset: offset)
        }
        guard Array(bytes[88..<96]) == Layout.footerMagic else {
            throw ImagePackError(.truncated, "no ImagePack footer at the end of the file: the image was cut off or has data appended; the chunks written before the cut can be salvaged into raw files with `imgpack recover IMAGE -o DIR` (library: ImageRecovery.recover), which lists what is missing", rule: .v40, offset: offset + 88, field: "footerMagic")
        }
        var c = ByteCursor(bytes, base: offset, context: "footer")
        let stored = UInt32(bytes[84]) | UInt32(bytes[85]) << 8 | UInt32(bytes[86]) << 16 | UInt32(bytes[87]) << 24
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<84])) }
        guard stored == computed else {
            throw ImagePackError(.footerChecksumMismatch, "footer checksum does not match: the footer is damaged", rule: .v41, offset: offset + 84, field: "footerCRC")
        }
        // Bytes 72-83 are the catalogue's location in a 1.2 image and reserved otherwise: which,
        // the header says, so ``check(at:fileLength:catalogue:)`` judges them (V6 or V51).
        return FileFooter(
            indexOffset: try c.u64("indexOffset"), indexLength: try c.u64("indexLength"),
            signaturesOffset: try c.u64("signaturesOffset"), signaturesLength: try c.u64("signaturesLength"),
            fileLength: try c.u64("fileLength"), rootDigest: try c.digest("rootDigest"),
            catalogueOffset: try c.u64("catalogueOffset"), catalogueLength: try c.u32("catalogueLength"))
    }
}

/// The 16 bytes that start every record (spec §4).
struct RecordEnvelope: Equatable {
    var type: RecordType
    /// Bit 0: a reader that does not know `type` must refuse the image.
    var critical: Bool
    var bodyLength: UInt64

    func encode(into w: inout ByteWriter) {
        w.u32(type.rawValue)
        w.u32(critical ? 1 : 0)
        w.u64(bodyLength)
    }

    static func decode(_ bytes: [UInt8], at offset: UInt64) throws(ImagePackError) -> RecordEnvelope {
        guard bytes.count >= Layout.envelopeSize else {
            throw ImagePackError(.truncated, "the file ends inside a record header", rule: .v7, offset: offset)
        }
        var c = ByteCursor(Array(bytes[0..<Layout.envelopeSize]), base: offset, context: "record header")
        let type = RecordType(rawValue: try c.u32("type"))
        let flags = try c.u32("flags")
        let length = try c.u64("bodyLength")
        guard flags & ~1 == 0 else {
            throw ImagePackError(.reservedFieldNotZero, "record \(type) has reserved flag bits set (0x\(String(flags, radix: 16)))", rule: .v6, offset: offset + 4, field: "recordFlags")
        }
        // Every type this version defines is critical (spec §4.1): a reader that did not know it
        // could not read the image. A clear bit on one would let an older reader skip it.
        guard flags & 1 != 0 || !type.isDefined else {
            throw ImagePackError(.malformedField, "record \(type) at \(offset) has the critical bit clear; every record type the format defines sets it", rule: .v7, offset: offset + 4, field: "recordFlags")
        }
        return RecordEnvelope(type: type, critical: flags & 1 != 0, bodyLength: length)
    }
}

extension RecordEnvelope {
    /// Checks that this envelope, found at `offset`, starts the structural record of `type` expected
    /// there (V8) and that its body fits both the type's limit and the bytes before `limit` (V10).
    func expect(_ type: RecordType, at offset: UInt64, maxBody: Int, limit: UInt64) throws(ImagePackError) {
        guard self.type == type else {
            throw ImagePackError(.unexpectedRecord, "expected a \(type) record at \(offset), found \(self.type)", rule: .v8, offset: offset, field: "type")
        }
        let room = limit >= offset + UInt64(Layout.envelopeSize) ? limit - offset - UInt64(Layout.envelopeSize) : 0
        guard bodyLength >= 4, bodyLength <= UInt64(maxBody), bodyLength <= room else {
            throw ImagePackError(.limitExceeded, "\(type) record claims \(bodyLength) bytes, more than the limit \(maxBody) or than the file holds before \(limit)", rule: .v10, offset: offset + 8, field: "bodyLength")
        }
    }
}

/// Builds a structural record: envelope, body, and a CRC-32C over both (spec §4.2).
func encodeStructuralRecord(_ type: RecordType, body: [UInt8]) -> [UInt8] {
    var w = ByteWriter(capacity: Layout.envelopeSize + body.count + 4)
    RecordEnvelope(type: type, critical: true, bodyLength: UInt64(body.count + 4)).encode(into: &w)
    w.append(body)
    w.crc()
    return w.bytes
}

/// Checks a structural record's trailing CRC and returns its body without it.
/// `record` holds envelope and body; `offset` is the record's file offset.
func checkStructuralRecord(_ record: [UInt8], at offset: UInt64, rule: Rule, code: ImagePackError.Code) throws(ImagePackError) -> [UInt8] {
    guard record.count >= Layout.envelopeSize + 4 else {
        throw ImagePackError(.truncated, "record too short to hold its checksum", rule: rule, offset: offset)
    }
    let end = record.count - 4
    let stored = UInt32(record[end]) | UInt32(record[end + 1]) << 8 | UInt32(record[end + 2]) << 16 | UInt32(record[end + 3]) << 24
    let computed = record.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
    guard stored == computed else {
        let type = record.withUnsafeBytes { RecordType(rawValue: UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        throw ImagePackError(code, "\(type) record checksum does not match: the record is damaged", rule: rule, offset: offset + UInt64(end), field: "recordCRC")
    }
    return Array(record[Layout.envelopeSize..<end])
}
