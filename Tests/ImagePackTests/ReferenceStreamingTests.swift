import Foundation
import Testing
import TestSupport
@testable import ImagePack

/// Streaming reads of images with references without the content window where the consumer does
/// not need it (``ReferenceContent``): verify keeps headers only, extract re-reads its own output.
@Suite("Reference chunks: streaming reads without the content window")
struct ReferenceStreamingTests {
    /// An image with references in several streams (and fill and zero chunks), with its streams.
    func referenceImage(_ dir: String) throws -> (path: String, streams: [(String, [UInt8])]) {
        let streams = InvalidSamples.referenceStreams + [("files", ReferenceTests.duplicatedFileDisk())]
        let path = dir + "/dedup.ipk"
        let summary = try writeImage(streams, to: path)
        #expect((summary.chunksByKind[.reference] ?? 0) > 0)
        return (path, streams)
    }

    @Test("a read that does not keep content hands references over by place, holds no content, and agrees with the window")
    func byPlace() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, streams) = try referenceImage(dir)
        for references in [ReferenceContent.notNeeded, .rereadFromOutput] {
            let (summary, contents) = try streamAll(path, references: references)
            expectSameBytes(contents, streams.map(\.1), "\(references)")
            #expect(summary.rootDigest == (try ImageReader(path: path)).rootDigest)
        }
        var held: [ReferenceContent: Int] = [:]
        var sent: [ReferenceContent: Int] = [:]
        for references in [ReferenceContent.notNeeded, .keepWindow] {
            let reader = try StreamingReader(path: path, options: ReadOptions(threads: 2))
            try reader.read(references: references) { event in
                if case .reference = event { sent[references, default: 0] += 1 }
            }
            held[references] = reader.peakReferenceBytes
        }
        #expect(held[.notNeeded] == 0 && sent[.notNeeded] == 5)
        #expect((held[.keepWindow] ?? 0) > 0 && sent[.keepWindow, default: 0] == 0, "the window is what the default keeps")
    }

    @Test("extract from a stream copies references from its own output files: no content window, the same files")
    func extractRereads() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let (path, streams) = try referenceImage(dir)
        let reader = try StreamingReader(path: path, options: ReadOptions(threads: 2))
        let (_, paths) = try reader.extract { all in Dictionary(uniqueKeysWithValues: all.indices.map { ($0, dir + "/\(all[$0].name).raw") }) }
        #expect(reader.peakReferenceBytes == 0)
        for (i, stream) in streams.enumerated() {
            try expectSameBytes(Array(Data(contentsOf: URL(fileURLWithPath: paths[i]!))), stream.1, "\(stream.0)")
        }
        // A stream left out may hold a reference's target: then the window keeps the content.
        let partial = try StreamingReader(path: path, options: ReadOptions(threads: 2))
        let last = streams.count - 1
        let (_, one) = try partial.extract { _ in [last: dir + "/only.raw"] }
        try expectSameBytes(Array(Data(contentsOf: URL(fileURLWithPath: one[last]!))), streams[last].1)
        #expect(partial.peakReferenceBytes > 0)
    }

    @Test("every invalid reference sample fails with the same rule and chunk whether or not the reader keeps content")
    func invalidAgreement() throws {
        let samples = try FileManager.default.contentsOfDirectory(atPath: InvalidSamples.invalidDirectory).filter { $0.contains("reference") }.sorted()
        #expect(samples.count >= 7)
        for name in samples {
            let path = InvalidSamples.invalidDirectory + "/" + name
            let window = streamingFailure(path: path)
            #expect(window != nil, "\(name)")
            for references in [ReferenceContent.notNeeded, .rereadFromOutput] {
                let failure = #expect(throws: ImagePackError.self, "\(name)") {
                    _ = try StreamingReader(path: path, options: ReadOptions(threads: 2)).read(references: references) { _ in }
                }
                #expect(failure?.rule == window?.rule && failure?.chunk == window?.chunk && failure?.offset == window?.offset, "\(name) \(references)")
            }
            let dir = makeTemporaryDirectory()
            defer { removeItem(dir) }
            let extracted = #expect(throws: ImagePackError.self, "\(name)") {
                try StreamingReader(path: path, options: ReadOptions(threads: 2)).extract { all in
                    Dictionary(uniqueKeysWithValues: all.indices.map { ($0, dir + "/\($0).raw") })
                }
            }
            #expect(extracted?.rule == window?.rule, "\(name)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "nothing published")
        }
    }

    @Test("content read back from an output that changed since it was written is V28, and nothing is written")
    func tamperedOutput() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let content = textBytes(5000, seed: 3)
        let file = try OutputFile(path: dir + "/out.raw", overwrite: false)
        defer { file.abandon() }
        try content.withUnsafeBytes { try file.writeSparse($0, at: 0) }
        let reference = ReferencedContent(
            stream: 0, offset: 8192, length: 5000, sourceStream: 0, sourceOffset: 0,
            contentDigest: Digest.sha256(content), recordOffset: 777)
        var scratch: [UInt8] = []
        try StreamingReader.copy(reference, from: file, to: file, scratch: &scratch)
        var back = [UInt8](repeating: 0, count: 5000)
        #expect(try back.withUnsafeMutableBytes { try file.read(into: $0, at: 8192) } == 5000)
        expectSameBytes(back, content)
        // Someone writes into the file meanwhile.
        try [UInt8]([0xFF]).withUnsafeBytes { try file.write($0, at: 100) }
        let moved = ReferencedContent(
            stream: 0, offset: 20000, length: 5000, sourceStream: 0, sourceOffset: 0,
            contentDigest: Digest.sha256(content), recordOffset: 777)
        let failure = #expect(throws: ImagePackError.self) { try StreamingReader.copy(moved, from: file, to: file, scratch: &scratch) }
        #expect(failure?.rule == .v28 && failure?.offset == 777 + UInt64(Layout.chunkPrefixSize) && failure?.field == "contentDigest")
        #expect(try back.withUnsafeMutableBytes { try file.read(into: $0, at: 20000) } == 0, "nothing written past the end")
        // A target whose trailing zeros were left as a hole reads as zeros.
        let zeros = [UInt8](repeating: 0, count: 4096)
        let hole = ReferencedContent(
            stream: 0, offset: 40000, length: 4096, sourceStream: 0, sourceOffset: 30000,
            contentDigest: Digest.sha256(zeros), recordOffset: 777)
        try StreamingReader.copy(hole, from: file, to: file, scratch: &scratch)
    }
}
