import Foundation
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

    @Test func assembliesUntouchedForAWeekAreRemovedUnlessAPullHoldsThem() throws {
        let directory = NSTemporaryDirectory() + "pulls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = Date().timeIntervalSince1970
        func make(_ base: String, daysOld: Double, journal: Bool = true) throws {
            for name in [base + ".ipk"] + (journal ? [base + ".journal"] : []) {
                let path = directory + "/" + name
                #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))
                try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: now - daysOld * 86400)], ofItemAtPath: path)
            }
        }
        try make("old", daysOld: 8)
        try make("orphan", daysOld: 30, journal: false)
        try make("recent", daysOld: 6)
        try make("held", daysOld: 9)
        // A running pull holds its journal's lock: its bytes stay, however old.
        let holder = open(directory + "/held.journal", O_RDWR)
        defer { close(holder) }
        #expect(flock(holder, LOCK_EX | LOCK_NB) == 0)

        #expect(PullAssembly.removeStale(in: directory, now: now) == ["old", "orphan"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["held.ipk", "held.journal", "recent.ipk", "recent.journal"])
    }
}
