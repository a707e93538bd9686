import Foundation
import Testing
@testable import ImagePack
import ImagePackInterop

@Suite("The large hostile shapes, built small: what each reader makes of them")
struct HostileShapeTests {
    /// With `HOSTILE_SHAPES_DIR` set (samples/hostile/measure does it), writes the shapes at full
    /// scale there for measuring; the suite itself builds them small and checks every reader.
    @Test("every reader accepts the valid shapes and refuses the stream of records without an index")
    func shapes() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        if let target = ProcessInfo.processInfo.environment["HOSTILE_SHAPES_DIR"] {
            for (file, bytes) in try HostileShapes.make(.full, in: dir) {
                try Data(bytes).write(to: URL(fileURLWithPath: target + "/" + file))
            }
        }
        for (file, bytes) in try HostileShapes.make(.small, in: dir) {
            let path = dir + "/" + file
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            if file == "records-without-index.ipk" {
                // Cut where the index would start: the streaming reader reads every record, then finds no index.
                #expect(streamingFailure(path: path)?.rule == .v40, "\(file): \(String(describing: streamingFailure(path: path)))")
                var limits = ImageLimits()
                limits.maxChunks = HostileShapes.Scale.small.records - 1
                let capped = HostileSampleTests.failure { _ = try StreamingReader(path: path, options: ReadOptions(limits: limits, threads: 2)).read { _ in } }
                #expect(capped?.rule == .v30 && capped?.code == .limitExceeded, "\(file): \(String(describing: capped))")
                continue
            }
            let report = try ImageValidator.validate(path: path)
            #expect(report.isValid, "validator on \(file): \(report.problems)")
            #expect(randomAccessFailure(path: path) == nil, "random access on \(file): \(String(describing: randomAccessFailure(path: path)))")
            #expect(streamingFailure(path: path) == nil, "streaming on \(file): \(String(describing: streamingFailure(path: path)))")
            let reader = try ImageReader(path: path)
            let qcow2 = dir + "/" + file + ".qcow2"
            try ImageExporter.export(reader, stream: 0, format: .qcow2, to: qcow2, options: .init(threads: 2))
            removeItem(qcow2)
        }
    }
}
