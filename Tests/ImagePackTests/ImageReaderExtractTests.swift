import Foundation
import Testing
import TestSupport
@testable import ImagePack

@Suite("Random-access extraction of several disks")
struct ImageReaderExtractTests {
    func destinations(_ reader: ImageReader, in dir: String) -> [Int: String] {
        Dictionary(uniqueKeysWithValues: reader.streams.indices.map { ($0, dir + "/" + reader.streams[$0].name + ".raw") })
    }

    @Test("every disk appears, with its content")
    func allAppear() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let out = dir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try image.reader.extract(toFiles: destinations(image.reader, in: out), options: ReadOptions(threads: 2))
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: out + "/root.raw")), Data(mixedDisk(chunkSize: 64 << 10, seed: 21)))
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: out + "/data.raw")), Data(textBytes(70_000, seed: 22)))
    }

    @Test("a damaged chunk in the last disk keeps the first, already complete, from appearing")
    func noneAppearOnFailure() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let image = try SmallImage.make(in: dir)
        let last = try #require(image.reader.entries.lastIndex { $0.kind == .data })
        #expect(image.reader.entries[last].stream == 1)
        var damaged = image.bytes
        damaged[Int(image.reader.entries[last].recordOffset) + Layout.chunkPrefixSize + 10] ^= 0x40
        let path = dir + "/damaged.ipk"
        _ = FileManager.default.createFile(atPath: path, contents: Data(damaged))
        let reader = try ImageReader(path: path)
        let out = dir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        do {
            try reader.extract(toFiles: destinations(reader, in: out), options: ReadOptions(threads: 2))
            Issue.record("extraction of a damaged image succeeded")
        } catch {
            #expect(error.code == .chunkChecksumMismatch)
            #expect(error.chunk == last)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
    }
}
