import Foundation
import Testing
import TestSupport

/// The shared byte comparison (Tests/TestSupport): it answers for megabyte buffers at once and
/// says where they differ, where `#expect(a == b)` would have Swift Testing diff them element
/// by element for many minutes.
@Suite("Byte comparison of the test helpers")
struct ByteComparisonTests {
    @Test func twoBuffersOf64MiBDifferingInTheLastByteCompareFalseAtThatOffset() {
        let count = 64 << 20
        let a = [UInt8](repeating: 0x5A, count: count)
        var b = a
        b[count - 1] = 0x5B
        let comparison = ByteComparison(a, b)
        #expect(!comparison.same)
        #expect(comparison.firstDifference == count - 1)
        #expect(comparison.actualCount == count && comparison.expectedCount == count)
        #expect(comparison.description.contains("offset \(count - 1) (0x3ffffff)"), "\(comparison)")
        #expect(comparison.description.contains("actual [5a 5a 5a 5a 5a 5a 5a 5a >5a] expected [5a 5a 5a 5a 5a 5a 5a 5a >5b]"), "\(comparison)")
        // Data and slices take the same path.
        #expect(ByteComparison(Data(a), Data(b)).firstDifference == count - 1)
        // Offsets count from each collection's first byte, not by a slice's indices.
        #expect(ByteComparison(a[1...], b[1...]).firstDifference == count - 2)
        #expect(ByteComparison(a, a).same)
    }

    @Test func aPrefixDiffersWhereTheShorterOneEnds() {
        let comparison = ByteComparison([1, 2, 3] as [UInt8], [1, 2, 3, 4] as [UInt8])
        #expect(comparison.firstDifference == 3)
        #expect(comparison.description.contains("3 bytes against 4 expected"), "\(comparison)")
        #expect(ByteComparison([] as [UInt8], [] as [UInt8]).same)
        #expect(ByteComparison([] as [UInt8], [0] as [UInt8]).firstDifference == 0)
    }

    @Test func aDifferenceInTheMiddleOfABlockIsFoundByTheByte() {
        var a = [UInt8](repeating: 0, count: 3 * 4096 + 17)
        let b = a
        a[4096 + 1234] = 9
        #expect(ByteComparison(a, b).firstDifference == 4096 + 1234)
        #expect(ByteComparison(a, b).description.contains("actual [00 00 00 00 00 00 00 00 >09 00 00 00 00 00 00 00]"))
    }
}
