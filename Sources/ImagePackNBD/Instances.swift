import ImagePack
import Synchronization

/// Writable exports for many instances launched from one image (`--overlay-dir`): a client that
/// asks for the export `INSTANCE/DISK` reads and writes that disk through its own overlay,
/// `DIRECTORY/INSTANCE/DISK.overlay`, created with its directory on first use.
///
/// Why one server for many instances rather than a server per instance: every instance then
/// shares one decoded-chunk cache and one thread pool, so N instances booting from one image
/// decode each chunk once, not N times, and the memory bound is one budget, not N.
///
/// Why names and not one overlay per connection: a VM keeps its disk across reconnects and server
/// restarts, and qemu may open several connections to one disk (multi-conn); all of them must see
/// one overlay, and they do because they share one ``NBDExport``.
///
/// An instance is open while a connection uses it: the last connection to leave flushes its
/// overlay and closes it (its lock goes with it), so the open overlays are bounded by the
/// connections and another process may take an instance nobody here uses. Acquiring and
/// releasing open, sync and close files, so they run on the thread pool, never the event loop.
final class Instances: Sendable {
    let directory: String
    /// Makes the export of disk `stream` written through `overlay`.
    private let makeExport: @Sendable (_ stream: Int, _ overlay: Overlay) -> NBDExport
    private let rootDigest: Digest
    private let log: @Sendable (String) -> Void

    private struct Open {
        var export: NBDExport
        var users: Int
    }
    /// Open instances by export name (`INSTANCE/DISK`). The lock is held while an overlay opens or
    /// closes, so a connection arriving as the last one leaves waits for the close, then reopens.
    private let open = Mutex<[String: Open]>([:])

    /// Instance names: a letter or digit, then letters, digits, '.', '_' or '-'; at most 64.
    /// A name is a directory under ``directory``, so nothing that walks (`..`, `/`) or hides (a
    /// leading dot) gets through.
    static let maxNameLength = 64

    init(directory: String, rootDigest: Digest, log: @escaping @Sendable (String) -> Void, makeExport: @escaping @Sendable (Int, Overlay) -> NBDExport) {
        self.directory = directory
        self.rootDigest = rootDigest
        self.log = log
        self.makeExport = makeExport
    }

    /// Splits an export name `INSTANCE/DISK` (nil if it names no instance: no slash).
    static func split(_ exportName: String) -> (instance: String, disk: String)? {
        guard let slash = exportName.firstIndex(of: "/") else { return nil }
        return (String(exportName[..<slash]), String(exportName[exportName.index(after: slash)...]))
    }

    /// Why `name` cannot name an instance, or nil if it can.
    static func problem(withName name: String) -> String? {
        let bytes = Array(name.utf8)
        func allowed(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d
        }
        guard let first = bytes.first else { return "the instance name before \"/\" is empty" }
        guard bytes.count <= maxNameLength else { return "the instance name is \(bytes.count) bytes, over \(maxNameLength)" }
        guard first != 0x2e, first != 0x2d, first != 0x5f, bytes.allSatisfy(allowed) else {
            return "instance \"\(name)\": an instance name is letters, digits, '.', '_' and '-', starting with a letter or digit"
        }
        return nil
    }

    /// Where the overlay of `instance`'s disk `disk` lives.
    func overlayPath(instance: String, disk: String) -> String { "\(directory)/\(instance)/\(disk).overlay" }

    /// The export of `instance`'s disk `stream` (named `disk`, `size` bytes), opening (or
    /// creating) its overlay if no connection has it open; one more user until ``release(_:)``.
    /// Blocks on file I/O: call it on the thread pool.
    func acquire(instance: String, stream: Int, disk: String, size: UInt64) throws(NBDServerError) -> NBDExport {
        let key = "\(instance)/\(disk)"
        return try open.withLock { (open) throws(NBDServerError) -> NBDExport in
            if var entry = open[key] {
                entry.users += 1
                open[key] = entry
                return entry.export
            }
            let folder = "\(directory)/\(instance)"
            if system_mkdir(folder, 0o755) != 0, system_errno != _EEXIST {
                throw NBDServerError(.io, "cannot create the instance's directory", path: folder, cause: system_errno)
            }
            let overlay = try Overlay(path: overlayPath(instance: instance, disk: disk), rootDigest: rootDigest, diskName: disk, diskSize: size)
            let export = makeExport(stream, overlay)
            open[key] = Open(export: export, users: 1)
            return export
        }
    }

    /// One user of `export` less; the last one flushes its overlay and closes it. Blocks on file
    /// I/O: call it on the thread pool, once the user's requests have all finished.
    func release(_ export: NBDExport) {
        open.withLock { open in
            guard let key = open.first(where: { $0.value.export === export })?.key, var entry = open[key] else { return }
            entry.users -= 1
            guard entry.users == 0 else {
                open[key] = entry
                return
            }
            open[key] = nil
            close(export, key: key)
        }
    }

    /// Flushes and closes every open instance (at shutdown, once no request can run).
    func closeAll() {
        open.withLock { open in
            for (key, entry) in open { close(entry.export, key: key) }
            open = [:]
        }
    }

    /// How many instances are open now.
    var openCount: Int { open.withLock { $0.count } }

    private func close(_ export: NBDExport, key: String) {
        do throws(NBDRequestFailure) { try export.flush() } catch {
            log("imgpack serve: instance \(key): flushing its overlay failed: \(error.message)")
        }
        export.overlay?.close()
    }
}
