import Foundation
import Testing
@testable import ImagePack
@testable import ImagePackFuzz

/// Every input the fuzzer ever found a problem with (samples/fuzz-regressions/), and every
/// sample, run through exactly what the fuzz target runs: nothing may crash, and each must finish
/// quickly.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static func files(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") && !$0.hasSuffix(".json") }.sorted().map { dir + "/" + $0 }
    }

    @Test("past findings and all samples run through the fuzz target without crashing")
    func replay() throws {
        let samples = InvalidSamples.repository + "/samples"
        let inputs = Self.files(samples + "/fuzz-regressions") + Self.files(samples + "/invalid") + Self.files(samples + "/valid")
        #expect(inputs.count > 40)
        for path in inputs {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes { FuzzTarget.run($0) }
        }
    }

    @Test("the checksum fixer makes a damaged image's CRCs valid again")
    func fixer() throws {
        var bytes = try smallSample()
        let original = bytes
        bytes[100] ^= 1  // inside the metadata JSON
        #expect(ChecksumFixer.fix(&bytes))
        #expect(bytes[100] == original[100] ^ 1)
        var again = bytes
        #expect(!ChecksumFixer.fix(&again), "a fixed image needs no more fixing")
    }
}
