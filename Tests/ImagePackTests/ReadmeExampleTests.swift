import Foundation
import Testing
import TestSupport
import ImagePack

@Suite("The README's library example")
struct ReadmeExampleTests {
    /// Mirrors README.md "The library in 20 lines" (its first example) line for line (paths made absolute), so the example keeps compiling and working.
    @Test("packs a raw disk, reads its boot sector, extracts it")
    func example() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        // The README uses relative names; the test uses absolute ones, since the working directory is process-wide.
        let disk = mixedDisk(chunkSize: 64 << 10, seed: 1)
        try Data(disk).write(to: URL(fileURLWithPath: dir + "/root.raw"))

        let state = SystemState(
            metadata: ImageMetadata(name: "web-1", os: .init(family: "linux", distribution: "debian", version: "12"),
                                    architecture: .x86_64, bootMode: .uefi, vcpuCount: 4, memoryMiB: 8192,
                                    createdAt: "2026-11-27T10:00:00Z"),
            streams: [StreamSpec(name: "root", source: try FileSource(path: dir + "/root.raw"))])
        let written = try ImageWriter.write(state, toFile: dir + "/web-1.ipk", options: .init(codec: .zstd))

        let image = try ImageReader(path: dir + "/web-1.ipk")
        let bootSector = try image.read(stream: 0, at: 0, count: 512)
        precondition(image.rootDigest == written.rootDigest)
        try image.extract(stream: 0, toFile: dir + "/restored.raw")

        expectSameBytes(bootSector, Array(disk[0..<512]))
        try expectSameBytes(Data(contentsOf: URL(fileURLWithPath: dir + "/restored.raw")), Data(disk))
    }
}
