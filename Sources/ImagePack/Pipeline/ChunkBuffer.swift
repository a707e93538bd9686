/// A reusable byte buffer for one chunk at a time: 64-byte aligned (cache lines, and what zstd's
/// and SHA-256's wide loads like), grown on demand and never shrunk, freed with the buffer.
///
/// Every pipeline slot (writer, verify, extract, the streaming reader, the validator, qcow2
/// export) and every pooled decode scratch holds its memory in ChunkBuffers, so steady-state
/// reading and writing allocate nothing and memory follows the largest chunk actually seen
/// (each bounded by `maxChunkSize`, rule V22), not the limit.
///
/// `package` so that the targets split off this one (export, import, a server) share it.
///
/// - Important: a ChunkBuffer is not synchronized. It is `@unchecked Sendable` because it moves
///   between threads with its owner: an ``OrderedParallel`` slot belongs to the producer while it
///   is filled, to one worker while it is decoded and to the consumer until it is consumed; a
///   buffer taken from a ``Pool`` belongs to the taker until it is put back. Only the owner of
///   the moment may touch it, and pointers from ``prefix(_:)`` are valid until the next call.
package final class ChunkBuffer: @unchecked Sendable {
    private var storage: UnsafeMutableRawBufferPointer

    /// Alignment of every buffer.
    package static let alignment = 64

    package init(capacity: Int = 0) { storage = .allocate(byteCount: max(capacity, Self.alignment), alignment: Self.alignment) }
    deinit { storage.deallocate() }

    /// Bytes the buffer holds without growing.
    package var capacity: Int { storage.count }

    /// The first `count` bytes, after growing the buffer if it is smaller. Growing drops the
    /// contents: callers fill what they take.
    package func prefix(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if storage.count < count {
            storage.deallocate()
            storage = .allocate(byteCount: count, alignment: Self.alignment)
        }
        return UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
    }
}
