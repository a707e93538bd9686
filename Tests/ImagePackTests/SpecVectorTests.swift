import Foundation
import Testing
import TestSupport
@testable import ImagePack

/// Checks spec/FORMAT.md's Appendix A against the code and the committed sample, so the known
/// answers an outside implementer relies on cannot drift from what the library does.
@Suite("spec/FORMAT.md Appendix A: test vectors")
struct SpecVectorTests {
    static let spec: String = {
        let path = InvalidSamples.repository + "/spec/FORMAT.md"
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        guard let start = text.range(of: "## Appendix A.") else { return "" }
        return String(text[start.lowerBound...])
    }()

    static let small: [UInt8] = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: InvalidSamples.validDirectory + "/small.ipk")))) ?? []

    /// The `name = value` lines of the appendix's code blocks.
    static var knownAnswers: [String: String] {
        var answers: [String: String] = [:]
        for line in spec.split(separator: "\n") {
            let parts = line.components(separatedBy: " = ")
            guard parts.count == 2, !line.hasPrefix("|") else { continue }
            answers[parts[0]] = parts[1]
        }
        return answers
    }

    static func u64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        bytes[offset..<offset + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    @Test("the appendix is there and has what the tests read")
    func appendixPresent() {
        #expect(!Self.spec.isEmpty)
        #expect(Self.knownAnswers.count >= 9)
        #expect(Self.small.count == 6069)
    }

    @Test("CRC-32C and zero-chunk digests")
    func checksums() throws {
        let answers = Self.knownAnswers
        let inputs: [String: [UInt8]] = [
            "crc32c(\"123456789\")": Array("123456789".utf8),
            "crc32c(32 x 0x00)": [UInt8](repeating: 0, count: 32),
            "crc32c(32 x 0xff)": [UInt8](repeating: 0xFF, count: 32),
            "crc32c(0x00 0x01 ... 0x1f)": (0..<32).map { UInt8($0) },
        ]
        for (name, bytes) in inputs {
            let expected = try #require(answers[name].flatMap { UInt32($0.dropFirst(2), radix: 16) }, "\(name) missing")
            #expect(CRC32C.checksum(bytes) == expected, "\(name)")
            #expect(CRC32C.portableChecksum(bytes) == expected, "\(name), table fallback")
        }
        for length in [4096, 65536] {
            let name = "sha256(\(length) x 0x00)"
            #expect(answers[name] == Digest.sha256([UInt8](repeating: 0, count: length)).hex, "\(name)")
            #expect(answers[name] == ZeroDigests.digest(length: UInt32(length)).hex, "\(name), the zero-chunk table")
        }
    }

    @Test("every byte of the annotated dump is small.ipk's")
    func annotatedDump() throws {
        let file = Self.small
        var checked = 0
        for line in Self.spec.split(separator: "\n") {
            // "000015a1: 05 00 00 00      chunkCount 5": offset, then hex pairs up to the annotation.
            guard line.count > 10, line[line.index(line.startIndex, offsetBy: 8)] == ":",
                let offset = Int(line.prefix(8), radix: 16)
            else { continue }
            let hex = line.dropFirst(10).prefix(47).split(separator: " ").compactMap { UInt8($0, radix: 16) }
            guard !hex.isEmpty else { continue }
            #expect(offset + hex.count <= file.count && Array(file[offset..<offset + hex.count]) == hex, "dump line at 0x\(String(offset, radix: 16))")
            checked += hex.count
        }
        // Header, META prefix and CRC, STRM, the fill record, INDX's fixed part and two entries, footer.
        #expect(checked > 600, "only \(checked) bytes of dump found")
    }

    @Test("the META document, the digests and the root digest, recomputed as §8.3 says")
    func digests() throws {
        let file = Self.small
        let answers = Self.knownAnswers
        // META at 64: envelope, schemaVersion, encoding, document, CRC.
        let metaBody = Int(Self.u64(file, at: 64 + 8))
        let document = Array(file[88..<(80 + metaBody - 4)])
        let json = Self.spec.components(separatedBy: "```json\n").dropFirst().first?.components(separatedBy: "\n```").first
        expectSameBytes(Array((json ?? "").utf8), document, "the appendix's JSON is the stored document")
        #expect(answers["metadataDigest"] == Digest.sha256(document).hex)
        // STRM right after META.
        let strmAt = 80 + metaBody
        let strmBody = Int(Self.u64(file, at: strmAt + 8))
        let streamTable = Array(file[(strmAt + 16)..<(strmAt + 16 + strmBody - 4)])
        #expect(answers["streamTableDigest"] == Digest.sha256(streamTable).hex)

        // The root, from the index bytes alone, without the library's index code.
        let footer = file.count - 96
        let indexAt = Int(Self.u64(file, at: footer))
        let body = indexAt + 16
        let count = Int(file[body]) | Int(file[body + 1]) << 8 | Int(file[body + 2]) << 16 | Int(file[body + 3]) << 24
        var input = Array("IMGPACK-ROOT-v1\0".utf8)
        input += file[(body + 8)..<(body + 104)]  // metadata, stream table and parent digests
        input += withUnsafeBytes(of: UInt64(count).littleEndian, Array.init)
        for i in 0..<count {
            let entry = body + 112 + 64 * i
            input += file[(entry + 4)..<(entry + 8)]  // stream
            input += file[(entry + 8)..<(entry + 20)]  // logicalOffset, logicalLength
            input += file[(entry + 32)..<(entry + 64)]  // contentDigest
        }
        let root = Digest.sha256(input).hex
        #expect(answers["rootDigest"] == root)
        #expect(try ImageReader(path: InvalidSamples.validDirectory + "/small.ipk").rootDigest.hex == root)
        #expect(Array(file[(footer + 40)..<(footer + 72)]) == Digest(hex: root)?.bytes)
    }
}
