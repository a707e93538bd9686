import Foundation
@testable import ImagePack
import Testing
import TestSupport

/// OutputFile: nothing visible until commit, never a replacement without `overwrite`, and the
/// sweep of temporary files left by killed writers.
@Suite("OutputFile")
struct OutputFileTests {
    static func listing(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    @Test("an unnamed output is invisible until commit, and abandoning it leaves nothing",
          .enabled(if: _O_TMPFILE != nil, "needs O_TMPFILE"))
    func unnamedUntilCommit() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let output = try OutputFile(path: dir + "/a.img", overwrite: false)
        #expect(output.temporaryPath == nil)
        try output.write(Array("hello".utf8))
        try output.truncate(to: 1 << 20)
        #expect(Self.listing(dir) == [])
        try output.commit()
        #expect(Self.listing(dir) == ["a.img"])
        let bytes = try #require(FileManager.default.contents(atPath: dir + "/a.img"))
        #expect(bytes.count == 1 << 20)
        #expect(Array(bytes.prefix(5)) == Array("hello".utf8))
        // Growing by truncate leaves a hole, as before.
        #expect(try #require(system_stat(dir + "/a.img")).allocatedBytes < 1 << 20)

        let abandoned = try OutputFile(path: dir + "/b.img", overwrite: false)
        try abandoned.write(Array("partial".utf8))
        abandoned.abandon()
        #expect(Self.listing(dir) == ["a.img"])
    }

    @Test("publishing never replaces a file that appeared meanwhile, unless overwriting", arguments: [true, false])
    func appearedMeanwhile(unnamed: Bool) throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let path = dir + "/a.img"
        let output = try OutputFile(path: path, overwrite: false, unnamed: unnamed)
        try output.write(Array("new".utf8))
        #expect(FileManager.default.createFile(atPath: path, contents: Data("old".utf8)))
        #expect(throws: ImagePackError(.destinationExists, "")) { try output.commit() }
        expectSameBytes(FileManager.default.contents(atPath: path) ?? Data(), Data("old".utf8))
        #expect(Self.listing(dir) == ["a.img"])

        let replacing = try OutputFile(path: path, overwrite: true, unnamed: unnamed)
        try replacing.write(Array("new".utf8))
        try replacing.commit(sync: true)
        expectSameBytes(FileManager.default.contents(atPath: path) ?? Data(), Data("new".utf8))
        #expect(Self.listing(dir) == ["a.img"])
    }

    @Test("a named temporary file (no O_TMPFILE) sits beside the destination until commit or abandon")
    func namedTemporary() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        let output = try OutputFile(path: dir + "/a.img", overwrite: false, unnamed: false)
        let temporary = try #require(output.temporaryPath)
        #expect(Self.listing(dir) == [".a.img.imgpack-tmp-\(system_getpid())-0"])
        #expect(temporary == dir + "/" + Self.listing(dir)[0])
        try output.write(Array("data".utf8))
        try output.commit()
        #expect(Self.listing(dir) == ["a.img"])

        let abandoned = try OutputFile(path: dir + "/b.img", overwrite: false, unnamed: false)
        abandoned.abandon()
        #expect(Self.listing(dir) == ["a.img"])
    }

    @Test("the sweep removes a temporary file whose process is gone, unless someone holds its lock")
    func sweep() throws {
        let dir = makeTemporaryDirectory()
        defer { removeItem(dir) }
        // No process has PID 2147483646: the kernel's pid_max is at most 2^22.
        let stale = ".a.img.imgpack-tmp-2147483646-0"
        // A writer this machine cannot see (another PID namespace, another NFS client) holds its lock.
        let locked = ".b.img.imgpack-tmp-2147483646-1"
        let alive = ".c.img.imgpack-tmp-\(system_getpid())-0"
        for name in [stale, locked, alive] {
            #expect(FileManager.default.createFile(atPath: dir + "/" + name, contents: Data("partial".utf8)))
        }
        let holder = system_open(dir + "/" + locked, _O_RDONLY | _O_CLOEXEC)
        #expect(holder >= 0)
        defer { _ = system_close(holder) }
        #expect(system_flock_exclusive_nonblocking(holder) == 0)

        OutputFile.removeStaleTemporaryFiles(in: dir + "/")
        #expect(Self.listing(dir) == [locked, alive].sorted())
    }
}
