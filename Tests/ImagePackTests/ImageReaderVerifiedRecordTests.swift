import Foundation
@testable import ImagePack
import Testing

/// Decoding a chunk again from a ``VerifiedRecord``: the same bytes as a checking read, and no
/// trust in a record that changed, a proof of another chunk, or a damaged payload.
@Suite("Verified records")
struct ImageReaderVerifiedRecordTests {
    /// Three compressible chunks of 64 KiB and a short one, in an image of `codec` at `path`.
    static func makeImage(_ codec: Codec, at path: String) throws -> ImageReader {
        var options = legacyTestOptions
        options.codec = codec
        _ = try writeImage([("root", textBytes(3 * 65_536 + 1000, seed: 11))], to: path, options: options)
        return try ImageReader(path: path)
    }

    /// Chunk `i` decoded with `check` into a new array, and what the decode checked.
    static func decode(_ reader: ImageReader, _ i: Int, _ check: RecordCheck) throws -> ([UInt8], RecordCheckOutcome) {
        var bytes = [UInt8](repeating: 0, count: Int(reader.entries[i].logicalLength))
        let outcome = try bytes.withUnsafeMutableBytes { try reader.decodeChunk(i, into: $0, check: check) }
        return (bytes, outcome)
    }

    /// Writes `bytes` over the file at `offset`, in place (the reader keeps its descriptor).
    static func overwrite(_ path: String, at offset: UInt64, with bytes: [UInt8]) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data(bytes))
    }

    @Test("a chunk decoded with its proof gives the bytes of a checking read, without hashing the content", arguments: [Codec.zstd, .zlib])
    func trustedDecode(codec: Codec) throws {
        let directory = makeTemporaryDirectory()
        defer { removeItem(directory) }
        let reader = try Self.makeImage(codec, at: directory + "/image.ipk")
        let stored = reader.entries.indices.filter { reader.entries[$0].kind == .data }
        #expect(stored.count == 4)
        for i in stored {
            #expect(reader.entries[i].codec == codec)
            let entry = reader.entries[i]
            let expected = try reader.read(stream: 0, at: entry.logicalOffset, count: Int(entry.logicalLength))
            let (first, checked) = try Self.decode(reader, i, .content)
            #expect(checked == .contentChecked)
            #expect(first == expected)
            let (second, recorded) = try Self.decode(reader, i, .contentAndRecord)
            guard case .recorded(let proof) = recorded else {
                Issue.record("chunk \(i): no proof recorded: \(recorded)")
                continue
            }
            #expect(proof.chunk == i && proof.image == reader.rootDigest)
            #expect(second == expected)
            let (third, trusted) = try Self.decode(reader, i, .trusting(proof))
            #expect(trusted == .trusted)
            #expect(third == expected)
        }
    }

    @Test("a proof of another chunk is not trusted: the content is checked and a proof of its own recorded")
    func otherChunksProof() throws {
        let directory = makeTemporaryDirectory()
        defer { removeItem(directory) }
        let reader = try Self.makeImage(.zstd, at: directory + "/image.ipk")
        guard case .recorded(let proofOf0) = try Self.decode(reader, 0, .contentAndRecord).1 else {
            Issue.record("no proof for chunk 0")
            return
        }
        let (bytes, outcome) = try Self.decode(reader, 1, .trusting(proofOf0))
        guard case .recorded(let proofOf1) = outcome else {
            Issue.record("chunk 1 decoded with chunk 0's proof: \(outcome)")
            return
        }
        #expect(proofOf1.chunk == 1 && proofOf1.recordDigest != proofOf0.recordDigest)
        #expect(bytes == (try reader.read(stream: 0, at: reader.entries[1].logicalOffset, count: Int(reader.entries[1].logicalLength))))
    }

    @Test("stored chunks, fill chunks and zero chunks get no proof: nothing would be spared")
    func kindsWithoutProof() throws {
        let directory = makeTemporaryDirectory()
        defer { removeItem(directory) }
        let path = directory + "/mixed.ipk"
        _ = try writeImage([("root", mixedDisk(chunkSize: 65_536, seed: 5))], to: path)
        let reader = try ImageReader(path: path)
        for i in reader.entries.indices where !(reader.entries[i].kind == .data && reader.entries[i].codec == .zstd) {
            let entry = reader.entries[i]
            let (bytes, outcome) = try Self.decode(reader, i, .contentAndRecord)
            #expect(outcome == .contentChecked, "chunk \(i), \(entry.kind), \(entry.codec)")
            #expect(bytes == (try reader.read(stream: 0, at: entry.logicalOffset, count: Int(entry.logicalLength))))
        }
    }

    @Test("a payload changed on disk after its proof was made is checked again and reported as every read reports it", arguments: [0, 1, 2])
    func changedPayload(place: Int) throws {
        let directory = makeTemporaryDirectory()
        defer { removeItem(directory) }
        let path = directory + "/image.ipk"
        let reader = try Self.makeImage(.zstd, at: path)
        let i = 1
        let entry = reader.entries[i]
        guard case .recorded(let proof) = try Self.decode(reader, i, .contentAndRecord).1 else {
            Issue.record("no proof recorded")
            return
        }
        // The payload's first byte (the frame's magic), one in its middle, its last.
        let payloadStart = entry.recordOffset + UInt64(Layout.chunkPrefixSize)
        let at = payloadStart + [0, UInt64(entry.payloadLength / 2), UInt64(entry.payloadLength - 1)][place]
        let original = try reader.file.read(at: at, count: 1)
        try Self.overwrite(path, at: at, with: [original[0] ^ 0x5A])
        var checking: ImagePackError?
        do { _ = try reader.read(stream: 0, at: entry.logicalOffset, count: Int(entry.logicalLength)) } catch { checking = error }
        #expect(checking?.code == .chunkChecksumMismatch)
        for check in [RecordCheck.trusting(proof), .contentAndRecord, .content] {
            do {
                let (_, outcome) = try Self.decode(reader, i, check)
                Issue.record("the damaged chunk decoded (\(outcome)) with \(check)")
            } catch let error as ImagePackError {
                // The CRC computed after the failure names it exactly as the checking read does.
                #expect(error.code == .chunkChecksumMismatch, "\(error)")
                #expect(error.rule == checking?.rule && error.offset == checking?.offset && error.field == checking?.field)
                #expect(error.chunk == i && error.rule == .v26, "\(error)")
            }
        }
        // Put back, the bytes are those the proof was made of again.
        try Self.overwrite(path, at: at, with: original)
        #expect(try Self.decode(reader, i, .trusting(proof)).1 == .trusted)
    }

    @Test("a changed payload whose CRC was made to match fails as it fails a checking read, with the proof or without")
    func payloadWithMatchingCRC() throws {
        let directory = makeTemporaryDirectory()
        defer { removeItem(directory) }
        let path = directory + "/image.ipk"
        let reader = try Self.makeImage(.zstd, at: path)
        let i = 2
        let entry = reader.entries[i]
        guard case .recorded(let proof) = try Self.decode(reader, i, .contentAndRecord).1 else {
            Issue.record("no proof recorded")
            return
        }
        var record = try reader.file.read(at: entry.recordOffset, count: Layout.chunkPrefixSize + Int(entry.payloadLength))
        record[Layout.chunkPrefixSize + Int(entry.payloadLength) / 2] ^= 0x01
        // payloadCRC at body offset 24, headerCRC (envelope and body bytes 0-63) at body offset 64.
        let body = Layout.envelopeSize
        let payloadCRC = record[Layout.chunkPrefixSize...].withUnsafeBytes { CRC32C.checksum($0) }
        withUnsafeBytes(of: payloadCRC.littleEndian) { record.replaceSubrange(body + 24..<body + 28, with: $0) }
        let headerCRC = record[0..<body + 64].withUnsafeBytes { CRC32C.checksum($0) }
        withUnsafeBytes(of: headerCRC.littleEndian) { record.replaceSubrange(body + 64..<body + 68, with: $0) }
        try Self.overwrite(path, at: entry.recordOffset, with: record)
        var checking: ImagePackError?
        do { _ = try reader.read(stream: 0, at: entry.logicalOffset, count: Int(entry.logicalLength)) } catch { checking = error }
        // The frame no longer decodes (V27) or decodes to other content (V28).
        let expected = try #require(checking)
        #expect([Rule.v27, .v28].contains(try #require(expected.rule)), "\(expected)")
        for check in [RecordCheck.trusting(proof), .contentAndRecord, .content] {
            do {
                let (_, outcome) = try Self.decode(reader, i, check)
                Issue.record("the changed chunk decoded (\(outcome)) with \(check)")
            } catch let error as ImagePackError {
                #expect(error.code == expected.code && error.rule == expected.rule && error.offset == expected.offset && error.chunk == i, "\(error)")
            }
        }
    }
}
