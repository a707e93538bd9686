/// What one thread needs to read and decode chunks, kept between chunks so that steady-state
/// reading allocates nothing: a payload decoder and a buffer for one whole chunk record.
package final class ChunkScratch: @unchecked Sendable {
    let decoder = PayloadDecoder()
    private var storage: UnsafeMutableRawBufferPointer

    init(capacity: Int = 0) { storage = .allocate(byteCount: max(capacity, 64), alignment: 64) }
    deinit { storage.deallocate() }

    /// The first `count` bytes of the record buffer, grown (contents dropped) when too small.
    func record(count: Int) -> UnsafeMutableRawBufferPointer {
        if storage.count < count {
            storage.deallocate()
            storage = .allocate(byteCount: count, alignment: 64)
        }
        return UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
    }
}

/// A decoded chunk kept by the random-access reader so small sequential reads decode it once.
final class DecodedChunk: @unchecked Sendable {
    /// Index of the chunk the buffer holds; -1 while it holds nothing valid.
    var index = -1
    let buffer: UnsafeMutableRawBufferPointer
    init(capacity: Int) { buffer = .allocate(byteCount: max(capacity, 1), alignment: 64) }
    deinit { buffer.deallocate() }
}
