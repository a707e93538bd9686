import Foundation
import Testing
@testable import ImagePack

/// Every single-byte change of the structure (and a stride of the data area) of a tiny
/// two-stream image, and every truncation, is caught by the validator and by both readers, each
/// with a rule-numbered error; nothing crashes and nothing takes long.
@Suite("Corruption sweep over a tiny two-stream image")
struct CorruptionSweepTests {
    struct Regions {
        var structure: [Int]
        var data: [Int]
    }

    static func regions(_ bytes: [UInt8]) -> Regions {
        let indexAt = InvalidSamples.footerIndexOffset(bytes)
        let reader = try! ImageReader(path: InvalidSamples.validDirectory + "/small.ipk")
        let dataStart = Int(reader.entries.filter { $0.kind != .zero }.map(\.recordOffset).min()!)
        // Header, META, STRM; index, footer. The data area: a prime stride, plus every chunk header byte.
        var structure = Array(0..<dataStart) + Array(indexAt..<bytes.count)
        var data = Array(stride(from: dataStart, to: indexAt, by: 13))
        for e in reader.entries where e.kind != .zero {
            structure += Array(Int(e.recordOffset)..<Int(e.recordOffset) + Layout.chunkPrefixSize)
            data.removeAll { $0 >= Int(e.recordOffset) && $0 < Int(e.recordOffset) + Layout.chunkPrefixSize }
        }
        return Regions(structure: structure, data: data)
    }

    /// Checks one damaged file with all three; returns a description of what went wrong, if anything.
    static func check(_ bytes: [UInt8], path: String, what: String) -> [String] {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        var failures: [String] = []
        do {
            let report = try ImageValidator.validate(path: path, options: ValidationOptions(read: ReadOptions(threads: 1)))
            if report.isValid { failures.append("validator accepted \(what)") }
            if report.problems.contains(where: { $0.rule == nil }) { failures.append("validator: a problem without a rule for \(what): \(report.problems)") }
        } catch {
            failures.append("validator threw for \(what): \(error)")
        }
        if let e = randomAccessFailure(path: path) {
            if e.rule == nil { failures.append("random access: no rule for \(what): \(e)") }
        } else {
            failures.append("random access accepted \(what)")
        }
        if let e = streamingFailure(path: path) {
            if e.rule == nil { failures.append("streaming: no rule for \(what): \(e)") }
        } else {
            failures.append("streaming accepted \(what)")
        }
        return failures
    }

    @Test("every byte of the structure changed, and a stride of the data area, is detected with a rule")
    func everyByte() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let bytes = try smallSample()
        let regions = Self.regions(bytes)
        var failures: [String] = []
        for position in regions.structure + regions.data {
            var damaged = bytes
            damaged[position] ^= 0x5A
            failures += Self.check(damaged, path: dir + "/d.ipk", what: "byte \(position) changed")
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(10))")
        #expect(regions.structure.count + regions.data.count > 1000)
    }

    @Test("truncation at every length of the structure, and every 7th in the data area, is detected with a rule")
    func everyLength() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let bytes = try smallSample()
        let regions = Self.regions(bytes)
        let dataStart = regions.data.min()! - 1
        let indexAt = InvalidSamples.footerIndexOffset(bytes)
        let lengths = Array(0...dataStart + 100) + Array(stride(from: dataStart + 101, to: indexAt - 100, by: 7)) + Array(indexAt - 100..<bytes.count)
        var failures: [String] = []
        for length in lengths {
            failures += Self.check(Array(bytes[0..<length]), path: dir + "/t.ipk", what: "cut at \(length)")
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(10))")
    }
}
