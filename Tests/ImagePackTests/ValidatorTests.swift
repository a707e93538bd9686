import Foundation
import Testing
@testable import ImagePack

/// Writes `bytes` to a fresh file in `dir` and validates it.
func validate(_ bytes: [UInt8], dir: String, options: ValidationOptions = .init(read: ReadOptions(threads: 2))) throws -> ValidationReport {
    let path = dir + "/v-\(UUID().uuidString).ipk"
    defer { removeItem(path) }
    try #require(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)")
    return try ImageValidator.validate(path: path, options: options)
}

func smallSample() throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: InvalidSamples.validDirectory + "/small.ipk")))
}

@Suite("The validator reports every problem and keeps going")
struct ValidatorTests {
    @Test("a valid image with several streams is valid, with its root digest")
    func valid() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/ok.ipk"
        let summary = try writeImage([("root", mixedDisk(chunkSize: 64 << 10, seed: 3)), ("data", textBytes(70_000, seed: 4))], to: path)
        let report = try ImageValidator.validate(path: path)
        #expect(report.isValid, "\(report)")
        #expect(report.rootDigest == summary.rootDigest)
        #expect(report.usedIndex)
        #expect(report.checkedChunks == summary.chunkCount)
    }

    @Test("a damaged metadata CRC and two damaged chunks give three problems, each with its rule")
    func severalProblems() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        var model = try ImageModel(bytes: try smallSample(), path: InvalidSamples.validDirectory + "/small.ipk")
        model.patchMetaRecord = { $0[$0.count - 2] ^= 1 }  // the CRC itself: the JSON stays valid
        model.records[0].patch = { $0[Layout.chunkPrefixSize + 3] ^= 1 }
        let last = model.records.count - 1
        model.records[last].patch = { $0[Layout.chunkPrefixSize + 1] ^= 1 }
        let report = try validate(model.assemble(), dir: dir)
        #expect(report.problems.map(\.code) == [.metadataChecksumMismatch, .chunkChecksumMismatch, .chunkChecksumMismatch], "\(report)")
        #expect(report.problems.map(\.rule) == ["V11", "V26", "V26"])
        #expect(report.problems[1].chunk == 0 && report.problems[1].stream == "disk")
        #expect(report.problems[2].stream == "nvram")
        #expect(report.checkedChunks == 5, "every chunk is still checked")
        #expect(report.usedIndex)
    }

    @Test("an unusable footer: the index is found by walking, and every chunk is still checked")
    func footerDamaged() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        var bytes = try smallSample()
        bytes[bytes.count - 50] ^= 1
        bytes[Int(InvalidSamples.footerIndexOffset(try smallSample())) - 20] ^= 1  // the last chunk's payload
        let report = try validate(bytes, dir: dir)
        #expect(report.problems.map(\.rule) == ["V41", "V26"], "\(report)")
        #expect(report.usedIndex, "the INDX record was found by walking the records")
        #expect(report.checkedChunks == 5)
    }

    @Test("an unusable index: the records are walked from offset 64 and each chunk is checked on its own")
    func indexDamaged() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        var bytes = try smallSample()
        let indexAt = InvalidSamples.footerIndexOffset(bytes)
        bytes[indexAt + 200] ^= 1
        var model = try ImageModel(bytes: try smallSample(), path: InvalidSamples.validDirectory + "/small.ipk")
        model.records[1].patch = { $0[Layout.chunkPrefixSize] ^= 1 }
        var damaged = model.assemble()
        damaged[indexAt + 200] ^= 1
        let report = try validate(damaged, dir: dir)
        #expect(report.problems.map(\.rule) == ["V30", "V26"], "\(report)")
        #expect(!report.usedIndex)
        #expect(report.checkedChunks == 4, "the four chunk records (the zero chunk is known only to the index)")
        #expect(report.rootDigest == nil)
    }

    @Test("the problem list stops at the cap and says so")
    func cap() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        var model = try ImageModel(bytes: try smallSample(), path: InvalidSamples.validDirectory + "/small.ipk")
        for i in model.records.indices { model.records[i].patch = { $0[Layout.chunkPrefixSize] ^= 1 } }
        let report = try validate(model.assemble(), dir: dir, options: ValidationOptions(read: ReadOptions(threads: 1), maxProblems: 2))
        #expect(report.problems.count == 2)
        #expect(report.truncatedProblemList)
        #expect(!report.isValid)
    }

    @Test("the report round-trips through JSON with codes, rules and offsets")
    func json() throws {
        let report = try ImageValidator.validate(path: InvalidSamples.invalidDirectory + "/V26-payload-crc.ipk")
        let data = report.jsonData()
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(object["isValid"] as? Bool == false)
        let problems = object["problems"] as! [[String: Any]]
        #expect(problems.first?["rule"] as? String == "V26")
        #expect(problems.first?["code"] as? String == "chunkChecksumMismatch")
        #expect(problems.first?["offset"] as? Int != nil)
        let decoded = try JSONDecoder().decode(ValidationReport.self, from: data)
        #expect(decoded.problems == report.problems)
        #expect(decoded.problems.first?.offset == report.problems.first?.offset)
    }

    @Test("a pipe or a missing file is an error, not a report")
    func unreadable() throws {
        #expect(throws: ImagePackError.self) { try ImageValidator.validate(path: "/nonexistent/x.ipk") }
    }

    @Test("tight limits refuse what the defaults allow")
    func limits() throws {
        var limits = ImageLimits()
        limits.maxChunks = 3
        let report = try ImageValidator.validate(path: InvalidSamples.validDirectory + "/small.ipk", options: ValidationOptions(read: ReadOptions(limits: limits)))
        #expect(report.problems.first?.rule == "V30", "\(report)")
        #expect(report.problems.first?.code == .limitExceeded)
    }
}
