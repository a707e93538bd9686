import Foundation
@testable import ImagePack
import ImagePackSimulation
import Testing
import TestSupport

/// OutputFile.writeSparse: the bytes read back are the bytes given, and zero blocks stay holes,
/// whatever the alignment of the pieces and of their zero runs.
@Suite("OutputFile sparse writes")
struct OutputFileSparseTests {
    @Test("zero tests at odd lengths and offsets")
    func zeroTest() {
        for n in [0, 1, 7, 8, 9, 15, 16, 4095, 4096, 4097] {
            var bytes = [UInt8](repeating: 0, count: n)
            #expect(bytes.withUnsafeBytes { ContentShape.isZero($0) })
            for i in [0, n / 2, n - 1] where n > 0 {
                bytes[i] = 1
                #expect(!bytes.withUnsafeBytes { ContentShape.isZero($0) }, "n \(n), byte \(i)")
                bytes[i] = 0
            }
        }
    }

    @Test("pieces at unaligned offsets with zero runs off block boundaries read back exactly, zero blocks unallocated")
    func roundTrip() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/disk.raw"
        let size = 3 << 20
        var expected = [UInt8](repeating: 0, count: size)
        var rng = SplitMix64(seed: 9)
        // Data islands of odd lengths at odd offsets; between them zero runs of 1 byte to 600 KB.
        var position = 1234
        while position < size - 70_000 {
            let length = 1 + Int(rng.next() % 60_000)
            for i in position..<(position + length) { expected[i] = UInt8(truncatingIfNeeded: rng.next() | 1) }
            position += length + Int(rng.next() % 600_000) + (rng.next() % 4 == 0 ? 1 : 0)
        }
        let output = try OutputFile(path: path, overwrite: false)
        // Pieces of a "chunk size" that is not a multiple of the block size either.
        let piece = 100_003
        try expected.withUnsafeBytes { raw in
            var offset = 0
            while offset < size {
                let end = min(size, offset + piece)
                try output.writeSparse(UnsafeRawBufferPointer(rebasing: raw[offset..<end]), at: UInt64(offset))
                offset = end
            }
        }
        try output.truncate(to: UInt64(size))
        try output.commit()
        let bytes = try #require(FileManager.default.contents(atPath: path))
        expectSameBytes([UInt8](bytes), expected)
        // No more blocks than hold a non-zero byte, plus the file system's own: st_blocks also
        // counts ext4's extent-tree blocks once the extents outgrow the inode (one here).
        let block = try #require(system_stat(path)).blockSize
        let needed = stride(from: 0, to: size, by: block).filter { start in expected[start..<min(size, start + block)].contains { $0 != 0 } }.count * block
        let allocated = try #require(system_stat(path)).allocatedBytes
        #expect(allocated <= Int64(needed + 4 * block), "allocated \(allocated), needed \(needed)")
    }
}
