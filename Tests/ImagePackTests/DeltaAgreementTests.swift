import Foundation
import Testing
import TestSupport
@testable import ImagePack

/// The refusals of delta images that need more than one file to show (the samples/invalid ones
/// carry their parents in the manifest; a chain over the depth limit would need 65 files there):
/// the random-access reader, the streaming reader and the validator must agree on each.
@Suite("Delta images: the three readers agree on chain refusals")
struct DeltaAgreementTests {
    /// The rule and code each reader reports for `path` read with `parents` under `limits`.
    func outcomes(_ path: String, parents: [ImageReader], limits: ImageLimits) throws -> [String] {
        let options = ReadOptions(limits: limits, threads: 2, parents: parents)
        var random: ImagePackError?
        do {
            let reader = try ImageReader(path: path, limits: limits, parents: parents)
            random = try reader.verify(options).failures.first
        } catch {
            random = error
        }
        let streaming = #expect(throws: ImagePackError.self) { _ = try StreamingReader(path: path, options: options).read { _ in } }
        let report = try ImageValidator.validate(path: path, options: ValidationOptions(read: options))
        let validator = report.problems.first { $0.rule == .v49 || $0.rule == .v50 }
        return [random, streaming, validator].map { $0.map { "\($0.rule?.name ?? "-")/\($0.code)" } ?? "accepted" }
    }

    @Test("a chain one image deeper than ImageLimits.maxParentDepth: V49 from all three; at the limit, all three read it")
    func overDepth() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        var disk = textBytes((64 << 10) * 2, seed: 21)
        var readers: [ImageReader] = []
        var written: [[UInt8]] = []
        for g in 0..<4 {
            written.append(disk)
            var options = WriterOptions(chunkSize: 64 << 10, threads: 2)
            options.parent = readers.last
            _ = try writeImage([("root", disk)], to: dir + "/g\(g).ipk", options: options)
            readers.append(try ImageReader(path: dir + "/g\(g).ipk", parents: readers))
            disk = evolvedDisk(disk, generation: g + 1, seed: 21)
        }
        // g3 stands on g2, g1 and g0: three parents.
        let pool = Array(readers[0..<3].reversed())
        var limits = ImageLimits()
        limits.maxParentDepth = 2
        #expect(try outcomes(dir + "/g3.ipk", parents: pool, limits: limits) == Array(repeating: "V49/parentMismatch", count: 3))
        limits.maxParentDepth = 3
        #expect(try ImageReader(path: dir + "/g3.ipk", limits: limits, parents: pool).verify(ReadOptions(limits: limits, threads: 2)).isValid)
        try expectSameBytes(streamAll(dir + "/g3.ipk", parents: pool).1[0], written[3])
        #expect(try ImageValidator.validate(path: dir + "/g3.ipk", options: ValidationOptions(read: ReadOptions(limits: limits, threads: 2, parents: pool))).isValid)
    }

    @Test("a missing link in the middle of the chain: V49 from all three, naming the missing digest")
    func missingMiddle() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        var disk = textBytes((64 << 10) * 2, seed: 22)
        var readers: [ImageReader] = []
        for g in 0..<3 {
            var options = WriterOptions(chunkSize: 64 << 10, threads: 2)
            options.parent = readers.last
            _ = try writeImage([("root", disk)], to: dir + "/g\(g).ipk", options: options)
            readers.append(try ImageReader(path: dir + "/g\(g).ipk", parents: readers))
            disk = evolvedDisk(disk, generation: g + 1, seed: 22)
        }
        // g2 on g1 on g0, supplied with g1 only.
        let pool = [try ImageReader(path: dir + "/g1.ipk")]
        #expect(try outcomes(dir + "/g2.ipk", parents: pool, limits: ImageLimits()) == Array(repeating: "V49/parentRequired", count: 3))
        let error = #expect(throws: ImagePackError.self) { try ImageReader(path: dir + "/g2.ipk", parents: pool) }
        #expect(error?.message.contains(readers[0].rootDigest.description) == true)
    }
}
