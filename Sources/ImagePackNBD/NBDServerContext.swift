import NIOCore
import NIOPosix
import Synchronization

/// What every connection of a server shares: the exports, the instances, the thread pool, the log.
final class NBDServerContext: Sendable {
    let exports: [NBDExport]
    /// With an overlay directory: the writable exports `INSTANCE/DISK`.
    let instances: Instances?
    let threadPool: NIOThreadPool
    let handshakeTimeout: TimeAmount
    let log: @Sendable (String) -> Void
    /// Zeros for simple replies over zero chunks: slices of one buffer, nothing allocated per read.
    let zeroes: ByteBuffer
    /// The most reply bytes any connection had waiting unsent in its channel (backpressure keeps
    /// it near the write buffer's high-water mark plus the reads in work, whatever the client does).
    private let peakBuffered = Atomic<Int>(0)

    init(exports: [NBDExport], instances: Instances? = nil, threadPool: NIOThreadPool, handshakeTimeout: TimeAmount, log: @escaping @Sendable (String) -> Void) {
        self.exports = exports
        self.instances = instances
        self.handshakeTimeout = handshakeTimeout
        self.threadPool = threadPool
        self.log = log
        var zeroes = ByteBufferAllocator().buffer(capacity: 1 << 20)
        zeroes.writeRepeatingByte(0, count: 1 << 20)
        self.zeroes = zeroes
    }

    var peakBufferedReplyBytes: Int { peakBuffered.load(ordering: .relaxed) }

    func notePeakBufferedReplyBytes(_ bytes: Int) {
        var seen = peakBuffered.load(ordering: .relaxed)
        while bytes > seen {
            let (exchanged, original) = peakBuffered.compareExchange(expected: seen, desired: bytes, ordering: .relaxed)
            if exchanged { return }
            seen = original
        }
    }

    /// The export called `name`; "" is the first disk.
    func export(named name: String) -> NBDExport? {
        name.isEmpty ? exports.first : exports.first { $0.name == name }
    }

    /// What a client's export name asks for.
    enum Target {
        /// A disk of the image, served as it is (or through the one `--overlay`).
        case export(NBDExport)
        /// Disk `disk` of instance `instance`: its overlay opens when the client chooses it.
        case instance(String, disk: NBDExport)
    }

    /// The export or instance disk `name` names, or why there is none (for the client).
    func target(named name: String) -> Result<Target, NBDServerError> {
        if let (instance, diskName) = Instances.split(name) {
            guard instances != nil else {
                return .failure(NBDServerError(.noSuchExport, "no export named \"\(name)\": instance exports (INSTANCE/DISK) need a server started with an overlay directory"))
            }
            if let problem = Instances.problem(withName: instance) { return .failure(NBDServerError(.noSuchExport, problem)) }
            guard let disk = export(named: diskName) else { return .failure(unknown(diskName)) }
            return .success(.instance(instance, disk: disk))
        }
        guard let export = export(named: name) else { return .failure(unknown(name)) }
        return .success(.export(export))
    }

    private func unknown(_ name: String) -> NBDServerError {
        let known = exports.map { "\"\($0.name)\"" }.joined(separator: ", ")
        return NBDServerError(.noSuchExport, "no disk named \"\(name)\"; the image has \(known)" + (instances == nil ? "" : ", each also as INSTANCE/DISK"))
    }

    /// The bytes of a piece as sent: the data, or slices of the shared zeros or of the shared
    /// buffer of a fill pattern.
    func bytes(_ piece: NBDExport.Piece) -> [ByteBuffer] {
        switch piece {
        case .data(let b), .chunk(let b, _):
            return [b]
        case .zero(let n):
            return Self.slices(of: zeroes, at: 0, count: n)
        case .fill(let pattern, let phase, let count):
            return Self.slices(of: fillBuffer(pattern), at: phase, count: count)
        }
    }

    /// `count` bytes from a buffer of a repeating 8-byte pattern, starting `phase` bytes into it:
    /// slices that share the buffer's storage.
    private static func slices(of buffer: ByteBuffer, at phase: Int, count: Int) -> [ByteBuffer] {
        let usable = (buffer.readableBytes - phase) / 8 * 8
        var parts: [ByteBuffer] = []
        var left = count
        while left > 0 {
            let take = min(left, usable)
            parts.append(buffer.getSlice(at: buffer.readerIndex + phase, length: take)!)
            left -= take
        }
        return parts
    }

    /// Fill patterns' buffers, built on first use: an image has few distinct patterns (0xFF
    /// erased flash, a filler byte), so at most ``maxFillBuffers`` of 1 MiB are kept; a pattern
    /// beyond them gets a buffer of its own for the reply.
    private let fillBuffers = Mutex<[UInt64: ByteBuffer]>([:])
    static let maxFillBuffers = 8

    private func fillBuffer(_ pattern: UInt64) -> ByteBuffer {
        if pattern == 0 { return zeroes }
        if let kept = fillBuffers.withLock({ $0[pattern] }) { return kept }
        var buffer = ByteBufferAllocator().buffer(capacity: zeroes.readableBytes + 8)
        for _ in 0..<(zeroes.readableBytes / 8 + 1) { buffer.writeInteger(pattern, endianness: .host) }
        fillBuffers.withLock { if $0.count < Self.maxFillBuffers { $0[pattern] = buffer } }
        return buffer
    }
}
