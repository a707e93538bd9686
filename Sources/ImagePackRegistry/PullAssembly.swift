import Foundation
import ImagePack
import Synchronization

/// The file a pull assembles, named in the cache (`pulls/<manifest hex>.ipk`), with a journal
/// beside it (`pulls/<manifest hex>.journal`) of how many bytes of each layer it holds.
///
/// Each downloaded byte is written once, straight to its place in this file: the pull that kept a
/// cache blob per layer and then copied it into an unnamed output wrote every byte twice and read
/// it twice (measured: Benchmarks/results/2026-11-30-pullspeed.md). A name in the cache is what
/// lets a pull killed at any instant, SIGKILL included, continue: the journal is appended after
/// the bytes it counts were written, so it never claims bytes the file lacks, and the next run
/// hashes every kept byte again (and verifies its chunks) before it counts, so a kept byte
/// damaged meanwhile fails the layer's digest. The file is published by link(2) (rename(2) with
/// overwrite) when the destination is on the same file system, else copied into the destination's
/// unnamed output; nothing appears at the destination before every layer and chunk checked out.
///
/// One pull at a time uses an assembly: the journal is locked (flock) while it is open.
final class PullAssembly: @unchecked Sendable {
    let path: String
    let journalPath: String
    /// The assembly, open for reading and writing.
    let descriptor: Int32
    /// The journal (lines written at `journalEnd`); its lock is held until ``close()``.
    private let journal: Int32
    /// Where the next journal line goes (lines come from concurrent layer transfers).
    private let journalEnd: Mutex<Int64>
    /// Bytes of each layer (by index) an earlier run wrote, as its journal says.
    let kept: [Int: UInt64]
    private var closed = false

    /// Opens (or creates) the assembly of the image whose manifest is `manifestDigest`.
    /// - Throws: `.ioFailed` if the files cannot be created, or another pull holds them.
    init(cache: BlobCache, manifestDigest: String, fileLength: UInt64) throws(ImagePackError) {
        let directory = cache.directory + "/pulls"
        if system_mkdir(directory, 0o755) != 0 && system_errno != _EEXIST {
            throw ImagePackError(.ioFailed, "cannot create the directory where pulls are assembled: \(system_strerror(system_errno))", cause: Int(system_errno), path: directory)
        }
        Self.removeStale(in: directory, now: Date().timeIntervalSince1970)
        let base = directory + "/" + manifestDigest.replacingOccurrences(of: "sha256:", with: "")
        path = base + ".ipk"
        journalPath = base + ".journal"
        journal = system_open(journalPath, _O_RDWR | _O_CREAT | _O_CLOEXEC, 0o644)
        guard journal >= 0 else {
            throw ImagePackError(.ioFailed, "cannot open the pull's journal in the cache: \(system_strerror(system_errno))", cause: Int(system_errno), path: journalPath)
        }
        guard system_flock_exclusive_nonblocking(journal) == 0 else {
            _ = system_close(journal)
            throw ImagePackError(.ioFailed, "another imgpack pull of this image is using the same cache; wait for it, or pass another --cache", path: journalPath)
        }
        // A journal without its file (removed by hand) keeps nothing.
        let existing = system_stat(path)
        descriptor = system_open(path, _O_RDWR | _O_CREAT | _O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = system_errno
            _ = system_close(journal)
            throw ImagePackError(.ioFailed, "cannot open the file the pull assembles in the cache: \(system_strerror(code))", cause: Int(code), path: path)
        }
        var kept: [Int: UInt64] = [:]
        var text: [UInt8] = []
        if let existing, existing.size == Int64(fileLength) {
            text = Self.readAll(journal)
            kept = Self.parse(text)
        }
        self.kept = kept
        guard system_ftruncate(descriptor, Int64(fileLength)) == 0 else {
            let code = system_errno
            _ = system_close(descriptor)
            _ = system_close(journal)
            throw ImagePackError(.ioFailed, "cannot set the length of the file the pull assembles to \(fileLength): \(system_strerror(code))", cause: Int(code), path: path)
        }
        // Whole lines only: a torn last line would run into the next one.
        let whole = kept.isEmpty ? 0 : (text.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0)
        _ = system_ftruncate(journal, Int64(whole))
        journalEnd = Mutex(Int64(whole))
    }

    deinit { close() }

    /// How long an unfinished pull's bytes stay in the cache for a later run to continue: a week
    /// without a write. Without a limit, every pull given up on would keep its image-sized file
    /// for ever.
    static let keptFor: Double = 7 * 24 * 3600

    /// Removes the assemblies in `directory` (file and journal) that nothing wrote to for
    /// ``keptFor`` seconds before `now`, except those a running pull holds (its journal lock).
    /// - Returns: the names removed.
    @discardableResult
    static func removeStale(in directory: String, now: Double, keptFor: Double = keptFor) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        let bases = Set(names.compactMap { n -> String? in
            n.hasSuffix(".ipk") ? String(n.dropLast(4)) : n.hasSuffix(".journal") ? String(n.dropLast(8)) : nil
        })
        for base in bases.sorted() {
            let file = "\(directory)/\(base).ipk", journal = "\(directory)/\(base).journal"
            let touched = [system_stat(file), system_stat(journal)].compactMap { $0?.modifiedNanoseconds }.max() ?? 0
            guard Double(touched) / 1e9 < now - keptFor else { continue }
            let lock = system_open(journal, _O_RDWR | _O_CLOEXEC, 0)
            if lock >= 0 {
                defer { _ = system_close(lock) }
                guard system_flock_exclusive_nonblocking(lock) == 0 else { continue }
                _ = system_unlink(file)
                _ = system_unlink(journal)
            } else {
                _ = system_unlink(file)
            }
            removed.append(base)
        }
        return removed
    }

    /// Journal lines are `<layer> <bytes held>\n`; the last line for a layer counts (a layer
    /// whose bytes failed their digest is set back to 0). Text after the last newline is a line
    /// the process died writing: it is ignored, and the line before it for that layer counts.
    static func parse(_ text: [UInt8]) -> [Int: UInt64] {
        let whole = text.lastIndex(of: UInt8(ascii: "\n")).map { text[...$0] } ?? []
        var kept: [Int: UInt64] = [:]
        for line in String(decoding: whole, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let layer = Int(fields[0]), layer >= 0, let bytes = UInt64(fields[1]) else { continue }
            kept[layer] = bytes
        }
        return kept.filter { $0.value > 0 }
    }

    private static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset: Int64 = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { system_pread(fd, $0.baseAddress!, $0.count, offset) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
            offset += Int64(n)
        }
        return bytes
    }

    /// Writes `bytes` at `offset` of the assembly.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(ImagePackError) {
        try writeAll(descriptor, bytes, at: offset, path: path)
    }

    /// Records that the assembly holds the first `bytes` bytes of layer `layer` (written before).
    func record(layer: Int, holds bytes: UInt64) {
        let line = Array("\(layer) \(bytes)\n".utf8)
        // One pwrite(2) per line: it lands whole unless the process dies inside the call (parse
        // ignores such a line). A failed journal write costs only resumability, never correctness.
        journalEnd.withLock { end in
            let n = line.withUnsafeBytes { system_pwrite(journal, $0.baseAddress!, $0.count, end) }
            if n > 0 { end += Int64(n) }
        }
    }

    /// Moves the verified file to `destination`: link(2) (rename(2) with `overwrite`) on the same
    /// file system, else a kernel copy into `output` (the destination's unnamed file), committed.
    /// Removes the assembly and its journal once the file is in place.
    /// - Throws: `.destinationExists` if the destination appeared meanwhile (the assembly is kept:
    ///   the next run with --force publishes it without downloading), `.ioFailed`.
    func publish(to destination: String, overwrite: Bool, output: OutputFile) throws(ImagePackError) {
        let moved = overwrite ? system_rename(path, destination) : system_link(path, destination)
        if moved == 0 {
            output.abandon()
            if !overwrite { _ = system_unlink(path) }
        } else {
            let code = system_errno
            if code == _EEXIST {
                output.abandon()
                throw ImagePackError(.destinationExists, "\(destination) appeared while the image was being pulled; choose another name or pass --force to replace it", path: destination)
            }
            // Another file system (EXDEV), or one without hard links: copy in the kernel.
            let file = try ReadableFile(path: path)
            try output.append(from: file, count: file.size ?? 0)
            try output.commit()
            _ = system_unlink(path)
        }
        _ = system_unlink(journalPath)
        close()
    }

    /// Closes the descriptors (and so releases the lock); the files stay for the next run.
    func close() {
        guard !closed else { return }
        closed = true
        _ = system_close(descriptor)
        _ = system_close(journal)
    }
}
