/// Encoding of the META record body (spec §5): schema version, encoding, canonical JSON.
enum MetadataRecord {
    static let encodingJSON: UInt32 = 1

    /// The canonical JSON of spec §5.3: keys sorted by their UTF-8 bytes, no white space, the
    /// escapes of ``CanonicalJSON/escape(_:into:)``, absent optional fields left out.
    static func canonicalJSON(_ metadata: ImageMetadata) throws(ImagePackError) -> [UInt8] {
        CanonicalJSON.encode(metadata.jsonValue)
    }

    static func encodeBody(json: [UInt8], schemaVersion: Int) -> [UInt8] {
        var w = ByteWriter(capacity: json.count + 8)
        w.u32(UInt32(schemaVersion))
        w.u32(encodingJSON)
        w.append(json)
        return w.bytes
    }

    /// Parses a META body (without CRC) found at `offset`; returns the metadata and its JSON bytes
    /// (rules V11-V12, V55). With the `catalogue` feature (format 1.2) the body is schema 2, the
    /// instance facts only, and the catalogue fields of the result are placeholders until
    /// ``ImageMetadata/merging(catalogue:)`` fills them from the CTLG record.
    static func decodeBody(_ body: [UInt8], at offset: UInt64, limits: ImageLimits, catalogue: Bool = false) throws(ImagePackError) -> (ImageMetadata, [UInt8]) {
        var c = ByteCursor(body, base: offset, context: "metadata")
        let schema = try c.u32("schemaVersion")
        guard schema == 1 || schema == 2 else {
            throw ImagePackError(.invalidMetadata, "metadata schema version \(schema) is unknown (this library reads 1 and 2); use a newer imgpack", rule: "V11", offset: offset, field: "schemaVersion")
        }
        guard (schema == 2) == catalogue else {
            throw ImagePackError(
                .invalidMetadata,
                catalogue
                    ? "the header sets the 'catalogue' feature (format 1.2) but the metadata is schema 1, which holds the catalogue too; a 1.2 image's metadata is schema 2"
                    : "the metadata is schema 2 (instance facts only) but the header does not set the 'catalogue' feature that puts the name, owner and sharing in a CTLG record",
                rule: .v55, offset: offset, field: "schemaVersion")
        }
        let encoding = try c.u32("encoding")
        guard encoding == encodingJSON else {
            throw ImagePackError(.invalidMetadata, "metadata encoding \(encoding) is unknown (1 = JSON)", rule: "V11", offset: offset + 4, field: "encoding")
        }
        let json = Array(body[8...])
        guard json.count <= limits.maxMetadataSize else {
            throw ImagePackError(.limitExceeded, "metadata is \(json.count) bytes, over the limit \(limits.maxMetadataSize)", rule: "V11", offset: offset + 8)
        }
        guard String(validating: json, as: UTF8.self) != nil else {
            throw ImagePackError(.invalidMetadata, "metadata is not valid UTF-8", rule: "V11", offset: offset + 8)
        }
        let tree = try CanonicalJSON.parse(json, base: offset + 8)
        var metadata: ImageMetadata
        do throws(ImagePackError) {
            if catalogue {
                metadata = try ImageMetadata(instanceJSON: tree)
                guard metadata.schemaVersion == 2 else {
                    throw ImagePackError(.invalidMetadata, "the document's schemaVersion is \(metadata.schemaVersion) but the record's is 2", rule: .v11, field: "schemaVersion")
                }
                // ImageMetadata.schemaVersion is the version of the combined model (spec §5.1).
                metadata.schemaVersion = 1
            } else {
                metadata = try ImageMetadata(json: tree)
            }
        } catch {
            var e = error
            e.offset = offset + 8
            throw e
        }
        do throws(ImagePackError) { if catalogue { try metadata.validateInstance() } else { try metadata.validate() } } catch {
            var e = error
            e.offset = offset + 8
            throw e
        }
        return (metadata, json)
    }
}

extension ImageMetadata {
    /// Checks the bounds of spec §5.1 (rule V12). The writer calls it too, so it never writes what readers refuse.
    public func validate() throws(ImagePackError) {
        try validateInstance()
        try validateCatalogue(rule: .v12)
    }

    /// The bounds of the instance facts (spec §5.1, V12).
    func validateInstance() throws(ImagePackError) {
        let check = BoundsCheck(rule: .v12)
        try check(schemaVersion == 1, "schemaVersion", "schemaVersion must be 1")
        try check.text(os.family, "os.family", max: 32, required: true)
        try check.text(os.distribution, "os.distribution", max: 64)
        try check.text(os.version, "os.version", max: 64)
        try check((1...4096).contains(vcpuCount), "vcpuCount", "vcpuCount \(vcpuCount) is outside 1...4096")
        try check((1...(16 << 20)).contains(memoryMiB), "memoryMiB", "memoryMiB \(memoryMiB) is outside 1...16777216 (16 TiB)")
        try check.text(createdAt, "createdAt", max: 40)
        if let createdAt { try check(Self.isRFC3339(createdAt), "createdAt", "createdAt \"\(Self.escapedForDisplay(createdAt))\" is not an RFC 3339 time such as 2026-11-27T10:00:00Z") }
        try check.text(sourceInstanceID, "sourceInstanceID", max: 128)
        try check(tags.count <= 256, "tags", "\(tags.count) tags, at most 256 allowed")
        for (key, value) in tags.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            try check.text(key, "tags", max: 128, required: true)
            try check.text(value, "tags.\(Self.escapedForDisplay(key))", max: 256)
        }
    }

    /// The bounds of the catalogue fields (spec §5.1, §5.4): V12 where META holds them (format
    /// 1.0), V54 where the CTLG record does.
    func validateCatalogue(rule: Rule) throws(ImagePackError) {
        let check = BoundsCheck(rule: rule)
        try check.text(name, "name", max: 128, required: true)
        try check.text(description, "description", max: 4096, freeText: true)
        try check.text(region, "region", max: 64)
        try check.text(ownerAccount, "ownerAccount", max: 128)
        try check(sharedWith.count <= 1000, "sharedWith", "sharedWith lists \(sharedWith.count) accounts, at most 1000 allowed")
        for account in sharedWith { try check.text(account, "sharedWith", max: 128, required: true) }
        try check(Set(sharedWith).count == sharedWith.count, "sharedWith", "sharedWith lists an account twice")
        try check(visibility == .shared || sharedWith.isEmpty, "sharedWith", "sharedWith is only meaningful with visibility \"shared\"")
    }

    /// One bound of spec §5.1, failing with `rule`.
    private struct BoundsCheck {
        let rule: Rule

        func callAsFunction(_ ok: Bool, _ field: String, _ message: String) throws(ImagePackError) {
            if !ok { throw ImagePackError(.invalidMetadata, message, rule: rule, field: field) }
        }

        /// `freeText` strings (the description) may hold invisible and direction marks; identifiers may not.
        func text(_ value: String?, _ field: String, max: Int, required: Bool = false, freeText: Bool = false) throws(ImagePackError) {
            guard let value else {
                try self(!required, field, "\(field) is required")
                return
            }
            try self(!required || !value.isEmpty, field, "\(field) must not be empty")
            try self(value.utf8.count <= max, field, "\(field) is \(value.utf8.count) bytes, at most \(max) allowed")
            if let bad = value.unicodeScalars.first(where: ImageMetadata.isForbiddenControl) {
                try self(false, field, "\(field) contains the control character U+\(ImageMetadata.hex(bad)) (only TAB is allowed)")
            }
            if !freeText, let bad = value.unicodeScalars.first(where: ImageMetadata.isInvisibleFormat) {
                try self(false, field, "\(field) contains U+\(ImageMetadata.hex(bad)), an invisible or text-direction character, which would make it display as something else")
            }
        }
    }

    static func hex(_ s: Unicode.Scalar) -> String {
        let digits = String(s.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    static func isRFC3339(_ s: String) -> Bool {
        let b = Array(s.utf8)
        func digits(_ range: Range<Int>) -> Bool { range.upperBound <= b.count && b[range].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard b.count >= 20, digits(0..<4), b[4] == 0x2D, digits(5..<7), b[7] == 0x2D, digits(8..<10),
            b[10] == 0x54 || b[10] == 0x74, digits(11..<13), b[13] == 0x3A, digits(14..<16), b[16] == 0x3A, digits(17..<19)
        else { return false }
        var i = 19
        if b[i] == 0x2E {
            i += 1
            let start = i
            while i < b.count && b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
            if i == start { return false }
        }
        guard i < b.count else { return false }
        if b[i] == 0x5A || b[i] == 0x7A { return i + 1 == b.count }
        guard b[i] == 0x2B || b[i] == 0x2D, i + 6 == b.count, digits(i + 1..<i + 3), b[i + 3] == 0x3A, digits(i + 4..<i + 6) else { return false }
        return true
    }
}
