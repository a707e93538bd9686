import Testing

@testable import ImagePackRegistry

@Suite("Pull assembly journal: what a killed pull kept")
struct PullAssemblyTests {
    static func parse(_ text: String) -> [Int: UInt64] { PullAssembly.parse(Array(text.utf8)) }

    @Test func theLastLineForALayerCountsAndZeroForgetsIt() {
        #expect(Self.parse("0 1048576\n1 1048576\n0 2097152\n1 0\n") == [0: 2_097_152])
    }

    @Test func aLineCutShortByTheKillIsIgnored() {
        // "3 1048576" died as "3 10": taking it would trust 10 bytes of a MiB-aligned write.
        #expect(Self.parse("3 524288\n2 7\n3 10") == [3: 524_288, 2: 7])
        #expect(Self.parse("5 99") == [:])
    }

    @Test func linesThatAreNotTwoNumbersAreSkipped() {
        #expect(Self.parse("x y\n4\n-1 5\n6 12\n") == [6: 12])
    }
}
