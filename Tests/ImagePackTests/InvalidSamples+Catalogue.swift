import Foundation
@testable import ImagePack

/// The format 1.2 samples: samples/valid/small-catalogue.ipk (the small image with its catalogue
/// in a CTLG record) and one broken file per catalogue rule (V51-V55), each made by patching the
/// valid image's bytes and fixing every check but the one the rule is about.
extension InvalidSamples {
    /// Writes the small image in the format 1.2 layout and returns its bytes.
    static func catalogueImage(in dir: String) throws -> [UInt8] {
        let path = dir + "/base-catalogue.ipk"
        removeItem(path)
        var options = WriterOptions(chunkSize: 64 << 10, threads: 2)
        options.catalogue = true
        _ = try writeImage(baseStreams, to: path, options: options)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func footer(of bytes: [UInt8]) -> FileFooter {
        let at = bytes.count - Layout.footerSize
        return try! FileFooter.decode(Array(bytes[at...]), at: UInt64(at))
    }

    static func replaceFooter(_ bytes: inout [UInt8], _ change: (inout FileFooter) -> Void) {
        var f = footer(of: bytes)
        change(&f)
        bytes.replaceSubrange((bytes.count - Layout.footerSize)..., with: f.encode())
    }

    /// Replaces the CTLG record by one holding `document`; with `fixDigest` false the stored
    /// digest stays that of the old document.
    static func replaceCatalogue(_ bytes: inout [UInt8], document: String, fixDigest: Bool = true) {
        let f = footer(of: bytes)
        let at = Int(f.catalogueOffset)
        let oldBody = Array(bytes[at + Layout.envelopeSize..<at + Int(f.catalogueLength) - 4])
        let json = Array(document.utf8)
        var w = ByteWriter(capacity: 40 + json.count)
        w.u32(1)
        w.u32(1)
        if fixDigest { w.digest(Digest.sha256(json)) } else { w.append(Array(oldBody[8..<40])) }
        w.append(json)
        let record = encodeStructuralRecord(.catalogue, body: w.bytes)
        // Over the old record and, when longer, into the free space after it; the file keeps its length.
        let span = max(record.count, Int(f.catalogueLength))
        bytes.replaceSubrange(at..<at + span, with: record + [UInt8](repeating: 0, count: span - record.count))
        replaceFooter(&bytes) { $0.catalogueLength = UInt32(record.count) }
    }

    /// The catalogue document of the valid samples.
    static var catalogueText: String { String(decoding: CatalogueRecord.document(testMetadata()), as: UTF8.self) }

    static var catalogueSamples: [(ManifestEntry, (inout [UInt8]) -> Void)] {
        func entry(_ file: String, _ rule: String, _ code: ImagePackError.Code, _ description: String) -> ManifestEntry {
            let same = Expectation(rule: rule, code: code.name)
            return ManifestEntry(file: file, rule: rule, code: code.name, description: description, randomAccess: same, streaming: same, hostile: false)
        }
        return [
            (entry("V51-catalogue-outside-tail-area.ipk", "V51", .malformedField, "format 1.2: the footer's catalogueOffset points into the index, not into the tail area after it"), { bytes in
                replaceFooter(&bytes) { $0.catalogueOffset = $0.indexOffset }
            }),
            (entry("V52-catalogue-digest.ipk", "V52", .catalogueDigestMismatch, "format 1.2: the catalogue's share list was changed and its CRC recomputed, but not its documentDigest"), { bytes in
                replaceCatalogue(&bytes, document: catalogueText.replacingOccurrences(of: "444455556666", with: "999999999999"), fixDigest: false)
            }),
            (entry("V53-catalogue-missing-visibility.ipk", "V53", .invalidMetadata, "format 1.2: the catalogue document lacks the required key visibility (digest and CRC consistent)"), { bytes in
                replaceCatalogue(&bytes, document: catalogueText.replacingOccurrences(of: ",\"visibility\":\"shared\"", with: ""))
            }),
            (entry("V54-catalogue-shared-twice.ipk", "V54", .invalidMetadata, "format 1.2: the catalogue shares the image with the same account twice"), { bytes in
                replaceCatalogue(&bytes, document: catalogueText.replacingOccurrences(of: "[\"444455556666\"]", with: "[\"444455556666\",\"444455556666\"]"))
            }),
            (entry("V55-metadata-schema-1-in-catalogue-image.ipk", "V55", .invalidMetadata, "format 1.2: the header sets the catalogue feature but META says schema 1 (CRC fixed)"), { bytes in
                // META body starts at 80 with schemaVersion; its CRC ends the record.
                bytes[80] = 1
                let length = Int(bytes[72..<80].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                let crcAt = 64 + Layout.envelopeSize + length - 4
                let crc = CRC32C.checksum(Array(bytes[64..<crcAt]))
                for k in 0..<4 { bytes[crcAt + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
            }),
        ]
    }

    static func generateCatalogueSamples(in dir: String) throws -> [(ManifestEntry, [UInt8])] {
        let base = try catalogueImage(in: dir)
        return catalogueSamples.map { entry, make in
            var bytes = base
            make(&bytes)
            return (entry, bytes)
        }
    }
}
