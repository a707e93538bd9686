import Foundation
import Synchronization
import Testing
@testable import ImagePack

/// A source that changes while the writer reads it (a disk in use) must not give an image of a
/// state that never existed: the write fails with `.sourceChanged` and publishes nothing, unless
/// the caller allows it, and then the image says so in its metadata.
@Suite("source changed while read")
struct SourceChangeTests {
    /// A file source whose file another writer modifies (through its own descriptor, as another
    /// process would) the first time the chunk at `trigger` is read: deterministic, unlike a race.
    final class ModifiedWhileRead: StreamSource, @unchecked Sendable {
        let inner: FileSource
        let path: String
        let trigger: UInt64
        let appendBytes: Bool
        private let fired = Mutex(false)

        init(path: String, trigger: UInt64, appendBytes: Bool = false) throws {
            // File times tick with the kernel's coarse clock (a few ms): a file written just
            // before it is opened could be modified within the same tick without its mtime
            // moving, so its times are set back first, as an old disk's would be.
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: path)
            inner = try FileSource(path: path)
            self.path = path
            self.trigger = trigger
            self.appendBytes = appendBytes
        }

        var logicalSize: UInt64 { inner.logicalSize }

        func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImagePackError) {
            if offset == trigger, fired.withLock({ let first = !$0; $0 = true; return first }) {
                let handle = FileHandle(forUpdatingAtPath: path)!
                if appendBytes { handle.seekToEndOfFile() } else { handle.seek(toFileOffset: 0) }
                handle.write(Data("changed".utf8))
                handle.closeFile()
            }
            try inner.read(at: offset, into: buffer)
        }

        func changeSinceOpened() -> String? { inner.changeSinceOpened() }
    }

    func state(_ sources: [(String, any StreamSource)]) -> SystemState {
        SystemState(metadata: testMetadata(), streams: sources.map { StreamSpec(name: $0.0, source: $0.1) })
    }

    @Test("a source written while it is read fails the write, names the disk and publishes nothing")
    func changedSourceFails() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = dir + "/root.raw", other = dir + "/data.raw"
        try Data(textBytes(1 << 20, seed: 1)).write(to: URL(fileURLWithPath: disk))
        try Data(textBytes(256 << 10, seed: 2)).write(to: URL(fileURLWithPath: other))
        let sources: [(String, any StreamSource)] = [("root", try ModifiedWhileRead(path: disk, trigger: 512 << 10)), ("data", try FileSource(path: other))]
        let output = dir + "/x.ipk"
        let error = #expect(throws: ImagePackError.self) {
            try ImageWriter.write(state(sources), toFile: output, options: WriterOptions(chunkSize: 64 << 10, threads: 2))
        }
        #expect(error?.code == .sourceChanged)
        #expect(error?.stream == "root")
        #expect(error?.message.contains("root (it was modified") == true, "\(String(describing: error))")
        #expect(error?.message.contains("fsfreeze") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["data.raw", "root.raw"])
    }

    @Test("a source that grows while it is read is reported with its old and new size")
    func grownSource() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = dir + "/root.raw"
        try Data(textBytes(256 << 10, seed: 3)).write(to: URL(fileURLWithPath: disk))
        let source = try ModifiedWhileRead(path: disk, trigger: 0, appendBytes: true)
        let error = #expect(throws: ImagePackError.self) {
            try ImageWriter.write(state([("root", source)]), toFile: dir + "/x.ipk", options: WriterOptions(chunkSize: 64 << 10, threads: 1))
        }
        #expect(error?.code == .sourceChanged)
        #expect(error?.message.contains("its size went from 262144 to 262151 bytes") == true, "\(String(describing: error))")
    }

    @Test("allowChangingSource writes the image and records the changed disks in imagepack.source-changed")
    func allowedChangeIsRecorded() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = dir + "/root.raw", other = dir + "/data.raw"
        try Data(textBytes(1 << 20, seed: 1)).write(to: URL(fileURLWithPath: disk))
        try Data(textBytes(256 << 10, seed: 2)).write(to: URL(fileURLWithPath: other))
        let sources: [(String, any StreamSource)] = [("root", try ModifiedWhileRead(path: disk, trigger: 128 << 10)), ("data", try FileSource(path: other))]
        var options = WriterOptions(chunkSize: 64 << 10, threads: 2)
        options.allowChangingSource = true
        try ImageWriter.write(state(sources), toFile: dir + "/x.ipk", options: options)
        let reader = try ImageReader(path: dir + "/x.ipk")
        #expect(reader.metadata.tags[WriterOptions.sourceChangedTag] == "root")
        #expect(try reader.verify().isValid)
    }

    @Test("an unchanged file source reports no change, and neither do sources that cannot change")
    func unchangedSource() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let disk = dir + "/root.raw"
        try Data(textBytes(256 << 10, seed: 4)).write(to: URL(fileURLWithPath: disk))
        let source = try FileSource(path: disk)
        _ = try source.file.read(at: 0, count: 4096)
        #expect(source.changeSinceOpened() == nil)
        #expect(BytesSource([1, 2, 3]).changeSinceOpened() == nil)
        // A touch moves mtime and ctime without changing a byte: still a change, since the times
        // are all a regular file offers to tell.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: disk)
        #expect(source.changeSinceOpened() != nil)
    }
}
