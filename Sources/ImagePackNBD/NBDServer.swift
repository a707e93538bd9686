import Dispatch
import ImagePack
import NIOCore
import NIOPosix
import Synchronization

/// An NBD server over the disks of one image: every disk an export (by stream name, "" the
/// first), reads verified chunk by chunk, writes into an optional copy-on-write overlay.
///
/// ```swift
/// let server = try NBDServer(configuration: .init(imagePath: "web-1.ipk"))
/// try server.listen(on: .unix(path: "/run/web-1.sock"))
/// server.wait()          // until shutdown() is called, from a signal handler say
/// ```
///
/// Memory: decoded chunks, cached or held by replies not yet sent, stay within
/// ``Configuration/cacheBytes``. glibc keeps each thread's malloc arena at its peak, so a process
/// that wants its resident size near that budget limits the arenas before starting the server
/// (`imgpack serve` uses one; see `system_tune_malloc`).
public final class NBDServer: Sendable {
    public struct Configuration: Sendable {
        /// The image file, or for ``image`` the name the server reports it by.
        public var imagePath: String
        /// An image opened already, served instead of opening `imagePath` (with ``chunkSource``:
        /// a registry image whose chunk records arrive on demand).
        public var image: ImageReader?
        /// Brings chunk records into ``image``'s file before they are decoded; nil when the
        /// image is all local.
        public var chunkSource: (any ChunkSource)?
        /// For a delta image: its parent and the parent's own parents, in any order, each matched
        /// by root digest (V49). A delta served without them is refused when the server starts,
        /// not on the first read of a chunk it shares with its parent.
        public var parents: [ImageReader] = []
        /// Makes the one served disk writable; its writes go to this file (created if missing).
        public var overlayPath: String?
        /// The disk to serve with an overlay (default: the first disk).
        public var overlayDisk: String?
        /// One overlay per instance, for launching many instances from one server: the export
        /// `INSTANCE/DISK` is disk DISK written through `DIRECTORY/INSTANCE/DISK.overlay` (created
        /// with its directory on first use; `INSTANCE/` is the first disk), while the plain disk
        /// names stay read-only. Every instance shares the one chunk cache. The directory is
        /// created if missing; not together with ``overlayPath``.
        public var overlayDirectory: String?
        /// The decoded-chunk cache budget in bytes (default: 4 chunks per thread).
        public var cacheBytes: Int?
        /// How long a decode waits for room in the cache before it starts over budget: the room is
        /// held by replies not yet sent, so only clients that stopped reading make it wait this long.
        public var stalledReaderTimeout: TimeAmount = .seconds(1)
        /// Connections beyond this are closed as soon as they are accepted.
        public var maxConnections = 64
        /// Threads that decode chunks and do file I/O (default: one per core).
        public var threads = System.coreCount
        /// A client that has not finished the handshake after this long is disconnected, so idle
        /// connections cannot hold every slot of `maxConnections`.
        public var handshakeTimeout: TimeAmount = .seconds(30)
        /// Where the server reports failed reads, refused connections and protocol errors.
        public var log: @Sendable (String) -> Void = NBDServer.standardError

        public init(imagePath: String) { self.imagePath = imagePath }
    }

    /// Where the server listens.
    public enum Address: Sendable, Hashable, CustomStringConvertible {
        case unix(path: String)
        case tcp(host: String, port: Int)

        public var description: String {
            switch self {
            case .unix(let path): "unix:\(path)"
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }
    }

    public let configuration: Configuration
    public let reader: ImageReader
    let context: NBDServerContext
    let group: MultiThreadedEventLoopGroup
    let threadPool: NIOThreadPool
    /// The proofs of verified records, shared by every export as the cache is: a chunk decoded
    /// for one instance's disk is decoded again for another's at the record's cost.
    let recordMemo: RecordMemo

    /// Listeners and live connections, shared with the channel initializer (a Mutex cannot be captured).
    private final class Registry: Sendable {
        struct State {
            var listeners: [(channel: any Channel, address: Address)] = []
            var connections: [ObjectIdentifier: any Channel] = [:]
            var refused = 0
            var stopped = false
        }
        let state = Mutex(State())
    }
    private let registry = Registry()
    private let finished = DispatchGroup()

    /// Opens the image (checking its structure) and the overlay, and starts the thread pool.
    /// - Throws: `ImagePackError` for the image, ``NBDServerError`` for the disk choice and the overlay.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        let reader = try configuration.image ?? ImageReader(path: configuration.imagePath, parents: configuration.parents)
        if let parent = reader.parentDigest, configuration.parents.isEmpty {
            throw ImagePackError(
                .parentRequired, "the image is a delta on the parent image \(parent); serve it with that image (--parent FILE or --parent-dir DIR)",
                rule: .v49, field: "parentDigest", path: configuration.imagePath)
        }
        self.reader = reader
        let disks = reader.streams.indices.filter { reader.streams[$0].kind == .disk }
        guard let first = disks.first else {
            throw NBDServerError(.noSuchExport, "the image has no disk to serve", path: configuration.imagePath)
        }
        let threads = max(1, configuration.threads)
        let pool = NIOThreadPool(numberOfThreads: threads)
        // The largest chunk of the served disks stands for the image's chunk size.
        let chunkSize = disks.lazy.flatMap { reader.chunks(ofStream: $0) }.map { Int($0.logicalLength) }.max() ?? 0
        let cache = ChunkCache(capacity: configuration.cacheBytes ?? 4 * chunkSize * threads, stallTimeout: configuration.stalledReaderTimeout)
        let memo = RecordMemo(chunks: reader.entries.indices)
        recordMemo = memo
        var exports: [NBDExport] = []
        var instances: Instances?
        if configuration.overlayPath != nil && configuration.overlayDirectory != nil {
            throw NBDServerError(.invalidConfiguration, "an overlay file and an overlay directory are alternatives: one disk writable, or one overlay per instance")
        }
        if let directory = configuration.overlayDirectory {
            try Self.makeDirectory(directory)
            instances = Instances(directory: directory, rootDigest: reader.rootDigest, log: configuration.log) { [source = configuration.chunkSource, log = configuration.log] stream, overlay in
                NBDExport(reader: reader, stream: stream, cache: cache, memo: memo, overlay: overlay, source: source, threadPool: pool, log: log)
            }
        }
        if let overlayPath = configuration.overlayPath {
            var stream = first
            if let name = configuration.overlayDisk {
                guard let s = disks.first(where: { reader.streams[$0].name == name }) else {
                    let known = disks.map { reader.streams[$0].name }.joined(separator: ", ")
                    throw NBDServerError(.noSuchExport, "no disk named \"\(name)\"; the image has: \(known)", path: configuration.imagePath)
                }
                stream = s
            }
            let info = reader.streams[stream]
            let overlay = try Overlay(path: overlayPath, rootDigest: reader.rootDigest, diskName: info.name, diskSize: info.logicalSize)
            exports = [NBDExport(reader: reader, stream: stream, cache: cache, memo: memo, overlay: overlay, source: configuration.chunkSource, threadPool: pool, log: configuration.log)]
        } else {
            exports = disks.map { NBDExport(reader: reader, stream: $0, cache: cache, memo: memo, overlay: nil, source: configuration.chunkSource, threadPool: pool, log: configuration.log) }
        }
        pool.start()
        threadPool = pool
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        context = NBDServerContext(exports: exports, instances: instances, threadPool: pool, handshakeTimeout: configuration.handshakeTimeout, log: configuration.log)
        finished.enter()
    }

    /// The names clients can ask for, in image order (with an overlay directory, also
    /// `INSTANCE/NAME` for any instance name).
    public var exportNames: [String] { context.exports.map(\.name) }

    /// Instances whose overlays are open now (used by a connection).
    public var openInstances: Int { context.instances?.openCount ?? 0 }

    /// Creates the overlay directory if it is missing (not its parents: a mistyped path should
    /// fail, not grow a tree), and checks that it is a directory.
    private static func makeDirectory(_ path: String) throws(NBDServerError) {
        if system_mkdir(path, 0o755) != 0, system_errno != _EEXIST {
            throw NBDServerError(.io, "cannot create the overlay directory (its parent must exist)", path: path, cause: system_errno)
        }
        let fd = system_open(path, _O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        guard fd >= 0 else { throw NBDServerError(.io, "the overlay directory is not a directory", path: path, cause: system_errno) }
        _ = system_close(fd)
    }

    /// Cache hits and misses so far.
    public var cacheStatistics: (hits: Int, misses: Int) { context.exports.first!.cache.statistics }

    /// The kept-blocks tier (blocks clients read of chunks evicted after sparse reads): reads it
    /// answered without a decode, evicted chunks whose blocks it kept or found too densely read to
    /// keep, and the chunks and bytes it holds now and held at most (part of ``chunkMemory``).
    package var keptBlocks: (hits: Int, keptChunks: Int, denseChunks: Int, chunks: Int, bytes: Int, peakBytes: Int) {
        context.exports.first!.cache.keptStatistics
    }

    /// Decodes that trusted a ``VerifiedRecord`` instead of hashing the content, and records
    /// verified for that (``RecordMemo``).
    package var recordMemoStatistics: (trusted: Int, recorded: Int) { recordMemo.statistics }

    /// The decoded chunks' bytes held now and at most so far (cached, being decoded, and pinned by
    /// replies not yet sent), against the budget; and how many decodes started over the budget
    /// because clients that stopped reading held the room.
    package var chunkMemory: (bytes: Int, peakBytes: Int, capacity: Int, overdrafts: Int, deferrals: Int) {
        let cache = context.exports.first!.cache
        let a = cache.accounting
        return (a.bytes, a.peakBytes, cache.capacity, a.overdrafts, a.deferrals)
    }

    /// Reply bytes a connection may hold unsent in the process before it stops starting requests.
    /// Small, because a reply is a slice of a decoded chunk and keeps the whole chunk alive: 8
    /// nbdcopy clients (32 connections) with 8 MiB each held 270 MiB where the cache was 32 MiB.
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 256 << 10, high: 1 << 20)
    /// The kernel's send buffer per connection (Linux doubles it, up to net.core.wmem_max): the
    /// kernel copies replies out of the chunks at once, so the chunks are free sooner, and fewer
    /// writes hit a full socket (writev calls failing with EAGAIN per nbdcopy of the 2 GiB disk:
    /// 1308 of 5850 with the 208 KiB default).
    static let socketSendBuffer = 4 << 20

    /// Starts listening; returns the bound address (the port chosen when `port` was 0).
    /// - Parameter allowRemote: accept a TCP address that is not loopback.
    @discardableResult
    public func listen(on address: Address, allowRemote: Bool = false) throws -> Address {
        let maxConnections = configuration.maxConnections
        let context = self.context
        let log = configuration.log
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_sndbuf), value: Self.socketSendBuffer)
            .childChannelOption(.writeBufferWaterMark, value: Self.writeBufferWaterMark)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [registry] channel in
                let id = ObjectIdentifier(channel)
                let admitted = registry.state.withLock { s -> Bool in
                    guard !s.stopped, s.connections.count < maxConnections else {
                        s.refused += 1
                        return false
                    }
                    s.connections[id] = channel
                    return true
                }
                guard admitted else {
                    log("imgpack serve: refusing a connection: \(maxConnections) clients are connected (--max-connections)")
                    return channel.eventLoop.makeFailedFuture(NBDServerError(.io, "too many connections"))
                }
                channel.closeFuture.whenComplete { _ in _ = registry.state.withLock { $0.connections.removeValue(forKey: id) } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(NBDFrameDecoder()), NBDReplyEncoder(), NBDConnectionHandler(server: context),
                    ])
                }
            }
        let channel: any Channel
        var bound = address
        switch address {
        case .unix(let path):
            channel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
        case .tcp(let host, let port):
            let socketAddress: SocketAddress
            do { socketAddress = try SocketAddress.makeAddressResolvingHost(host, port: port) } catch {
                throw NBDServerError(.refusedAddress, "cannot resolve \(host): \(error)")
            }
            guard allowRemote || Self.isLoopback(socketAddress) else {
                throw NBDServerError(.refusedAddress, "\(address) is not a loopback address; clients on the network could read the disks (pass --allow-remote to serve them anyway)")
            }
            bootstrap = bootstrap.childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            channel = try bootstrap.bind(to: socketAddress).wait()
            bound = .tcp(host: host, port: channel.localAddress?.port ?? port)
        }
        registry.state.withLock { $0.listeners.append((channel, bound)) }
        return bound
    }

    static func isLoopback(_ address: SocketAddress) -> Bool {
        guard let ip = address.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    /// Blocks until ``shutdown()`` has finished.
    public func wait() { finished.wait() }

    /// Stops listening, closes every connection, makes overlay writes durable and removes the
    /// Unix socket. Safe to call more than once and from any thread but the server's own.
    public func shutdown() {
        let (listeners, connections, first) = registry.state.withLock { s in
            defer { s.stopped = true }
            return (s.listeners, Array(s.connections.values), !s.stopped)
        }
        guard first else { return }
        for (channel, address) in listeners {
            try? channel.close().wait()
            if case .unix(let path) = address { _ = system_unlink(path) }
        }
        for channel in connections { try? channel.close().wait() }
        for export in context.exports {
            do throws(NBDRequestFailure) { try export.flush() } catch {
                configuration.log("imgpack serve: flushing the overlay at shutdown failed: \(error.message)")
            }
        }
        // A decode waiting for room would leave its requests' promises unfulfilled: start them, the
        // pool fails them as it stops.
        context.exports.first?.cache.startAllDeferred()
        try? threadPool.syncShutdownGracefully()
        // Instances whose last connection left have flushed already; these still had one.
        context.instances?.closeAll()
        let (hits, misses) = cacheStatistics
        let memory = chunkMemory
        let overdrafts = memory.overdrafts == 0 ? "" : ", \(memory.overdrafts) decodes over budget while clients did not read"
        let kept = keptBlocks
        let memo = recordMemoStatistics
        configuration.log(
            "imgpack serve: stopped; chunk cache: \(hits) hits, \(misses) decodes (\(memo.trusted) of them trusted a verified record instead of hashing the content, \(memo.recorded) records verified for that), at most \(memory.peakBytes >> 20) MiB of \(memory.capacity >> 20) MiB held, \(memory.deferrals) decodes waited for room\(overdrafts); "
                + "kept blocks: \(kept.hits) reads answered without a decode, blocks kept of \(kept.keptChunks) evicted chunks (\(kept.denseChunks) read too densely to keep), at most \(kept.peakBytes >> 20) MiB")
        // Only now that no request can run: another server may take the overlay once this returns.
        for export in context.exports { export.overlay?.close() }
        try? group.syncShutdownGracefully()
        finished.leave()
    }

    /// Writes a line to standard error (the default log).
    public static let standardError: @Sendable (String) -> Void = { line in
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(2, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { return }
                done += n
            }
        }
    }
}
