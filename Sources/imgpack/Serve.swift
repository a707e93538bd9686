import ArgumentParser
import Dispatch
import Foundation
import ImagePack
import ImagePackNBD
import ImagePackRegistry

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

            With --overlay-dir DIR one server launches many instances: the export \
            INSTANCE/DISK (for example vm1/root) is that disk writable through its own overlay, \
            DIR/INSTANCE/DISK.overlay, created on first use and kept for the next connection or \
            server; the plain disk names stay read-only. Instances share one chunk cache, so a \
            chunk many instances read is decoded once. An instance's overlay is flushed and \
            closed when its last connection ends.

            The server runs until SIGINT or SIGTERM, then closes its connections, flushes the \
            overlays, removes the socket and exits 0.

            A delta image is served with its parents (--parent, --parent-dir, matched by root \
            digest); without them it is refused at start.

            An argument that is not an existing file but a registry reference \
            (HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]) serves the image in the registry \
            without pulling it: the manifest and config are read at start, and each chunk a \
            client reads is fetched by an HTTP range request on its layer, verified like a \
            local chunk, and kept in a local sparse copy for later reads (same cache, readahead, \
            overlay and errors as for a file). Registry options as for pull (--cache is the memory \
            for decoded chunks, --blob-cache the registry's blob cache).

            EXAMPLES
              imgpack serve web-1.ipk --socket /tmp/web-1.sock
              qemu-system-x86_64 -drive file=nbd:unix:/tmp/web-1.sock:exportname=root,format=raw,if=virtio ...
              imgpack serve web-1.ipk --listen 127.0.0.1:10809 --overlay web-1.overlay
              imgpack serve web.ipk --socket /tmp/web.sock --overlay-dir /var/lib/web-vms
              qemu-system-x86_64 -drive file=nbd+unix:///vm7/root?socket=/tmp/web.sock,format=raw,if=virtio ...
              nbdinfo --list nbd://127.0.0.1
              imgpack serve localhost:5000/vm/web:1 --insecure --socket /tmp/web-1.sock
            """)

    @Argument(help: ArgumentHelp("The image file, or an image in a registry (HOST[:PORT]/REPOSITORY[:TAG]).", valueName: "image"), completion: .file())
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

    @Option(
        name: .customLong("overlay-dir"),
        help: ArgumentHelp("One overlay per instance: export INSTANCE/DISK writes to DIR/INSTANCE/DISK.overlay (DIR created if missing).", valueName: "dir"),
        completion: .directory)
    var overlayDirectory: String?

    @Option(help: ArgumentHelp("Memory for decoded chunks (default: 4 chunks per thread).", valueName: "size"))
    var cache: ByteCount?

    @Option(help: ArgumentHelp("Clients served at once; more are disconnected.", valueName: "n"))
    var maxConnections = 64

    @OptionGroup var threads: ThreadOptions

    @OptionGroup(title: "Parents") var parents: ParentOptions

    @OptionGroup(title: "Registry (for an image in a registry)") var registry: RegistryOptions

    func validate() throws {
        if socket != nil && listen != nil { throw ValidationError("--socket and --listen are alternatives: choose one.") }
        if disk != nil && overlay == nil { throw ValidationError("--disk chooses the disk an overlay applies to: give --overlay too.") }
        if overlay != nil && overlayDirectory != nil {
            throw ValidationError("--overlay (one writable disk) and --overlay-dir (an overlay per instance) are alternatives: choose one.")
        }
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

    /// The registry reference `image` names: only when no file of that name exists.
    var remoteReference: RegistryReference? {
        guard !FileManager.default.fileExists(atPath: image) else { return nil }
        return try? RegistryReference.parse(image)
    }

    func run() throws {
        // One malloc arena for the whole server, before its threads start: the cache's budget is
        // then what the decoded chunks keep resident (see system_tune_malloc).
        system_tune_malloc(arenas: 1, retainedFreeBytes: 64 << 20)
        var options = NBDServer.Configuration(imagePath: image)
        options.parents = try parents.open()
        // A registry image: its manifest and config now, its chunks when clients read them; the
        // client lives as long as the server.
        var registryClient: RegistryClient?
        if let ref = remoteReference {
            if !parents.files.isEmpty || !parents.directories.isEmpty {
                throw CommandFailure(.usage, "--parent and --parent-dir apply to image files; an image in a registry is read without parents (pull a delta with pull --parent)")
            }
            let client = try registry.client(for: ref.registry, password: try registry.readPassword())
            registryClient = client
            let cache = try registry.blobCache()
            let lazy: LazyRemoteImage
            do {
                lazy = try runRegistryWork(cancellation: Cancellation(), closing: []) { () throws(ImagePackError) -> LazyRemoteImage in
                    try await LazyRemoteImage(ref, client: client, cache: cache)
                }
            } catch {
                Self.close(client)
                throw error
            }
            options.imagePath = ref.description
            options.image = lazy.reader
            options.chunkSource = RegistryChunkSource(image: lazy)
        }
        defer { if let registryClient { Self.close(registryClient) } }
        options.overlayPath = overlay
        options.overlayDisk = disk
        options.overlayDirectory = overlayDirectory
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
        let writes = overlay.map { "writable, overlay \($0)" } ?? overlayDirectory.map { "read-only; INSTANCE/DISK writable, overlays in \($0)" } ?? "read-only"
        Terminal.note("imgpack serve: exports \(names) (\(writes)) on \(bound)")
        server.wait()
        withExtendedLifetime(sources) {}
    }

    /// Shuts a registry client down (its connections and event loops).
    static func close(_ client: RegistryClient) {
        _ = try? runRegistryWork(cancellation: Cancellation(), closing: [client]) { () throws(ImagePackError) -> Void in }
    }
}

/// A registry image's lazy copy as the NBD server's chunk source: the seam that keeps
/// ImagePackNBD and ImagePackRegistry apart.
struct RegistryChunkSource: ChunkSource {
    let image: LazyRemoteImage

    func makePresent(entry: Int) async throws(ImagePackError) {
        try await image.fetch(entries: [entry])
    }

    func prefetch(entries: [Int]) { image.prefetch(entries: entries) }
}
