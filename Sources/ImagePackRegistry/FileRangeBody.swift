import Synchronization
import AsyncHTTPClient
import Crypto
import ImagePack
import NIOCore

/// A request body that streams ranges of a file in 1 MiB pieces (pread at absolute offsets), so an
/// upload holds at most one piece per transfer in memory, whatever the blob's size.
struct FileRangeBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let file: ReadableFile
    let ranges: [Range<UInt64>]
    /// Called with the bytes of each piece as it is handed to the connection.
    let progress: (@Sendable (UInt64) -> Void)?

    static let pieceSize: UInt64 = 1 << 20

    var length: UInt64 { ranges.reduce(0) { $0 + UInt64($1.count) } }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: FileRangeBody
        var range = 0
        var position: UInt64

        mutating func next() async throws -> ByteBuffer? {
            while range < body.ranges.count && position >= body.ranges[range].upperBound {
                range += 1
                if range < body.ranges.count { position = body.ranges[range].lowerBound }
            }
            guard range < body.ranges.count else { return nil }
            let count = Int(Swift.min(Self.piece, body.ranges[range].upperBound - position))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            let at = position
            let file = body.file
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
                try file.read(at: at, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]))
                return count
            }
            position += UInt64(count)
            body.progress?(UInt64(count))
            return buffer
        }

        static var piece: UInt64 { FileRangeBody.pieceSize }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self, position: ranges.first?.lowerBound ?? 0)
    }

    var requestBody: HTTPClientRequest.Body { .stream(self, length: .known(Int64(length))) }

    /// The SHA-256 of the ranges' bytes, read in the same pieces.
    func digest() throws(ImagePackError) -> ImagePack.Digest {
        var hasher = SHA256()
        for r in ranges {
            try file.forEachPiece(of: r, pieceSize: Int(Self.pieceSize)) { (piece, _) in hasher.update(bufferPointer: piece) }
        }
        return ImagePack.Digest(hasher.finalize())
    }
}

/// Sums transfer progress from concurrent tasks and reports it, in order, to one handler.
public final class TransferProgress: Sendable {
    private let state: Mutex<(done: UInt64, total: UInt64)>
    private let handler: (@Sendable (UInt64, UInt64) -> Void)?

    public init(total: UInt64 = 0, handler: (@Sendable (UInt64, UInt64) -> Void)?) {
        state = Mutex((0, total))
        self.handler = handler
    }

    func add(total: UInt64) { state.withLock { $0.total += total } }

    func advance(_ bytes: UInt64) {
        guard let handler else { return }
        state.withLock {
            $0.done += bytes
            handler($0.done, max($0.total, $0.done))
        }
    }
}
