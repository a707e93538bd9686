import NIOCore
import NIOPosix
import Synchronization

/// What every connection of a server shares: the exports, the thread pool, the log.
final class NBDServerContext: Sendable {
    let exports: [NBDExport]
    let threadPool: NIOThreadPool
    let handshakeTimeout: TimeAmount
    let log: @Sendable (String) -> Void
    /// Zeros for simple replies over zero chunks: slices of one buffer, nothing allocated per read.
    let zeroes: ByteBuffer
    /// The most reply bytes any connection had waiting unsent in its channel (backpressure keeps
    /// it near the write buffer's high-water mark plus the reads in work, whatever the client does).
    private let peakBuffered = Atomic<Int>(0)

    init(exports: [NBDExport], threadPool: NIOThreadPool, handshakeTimeout: TimeAmount, log: @escaping @Sendable (String) -> Void) {
        self.exports = exports
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

    /// The bytes of a piece for a simple reply: the data, or slices of the shared zeros.
    func bytes(_ piece: NBDExport.Piece) -> [ByteBuffer] {
        switch piece {
        case .data(let b), .chunk(let b, _):
            return [b]
        case .zero(var n):
            var parts: [ByteBuffer] = []
            while n > 0 {
                let take = min(n, zeroes.readableBytes)
                parts.append(zeroes.getSlice(at: zeroes.readerIndex, length: take)!)
                n -= take
            }
            return parts
        }
    }
}
