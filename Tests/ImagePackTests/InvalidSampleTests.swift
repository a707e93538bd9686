import Foundation
import Testing
import TestSupport
@testable import ImagePack

/// The first error the random-access reader reports for the file at `path` (open, then verify).
func randomAccessFailure(path: String, parents: [ImageReader] = []) -> ImagePackError? {
    do {
        let reader = try ImageReader(path: path, parents: parents)
        return try reader.verify(ReadOptions(threads: 2)).failures.first
    } catch {
        return error
    }
}

/// The error the streaming reader reports for the file at `path`.
func streamingFailure(path: String, parents: [ImageReader] = []) -> ImagePackError? {
    do {
        _ = try StreamingReader(path: path, options: ReadOptions(threads: 2, parents: parents)).read { _ in }
        return nil
    } catch {
        return error as? ImagePackError
    }
}


@Suite("samples/invalid: one broken file per rule")
struct InvalidSampleTests {
    static func manifest() throws -> [ManifestEntry] {
        let data = try Data(contentsOf: URL(fileURLWithPath: InvalidSamples.invalidDirectory + "/MANIFEST.json"))
        return try JSONDecoder().decode([ManifestEntry].self, from: data)
    }

    @Test("the generator rebuilds the committed samples byte for byte (REGENERATE_SAMPLES=1 rewrites them)")
    func generator() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let samples = try InvalidSamples.generate(in: dir)
        let valid = [
            ("small.ipk", try InvalidSamples.baseImage(in: dir)), ("small-zlib.ipk", try InvalidSamples.baseImage(codec: .zlib, in: dir)),
            ("small-delta.ipk", try InvalidSamples.deltaImage(in: dir)),
            ("small-references.ipk", try InvalidSamples.referencesImage(in: dir)),
            ("small-signed.ipk", try InvalidSamples.signedImage(in: dir)),
            ("small-catalogue.ipk", try InvalidSamples.catalogueImage(in: dir)),
        ]
        let keys = [
            ("test-publisher.pem", Array(InvalidSamples.testKey.pemRepresentation.utf8)),
            ("test-publisher.pub", Array(InvalidSamples.testKey.publicKey.pemRepresentation.utf8)),
        ]
        if ProcessInfo.processInfo.environment["REGENERATE_SAMPLES"] == "1" {
            let fm = FileManager.default
            try? fm.removeItem(atPath: InvalidSamples.invalidDirectory)
            try fm.createDirectory(atPath: InvalidSamples.invalidDirectory, withIntermediateDirectories: true)
            try fm.createDirectory(atPath: InvalidSamples.validDirectory, withIntermediateDirectories: true)
            for (entry, bytes) in samples { try Data(bytes).write(to: URL(fileURLWithPath: InvalidSamples.invalidDirectory + "/" + entry.file)) }
            try InvalidSamples.manifestJSON(samples.map(\.0)).write(to: URL(fileURLWithPath: InvalidSamples.invalidDirectory + "/MANIFEST.json"))
            for (name, bytes) in valid { try Data(bytes).write(to: URL(fileURLWithPath: InvalidSamples.validDirectory + "/" + name)) }
            try fm.createDirectory(atPath: InvalidSamples.keysDirectory, withIntermediateDirectories: true)
            for (name, bytes) in keys { try Data(bytes).write(to: URL(fileURLWithPath: InvalidSamples.keysDirectory + "/" + name)) }
        }
        #expect(Set(samples.map(\.0.file)).count == samples.count, "sample names are unique")
        let manifest = try Self.manifest()
        #expect(manifest.map(\.file) == samples.map(\.0.file), "MANIFEST.json lists the generated samples; run with REGENERATE_SAMPLES=1")
        for (entry, bytes) in samples {
            let committed = try? Data(contentsOf: URL(fileURLWithPath: InvalidSamples.invalidDirectory + "/" + entry.file))
            expectSameBytes(committed ?? Data(), bytes, "\(entry.file) differs from what the generator makes; run with REGENERATE_SAMPLES=1")
            #expect(bytes.count < 16 << 10, "\(entry.file) stays small (\(bytes.count) bytes)")
        }
        for (name, bytes) in valid {
            let committed = try? Data(contentsOf: URL(fileURLWithPath: InvalidSamples.validDirectory + "/" + name))
            expectSameBytes(committed ?? Data(), bytes, "samples/valid/\(name) is stale")
        }
        for (name, bytes) in keys {
            let committed = try? Data(contentsOf: URL(fileURLWithPath: InvalidSamples.keysDirectory + "/" + name))
            expectSameBytes(committed ?? Data(), bytes, "samples/keys/\(name) is stale")
        }
    }

    @Test("the signed sample verifies with the committed test key, and only with it")
    func signedSample() throws {
        let reader = try ImageReader(path: InvalidSamples.validDirectory + "/small-signed.ipk")
        let small = try ImageReader(path: InvalidSamples.validDirectory + "/small.ipk")
        #expect(reader.rootDigest == small.rootDigest)
        let key = try PublicKey(contentsOf: InvalidSamples.keysDirectory + "/test-publisher.pub")
        #expect(try TrustPolicy(trustedKeys: [key]).check(reader).map(\.status) == [.verifiedTrusted])
        #expect(TrustPolicy(trustedKeys: []).evaluate(reader).map(\.status) == [.unknownKey])
        #expect(try ImageValidator.validate(path: reader.path).isValid)
        #expect(streamingFailure(path: reader.path) == nil)
    }

    @Test("the valid samples are valid for all three checkers")
    func validSamples() throws {
        for name in ["small.ipk", "small-zlib.ipk"] {
            let path = InvalidSamples.validDirectory + "/" + name
            let report = try ImageValidator.validate(path: path)
            #expect(report.isValid, "\(report)")
            #expect(report.checkedChunks == 5)
            #expect(randomAccessFailure(path: path) == nil)
            #expect(streamingFailure(path: path) == nil)
        }
    }

    @Test("small-delta.ipk is a delta on small.ipk: parent and zstd-patch chunks, the full image's root digest, V49 without its parent")
    func deltaSample() throws {
        let parentPath = InvalidSamples.validDirectory + "/small.ipk"
        let path = InvalidSamples.validDirectory + "/small-delta.ipk"
        let parent = try ImageReader(path: parentPath)
        let delta = try ImageReader(path: path, parents: [parent])
        #expect(delta.parentDigest == parent.rootDigest)
        #expect(delta.entries.contains { $0.kind == .parent })
        #expect(delta.entries.contains { $0.codec == .zstdPatch })
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let full = try writeImage(InvalidSamples.deltaStreams, to: dir + "/full.ipk", options: legacyTestOptions)
        #expect(delta.rootDigest == full.rootDigest)
        for (i, stream) in InvalidSamples.deltaStreams.enumerated() {
            try expectSameBytes(delta.read(stream: i, at: 0, count: stream.1.count), stream.1)
        }
        #expect(try delta.verify(ReadOptions(threads: 2)).isValid)
        let report = try ImageValidator.validate(path: path, options: ValidationOptions(read: ReadOptions(threads: 2, parents: [parent])))
        #expect(report.isValid, "\(report)")
        #expect(try ImageValidator.validate(path: path).isValid)
        let alone = #expect(throws: ImagePackError.self) { try ImageReader(path: path).verify().failures.first.map { throw $0 } }
        #expect(alone?.rule == .v49)
    }

    @Test("every sample is refused by the validator and both readers with its rule and code, quickly")
    func everySampleIsRefused() throws {
        let manifest = try Self.manifest()
        let rules = Set(manifest.map(\.rule))
        for rule in ["V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V10", "V11", "V12", "V13", "V14", "V15", "V20", "V21", "V22", "V23", "V24", "V26", "V27", "V28", "V30", "V31", "V32", "V33", "V34", "V35", "V36", "V40", "V41", "V42", "V43", "V44", "V45", "V47", "V49", "V50", "V51", "V52", "V53", "V54", "V55"] {
            #expect(rules.contains(rule), "no sample for rule \(rule)")
        }
        for entry in manifest {
            let path = InvalidSamples.invalidDirectory + "/" + entry.file
            // A delta sample is read with the parents its entry names (opened alone: they may be deltas too).
            let parents = try (entry.parents ?? []).map { try ImageReader(path: InvalidSamples.invalidDirectory + "/" + $0) }
            var report: ValidationReport?
            report = try? ImageValidator.validate(path: path, options: ValidationOptions(read: ReadOptions(threads: 2, parents: parents)))
            let found = report?.problems.contains { $0.rule?.name == entry.rule && $0.code.name == entry.code } ?? false
            #expect(found, "validator on \(entry.file): expected \(entry.rule)/\(entry.code), got \(report.map { "\($0.problems)" } ?? "nil")")
            #expect(report?.isValid == false)
            var random: ImagePackError?
            random = randomAccessFailure(path: path, parents: parents)
            if let expected = entry.randomAccess {
                #expect(random.map { Expectation(rule: $0.rule?.name ?? "-", code: $0.code.name) } == expected, "random access on \(entry.file): \(String(describing: random))")
            } else {
                #expect(random == nil, "\(entry.file): the manifest says random access cannot see this; update it: \(String(describing: random))")
            }
            var streaming: ImagePackError?
            streaming = streamingFailure(path: path, parents: parents)
            #expect(streaming.map { Expectation(rule: $0.rule?.name ?? "-", code: $0.code.name) } == entry.streaming, "streaming on \(entry.file): \(String(describing: streaming))")
        }
    }
}
