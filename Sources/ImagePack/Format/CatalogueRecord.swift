/// The CTLG record (format 1.2, spec §5.4): the catalogue fields as canonical JSON, checked by its
/// own SHA-256 and CRC, in the tail area after the index and outside the root digest.
enum CatalogueRecord {
    static let schemaVersion: UInt32 = 1
    /// Body bytes before the document: schemaVersion, encoding, documentDigest.
    static let fixedSize = 40
    /// Largest catalogue document (spec §10): the largest share list (1000 accounts of 128 bytes)
    /// and a description fit several times over.
    static let maxDocumentSize = 1 << 20
    /// Largest bodyLength: fixed part, document, CRC.
    static let maxBody = fixedSize + maxDocumentSize + 4

    /// The canonical JSON document of `catalogue` (spec §5.3, §5.4).
    static func document(_ metadata: ImageMetadata) -> [UInt8] {
        CanonicalJSON.encode(.object([("schemaVersion", .integer(String(schemaVersion)))] + metadata.catalogueMembers))
    }

    /// The whole record, envelope and CRC included.
    static func encode(_ metadata: ImageMetadata) -> [UInt8] {
        let json = document(metadata)
        var w = ByteWriter(capacity: fixedSize + json.count)
        w.u32(schemaVersion)
        w.u32(MetadataRecord.encodingJSON)
        w.digest(Digest.sha256(json))
        w.append(json)
        return encodeStructuralRecord(.catalogue, body: w.bytes)
    }

    /// Parses and checks the CTLG record `record` (envelope to CRC) found at `offset` (V52-V54)
    /// and returns `metadata` with its catalogue fields taken from it.
    static func decode(_ record: [UInt8], at offset: UInt64, into metadata: ImageMetadata) throws(ImagePackError) -> ImageMetadata {
        let envelope = try RecordEnvelope.decode(record, at: offset)
        guard envelope.type == .catalogue else {
            throw ImagePackError(.unexpectedRecord, "the footer locates the catalogue at \(offset), but a \(envelope.type) record is there", rule: .v52, offset: offset, field: "type")
        }
        guard envelope.bodyLength >= UInt64(fixedSize + 4), envelope.bodyLength <= UInt64(maxBody),
            envelope.bodyLength == UInt64(record.count - Layout.envelopeSize)
        else {
            throw ImagePackError(
                .malformedField, "the CTLG record's bodyLength is \(envelope.bodyLength); the footer gives it \(record.count) bytes with its envelope, and a catalogue body is 44 to \(maxBody) bytes",
                rule: .v52, offset: offset + 8, field: "bodyLength")
        }
        let body = try checkStructuralRecord(record, at: offset, rule: .v52, code: .recordChecksumMismatch)
        let bodyAt = offset + UInt64(Layout.envelopeSize)
        var c = ByteCursor(body, base: bodyAt, context: "catalogue")
        let schema = try c.u32("schemaVersion")
        guard schema == schemaVersion else {
            throw ImagePackError(.invalidMetadata, "catalogue schema version \(schema) is unknown (this library reads 1); use a newer imgpack", rule: .v52, offset: bodyAt, field: "schemaVersion")
        }
        let encoding = try c.u32("encoding")
        guard encoding == MetadataRecord.encodingJSON else {
            throw ImagePackError(.invalidMetadata, "catalogue encoding \(encoding) is unknown (1 = JSON)", rule: .v52, offset: bodyAt + 4, field: "encoding")
        }
        let stored = try c.digest("documentDigest")
        let json = Array(body[fixedSize...])
        guard Digest.sha256(json) == stored else {
            throw ImagePackError(.catalogueDigestMismatch, "the catalogue document does not match its documentDigest: it was changed or damaged", rule: .v52, offset: bodyAt + 8, field: "documentDigest")
        }
        let documentAt = bodyAt + UInt64(fixedSize)
        var result = metadata
        do throws(ImagePackError) {
            guard String(validating: json, as: UTF8.self) != nil else {
                throw ImagePackError(.invalidMetadata, "the catalogue is not valid UTF-8", rule: .v53)
            }
            let tree = try CanonicalJSON.parse(json, base: documentAt)
            let reader = ImageMetadata.FieldReader(path: "", typeRule: .v53, boundsRule: .v54, what: "catalogue")
            let version = try reader.integer(tree, "schemaVersion")
            guard version == Int(schemaVersion) else {
                throw ImagePackError(.invalidMetadata, "the catalogue document's schemaVersion is \(version) but the record's is 1", rule: .v53, field: "schemaVersion")
            }
            try result.readCatalogue(tree, reader: reader)
            try result.validateCatalogue(rule: .v54)
        } catch {
            var e = error
            // The strict-JSON parser names V11, the metadata's rule; in the catalogue it is V53.
            if e.rule == .v11 { e.rule = .v53 }
            if e.offset == nil { e.offset = documentAt }
            throw e
        }
        return result
    }
}
