import ArgumentParser
import Dispatch
import Foundation
import ImagePack
import ImagePackNBD

/// `imgpack serve`: the disks of an image over NBD, for qemu, nbdcopy or the Linux nbd driver.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve an image's disks over NBD to qemu and nbd clients.",
        discussion: """
            Every disk is an export named after it; the export "" is the first disk. Each chunk \
            is checked against its SHA-256 before any byte of it is served: a damaged chunk gives \
            the client an I/O error on that range, never wrong data. The image is never written.

            With --overlay FILE the one disk served (--disk, default the first) is writable: \
            writes go to FILE, a sparse copy-on-write file created if missing, tied to this \
            image's root digest (format in spec/OVERLAY.md). Serving the same image and overlay \
            again shows the writes that were flushed.

            The server runs until SIGINT or SIGTERM, then closes its connections, flushes the \
            overlay, removes the socket and exits 0.

            A delta image is served with its parents (--parent, --parent-dir, matched by root \
            digest); without them it is refused at start.

            EXAMPLES
              imgpack serve web-1.ipk --socket /tmp/web-1.sock
              qemu-system-x86_64 -drive file=nbd:unix:/tmp/web-1.sock:exportname=root,format=raw,if=virtio ...
              imgpack serve web-1.ipk --listen 127.0.0.1:10809 --overlay web-1.overlay
              nbdinfo --list nbd://127.0.0.1
            """)

    @Argument(help: ArgumentHelp("The image file.", valueName: "image"), completion: .file())
    var image: String

    @Option(help: ArgumentHelp("Listen on this Unix socket (replaced if it exists, removed at exit).", valueName: "path"), completion: .file())
    var socket: String?

    @Option(help: ArgumentHelp("Listen on TCP: HOST:PORT, HOST or PORT (default 127.0.0.1:10809).", valueName: "address"))
    var listen: String?

    @Flag(help: "Accept a --listen address that is not loopback (anyone who reaches it reads the disks).")
    var allowRemote = false

    @Option(help: ArgumentHelp("Make the served disk writable, its writes kept in this file.", valueName: "file"), completion: .file())
    var overlay: String?

    @Option(name: .customLong("disk"), help: ArgumentHelp("With --overlay, the disk to serve (default: the first).", valueName: "name"))
    var disk: String?

    @Option(help: ArgumentHelp("Memory for decoded chunks (default: 4 chunks per thread).", valueName: "size"))
    var cache: ByteCount?

    @Option(help: ArgumentHelp("Clients served at once; more are disconnected.", valueName: "n"))
    var maxConnections = 64

    @OptionGroup var threads: ThreadOptions

    @OptionGroup(title: "Parents") var parents: ParentOptions

    func validate() throws {
        if socket != nil && listen != nil { throw ValidationError("--socket and --listen are alternatives: choose one.") }
        if disk != nil && overlay == nil { throw ValidationError("--disk chooses the disk an overlay applies to: give --overlay too.") }
        if let disk { try validateStreamName(disk, option: "--disk") }
        if !(1...65536).contains(maxConnections) { throw ValidationError("--max-connections must be between 1 and 65536, got \(maxConnections).") }
        if let cache, cache.bytes > UInt64(Int.max) { throw ValidationError("--cache \(cache) is too large.") }
        if let listen, Self.parse(listen) == nil { throw ValidationError("--listen \"\(listen)\": expected HOST:PORT, HOST or PORT.") }
    }

    /// `HOST:PORT`, `[V6]:PORT`, `HOST` or `PORT`; 10809 is NBD's registered port.
    static func parse(_ text: String) -> (host: String, port: Int)? {
        var host = text, port = 10809
        if let p = Int(text) {
            host = "127.0.0.1"
            port = p
        } else if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let p = Int(text[text.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty, (0...65535).contains(port) else { return nil }
        return (host, port)
    }

    func run() throws {
        // One malloc arena for the whole server, before its threads start: the cache's budget is
        // then what the decoded chunks keep resident (see system_tune_malloc).
        system_tune_malloc(arenas: 1, retainedFreeBytes: 64 << 20)
        var options = NBDServer.Configuration(imagePath: image)
        options.parents = try parents.open()
        options.overlayPath = overlay
        options.overlayDisk = disk
        options.cacheBytes = cache.map { Int($0.bytes) }
        options.maxConnections = maxConnections
        options.threads = threads.threads
        let server: NBDServer
        do {
            server = try NBDServer(configuration: options)
        } catch let error as NBDServerError {
            throw CommandFailure(error.code.isUsage ? .usage : (error.code == .invalidOverlay ? .invalidImage : .io), "\(error)")
        }
        let address: NBDServer.Address
        if let socket {
            address = .unix(path: socket)
        } else {
            let (host, port) = Self.parse(listen ?? "127.0.0.1:10809")!
            address = .tcp(host: host, port: port)
        }
        // Signals are handled from here on: the socket exists only while a handler can remove it.
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { server.shutdown() }
            source.resume()
            sources.append(source)
        }
        let bound: NBDServer.Address
        do {
            bound = try server.listen(on: address, allowRemote: allowRemote)
        } catch let error as NBDServerError {
            server.shutdown()
            throw CommandFailure(error.code.isUsage ? .usage : .io, "\(error)")
        } catch {
            server.shutdown()
            throw CommandFailure(.io, "cannot listen on \(address): \(error)")
        }
        let names = server.exportNames.map { "\"\($0)\"" }.joined(separator: ", ")
        Terminal.note("imgpack serve: exports \(names) (\(overlay == nil ? "read-only" : "writable, overlay \(overlay!)")) on \(bound)")
        server.wait()
        withExtendedLifetime(sources) {}
    }
}
