import Foundation
import Testing
import TestSupport
import ImagePack

extension ReadmeExampleTests {
    /// Mirrors README.md's streaming example line for line ("-" and the output made absolute paths:
    /// the test reads the image from a file, and the working directory is process-wide).
    @Test("streams an image in one pass into a raw file of its first disk")
    func streamingExample() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        // Disk 0 has zero chunks between data chunks and, padded to 8 whole chunks, two at its end (the
        // README's seek over zeros and its final truncate: nothing is written for the last 128 KiB);
        // disk 1 is there so that the example must leave other streams out.
        let chunk = 64 << 10
        let mixed = mixedDisk(chunkSize: chunk, seed: 3)
        let disk = mixed + [UInt8](repeating: 0, count: 8 * chunk - mixed.count)
        let other = textBytes(chunk + 100, seed: 4)
        try Data(disk).write(to: URL(fileURLWithPath: dir + "/root.raw"))
        try Data(other).write(to: URL(fileURLWithPath: dir + "/data.raw"))
        let state = SystemState(metadata: testMetadata("web-1"), streams: [
            StreamSpec(name: "root", source: try FileSource(path: dir + "/root.raw")),
            StreamSpec(name: "data", source: try FileSource(path: dir + "/data.raw")),
        ])
        try ImageWriter.write(state, toFile: dir + "/web-1.ipk", options: .init(chunkSize: chunk))
        #expect(try ImageReader(path: dir + "/web-1.ipk").chunks(ofStream: 0).last?.kind == .zero)

        let url = URL(fileURLWithPath: dir + "/root-copy.raw")
        try Data().write(to: url)
        let out = try FileHandle(forWritingTo: url)
        let summary = try StreamingReader(path: dir + "/web-1.ipk").read { event in
            switch event {
            case .data(stream: 0, let offset, let bytes):
                try out.seek(toOffset: offset)
                try out.write(contentsOf: bytes)
            case .zero(stream: 0, let offset, let length):
                try out.seek(toOffset: offset + length)
            default:
                break
            }
        }
        try out.truncate(atOffset: summary.streams[0].logicalSize)
        try out.close()

        #expect(summary.streams.count == 2)
        try expectSameBytes(Data(contentsOf: url), Data(disk))
    }
}
