import Foundation
import Testing
@testable import ImagePack

/// The random-access reader, the streaming reader and the validator share one set of format
/// checks: the same fault must break the same rule, and the same damaged chunk must carry the same
/// number (its index entry), whichever of them reads the image.
@Suite("Readers and validator agree on rules and chunk numbers")
struct ReaderAgreementTests {
    /// The first problem the validator reports for `bytes`.
    func validatorProblem(_ bytes: [UInt8], dir: String) throws -> ImagePackError? {
        let path = dir + "/validate-\(UUID().uuidString).ipk"
        defer { removeItem(path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return try ImageValidator.validate(path: path, options: ValidationOptions(read: ReadOptions(threads: 2))).problems.first
    }

    /// `bytes` with its footer rewritten by `change` and the footer CRC made valid again, so only
    /// the changed field is wrong.
    func withFooter(_ bytes: [UInt8], _ change: (inout FileFooter) -> Void) throws -> [UInt8] {
        let at = bytes.count - Layout.footerSize
        var footer = try FileFooter.decode(Array(bytes[at...]), at: UInt64(at))
        change(&footer)
        return Array(bytes[..<at]) + footer.encode()
    }

    /// The rule each of the three breaks for `bytes`.
    func rules(_ bytes: [UInt8], dir: String) throws -> [Rule?] {
        [randomAccessError(bytes, dir: dir)?.rule, streamingError(bytes, dir: dir)?.rule, try validatorProblem(bytes, dir: dir)?.rule]
    }

    @Test("signature length without a signature offset is V42 for all three, not signatures read at offset 0")
    func signaturesWithoutOffset() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let damaged = try withFooter(image.bytes) { $0.signaturesLength = 40 }
        #expect(try rules(damaged, dir: dir) == [.v42, .v42, .v42])
        let path = dir + "/sig.ipk"
        _ = FileManager.default.createFile(atPath: path, contents: Data(damaged))
        let report = try ImageValidator.validate(path: path)
        #expect(report.problems.map(\.rule) == [.v42])
    }

    @Test("format 1.2: a catalogue outside the tail area is V51, a catalogue whose digest does not match is V52, for all three")
    func catalogueLocation() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let bytes = try InvalidSamples.catalogueImage(in: dir)
        let outside = try withFooter(bytes) { $0.catalogueOffset = $0.indexOffset + $0.indexLength - 8 }
        #expect(try rules(outside, dir: dir) == [.v51, .v51, .v51])
        let past = try withFooter(bytes) { $0.catalogueLength = UInt32(bytes.count) }
        #expect(try rules(past, dir: dir) == [.v51, .v51, .v51])
        var digest = bytes
        InvalidSamples.replaceCatalogue(&digest, document: InvalidSamples.catalogueText.replacingOccurrences(of: "test-image", with: "test-imagf"), fixDigest: false)
        #expect(try rules(digest, dir: dir) == [.v52, .v52, .v52])
        let legacyReserved = try withFooter(try InvalidSamples.baseImage(in: dir)) { $0.catalogueLength = 1 }
        #expect(try rules(legacyReserved, dir: dir) == [.v6, .v6, .v6])
    }

    @Test("a root digest the index does not produce is V43 for all three")
    func rootDigest() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let damaged = try withFooter(image.bytes) { $0.rootDigest = Digest.sha256(Array("another image".utf8)) }
        #expect(try rules(damaged, dir: dir) == [.v43, .v43, .v43])
    }

    @Test("an index location that does not end at the footer is V42 for all three")
    func indexLocation() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let damaged = try withFooter(image.bytes) { $0.indexOffset += 16 }
        #expect(try rules(damaged, dir: dir) == [.v42, .v42, .v42])
    }

    @Test("a damaged index record is V30 for all three")
    func indexChecksum() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        var damaged = image.bytes
        damaged[image.indexOffset + Layout.envelopeSize + Layout.indexFixedSize + 9] ^= 0x01
        #expect(try rules(damaged, dir: dir) == [.v30, .v30, .v30])
    }

    @Test("a flipped payload byte after a zero chunk is the same chunk (its index entry) for all three")
    func chunkNumber() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        // mixedDisk: text, zero, zero, fill, random, text. The random chunk is entry 4 but only
        // the third record in the file, so numbering by record would say 2.
        let entries = image.reader.entries
        #expect(entries[1].kind == .zero && entries[2].kind == .zero)
        let target = 4
        #expect(entries[target].kind == .data && entries[target].codec == .stored)
        #expect(entries[..<target].filter { $0.kind != .zero }.count == 2)
        var damaged = image.bytes
        damaged[Int(entries[target].recordOffset) + Layout.chunkPrefixSize + 100] ^= 0x40

        let random = randomAccessError(damaged, dir: dir)
        let streaming = streamingError(damaged, dir: dir)
        let validated = try validatorProblem(damaged, dir: dir)
        #expect(random?.code == .chunkChecksumMismatch && streaming?.code == .chunkChecksumMismatch && validated?.code == .chunkChecksumMismatch)
        #expect(random?.chunk == target)
        #expect(streaming?.chunk == target)
        #expect(validated?.chunk == target)
        #expect(streaming?.stream == "root" && random?.stream == "root")
    }

    @Test("every broken reference target (samples/invalid/V34-reference-*) is the same rule and the same chunk for all three")
    func referenceTargets() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let names = try FileManager.default.contentsOfDirectory(atPath: InvalidSamples.invalidDirectory).filter { $0.hasPrefix("V34-reference-") }.sorted()
        #expect(names.count == 7)
        for name in names {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: InvalidSamples.invalidDirectory + "/" + name)))
            let found = [randomAccessError(bytes, dir: dir), streamingError(bytes, dir: dir), try validatorProblem(bytes, dir: dir)]
            #expect(found.map { $0?.rule } == [.v34, .v34, .v34], "\(name): \(found)")
            #expect(found.allSatisfy { $0?.code == .referenceInvalid }, "\(name)")
            #expect(Set(found.map { $0?.chunk }).count == 1 && found[0]?.chunk != nil, "\(name): chunk numbers \(found.map { $0?.chunk })")
        }
    }
}
