import Foundation
import Testing
@testable import ImagePack

/// A small image and the positions of its regions, for damaging it on purpose.
struct SmallImage {
    let bytes: [UInt8]
    let reader: ImageReader
    var metadataOffset: Int { Layout.headerSize }
    var firstRecord: Int { Int(reader.entries.first { $0.kind == .data }!.recordOffset) }
    var indexOffset: Int { Int(reader.footer.indexOffset) }
    var footerOffset: Int { bytes.count - Layout.footerSize }

    static func make(in dir: String) throws -> SmallImage {
        let path = dir + "/small.ipk"
        _ = try writeImage([("root", mixedDisk(chunkSize: 64 << 10, seed: 21)), ("data", textBytes(70_000, seed: 22))], to: path)
        return SmallImage(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))), reader: try ImageReader(path: path))
    }
}

/// Opens `bytes` with the random-access reader and verifies every chunk; returns the first error.
func randomAccessError(_ bytes: [UInt8], dir: String) -> ImagePackError? {
    let path = dir + "/damaged-\(UUID().uuidString).ipk"
    defer { removeItem(path) }
    #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)")
    do {
        let reader = try ImageReader(path: path)
        let report = try reader.verify(ReadOptions(threads: 2))
        return report.failures.first
    } catch {
        return error
    }
}

/// Reads `bytes` with the streaming reader; returns the error.
func streamingError(_ bytes: [UInt8], dir: String) -> ImagePackError? {
    let path = dir + "/damaged-\(UUID().uuidString).ipk"
    defer { removeItem(path) }
    #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)")
    do {
        _ = try StreamingReader(path: path, options: ReadOptions(threads: 2)).read { _ in }
        return nil
    } catch let error as ImagePackError {
        return error
    } catch {
        Issue.record("not an ImagePackError: \(error)")
        return nil
    }
}

@Suite("Damaged images are refused with the specific error")
struct CorruptionTests {
    /// Region name, byte position, expected code.
    static func cases(_ image: SmallImage) -> [(String, Int, ImagePackError.Code)] {
        [
            ("header magic", 2, .badMagic),
            ("header features", 17, .headerChecksumMismatch),
            ("header CRC", 61, .headerChecksumMismatch),
            ("metadata JSON", image.metadataOffset + 30, .metadataChecksumMismatch),
            ("chunk header", image.firstRecord + 30, .chunkHeaderChecksumMismatch),
            ("chunk digest", image.firstRecord + 60, .chunkHeaderChecksumMismatch),
            ("chunk payload", image.firstRecord + Layout.chunkPrefixSize + 100, .chunkChecksumMismatch),
            ("index entry", image.indexOffset + Layout.envelopeSize + Layout.indexFixedSize + 5, .indexChecksumMismatch),
            ("index metadata digest", image.indexOffset + 30, .indexChecksumMismatch),
            ("footer root digest", image.footerOffset + 45, .footerChecksumMismatch),
            ("footer CRC", image.footerOffset + 85, .footerChecksumMismatch),
        ]
    }

    @Test("a flipped byte in each region is refused by the random-access reader")
    func randomAccess() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        for (region, position, code) in Self.cases(image) {
            var damaged = image.bytes
            damaged[position] ^= 0x40
            let error = randomAccessError(damaged, dir: dir)
            #expect(error?.code == code, "\(region) at \(position): got \(String(describing: error))")
            #expect(error?.rule != nil, "\(region): the error names a rule")
        }
    }

    @Test("a flipped byte in each region is refused by the streaming reader")
    func streaming() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        for (region, position, code) in Self.cases(image) {
            var damaged = image.bytes
            damaged[position] ^= 0x40
            let error = streamingError(damaged, dir: dir)
            #expect(error?.code == code, "\(region) at \(position): got \(String(describing: error))")
        }
    }

    @Test("a payload rewritten with a matching CRC is caught by the SHA-256 or the decoder")
    func secondLevel() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let entry = image.reader.entries.first { $0.kind == .data && $0.codec == .zstd }!
        var damaged = image.bytes
        let payloadStart = Int(entry.recordOffset) + Layout.chunkPrefixSize
        damaged[payloadStart + Int(entry.payloadLength) / 2] ^= 0x01
        // Recompute the payload CRC and then the chunk header CRC, as a forger would.
        let crc = CRC32C.checksum(Array(damaged[payloadStart..<payloadStart + Int(entry.payloadLength)]))
        let crcAt = Int(entry.recordOffset) + Layout.envelopeSize + 24
        for k in 0..<4 { damaged[crcAt + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        let headerCRC = CRC32C.checksum(Array(damaged[Int(entry.recordOffset)..<payloadStart - 4]))
        for k in 0..<4 { damaged[payloadStart - 4 + k] = UInt8(truncatingIfNeeded: headerCRC >> (8 * UInt32(k))) }
        let codes: Set<String> = ["chunkHashMismatch", "decompressionFailed", "chunkSizeMismatch"]
        let a = randomAccessError(damaged, dir: dir)
        let b = streamingError(damaged, dir: dir)
        #expect(a.map { codes.contains($0.code.name) } == true, "\(String(describing: a))")
        #expect(b.map { codes.contains($0.code.name) } == true, "\(String(describing: b))")
    }

    @Test("truncation at every length of the structure and a stride of the data is refused")
    func truncation() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        var lengths = Array(0..<600) + Array(Swift.max(600, image.indexOffset - 200)..<image.bytes.count)
        lengths += Array(stride(from: 600, to: image.indexOffset - 200, by: 997))
        for length in lengths {
            let cut = Array(image.bytes[0..<length])
            let a = randomAccessError(cut, dir: dir)
            #expect(a?.rule != nil, "random access accepted, or refused without a rule, a file cut at \(length): \(String(describing: a))")
            if length % 7 == 0 || length > image.indexOffset {
                let b = streamingError(cut, dir: dir)
                #expect(b?.rule != nil, "streaming accepted, or refused without a rule, a file cut at \(length): \(String(describing: b))")
            }
        }
    }

    @Test("bytes appended after the footer are refused")
    func trailing() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let extended = image.bytes + [0, 1, 2]
        // The last 96 bytes are no longer a footer: V40, whose message names both causes (cut or appended).
        #expect(randomAccessError(extended, dir: dir)?.rule == "V40")
        #expect(streamingError(extended, dir: dir)?.rule == "V40")
    }
}
