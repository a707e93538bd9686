import Foundation
import Testing
import TestSupport
@testable import ImagePack

/// The streaming reader's contract with its consumer: the consumer's own errors, and extraction
/// that publishes only verified files (spec §12.1).
@Suite("Streaming reader and streaming extraction")
struct StreamingReaderTests {
    struct ConsumerStopped: Error, Equatable {
        let atOffset: UInt64
    }

    @Test("an error the handler throws comes out unchanged, not as an ImagePackError")
    func handlerErrorPassesThrough() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let reader = try StreamingReader(path: image.reader.path, options: ReadOptions(threads: 2))
        do {
            try reader.read { (event) throws(ConsumerStopped) in
                if case .data(_, let offset, _) = event, offset > 0 { throw ConsumerStopped(atOffset: offset) }
            }
            Issue.record("the read did not stop")
        } catch let error as ConsumerStopped {
            #expect(error.atOffset > 0)
        }
    }

    @Test("a handler writing with FileHandle (untyped throws) compiles and its data arrives")
    func untypedHandler() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let outPath = dir + "/out.bin"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        var written = 0
        try StreamingReader(path: image.reader.path).read { event in
            if case .data(let stream, _, let bytes) = event, stream == 1 {
                try handle.write(contentsOf: Data(bytes))
                written += bytes.count
            }
        }
        try handle.close()
        #expect(written == 70_000)
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: outPath)), Data(textBytes(70_000, seed: 22)))
    }

    @Test("streaming extraction publishes every disk once verified, with the right content")
    func extractPublishes() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let reader = try StreamingReader(path: image.reader.path)
        let result = try reader.extract { streams in
            Dictionary(uniqueKeysWithValues: streams.indices.map { ($0, dir + "/" + streams[$0].name + ".raw") })
        }
        #expect(result.summary.rootDigest == image.reader.rootDigest)
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: dir + "/root.raw")), Data(mixedDisk(chunkSize: 64 << 10, seed: 21)))
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: dir + "/data.raw")), Data(textBytes(70_000, seed: 22)))
    }

    @Test("streaming extraction of a damaged image publishes nothing, even disks written before the damage")
    func extractPublishesNothingOnFailure() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        var damaged = image.bytes
        // The footer's root digest: every chunk of both disks arrives intact, the end does not verify.
        damaged[image.footerOffset + 45] ^= 0x01
        let path = dir + "/damaged.ipk"
        _ = FileManager.default.createFile(atPath: path, contents: Data(damaged))
        let out = dir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        #expect(throws: ImagePackError(.footerChecksumMismatch, "")) {
            try StreamingReader(path: path).extract { streams in
                Dictionary(uniqueKeysWithValues: streams.indices.map { ($0, out + "/" + streams[$0].name + ".raw") })
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
    }

    @Test("streaming extraction refuses an existing destination before writing anything")
    func extractRefusesExisting() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let out = dir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: out + "/data.raw", contents: Data([1, 2, 3]))
        #expect(throws: ImagePackError(.destinationExists, "")) {
            try StreamingReader(path: image.reader.path).extract { streams in
                Dictionary(uniqueKeysWithValues: streams.indices.map { ($0, out + "/" + streams[$0].name + ".raw") })
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out) == ["data.raw"])
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: out + "/data.raw")), Data([1, 2, 3]))
    }
}

@Suite("ImagePackError context helpers")
struct ImagePackErrorContextTests {
    @Test("enriched fills only what is missing; the rule compares with its name and encodes as it")
    func enrichedFillsOnlyNil() throws {
        let bare = ImagePackError(.chunkChecksumMismatch, "damaged", rule: .v26, offset: 100)
        let filled = bare.enriched(chunk: 4, stream: "root")
        #expect(filled.chunk == 4 && filled.stream == "root" && filled.offset == 100)
        let kept = filled.enriched(chunk: 9, stream: "data")
        #expect(kept.chunk == 4 && kept.stream == "root")
        #expect(kept.rule == "V26")
        let json = try JSONEncoder().encode(kept)
        #expect(String(decoding: json, as: UTF8.self).contains("\"rule\":\"V26\""))
        #expect(try JSONDecoder().decode(ImagePackError.self, from: json).rule == .v26)
    }
}

@Suite("Streaming chunk numbers without an index")
struct StreamingChunkNumberTests {
    @Test("a damaged chunk in an image cut before its index keeps its offset but claims no chunk number")
    func noIndexNoNumber() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let entry = image.reader.entries[4]
        var damaged = Array(image.bytes[..<image.indexOffset])
        let at = Int(entry.recordOffset) + Layout.chunkPrefixSize + 100
        damaged[at] ^= 0x40
        let error = try #require(streamingError(damaged, dir: dir))
        #expect(error.code == .chunkChecksumMismatch)
        #expect(error.offset == entry.recordOffset + UInt64(Layout.chunkPrefixSize))
        #expect(error.chunk == nil)
    }
}
