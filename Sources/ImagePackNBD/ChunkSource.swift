import Dispatch
import ImagePack
import Synchronization

/// Where an export's chunk records come from when the image is not all on this machine (an
/// image in a registry, read lazily): the export awaits ``makePresent(entry:)`` before it
/// decodes a chunk, so that the reader then finds the chunk's record in its file.
///
/// The source only moves bytes; the reader still verifies every chunk it decodes, so a source
/// that brings wrong bytes gives the client an I/O error for that range, never wrong data. This
/// keeps ImagePackNBD free of any transport: the CLI adapts the registry's lazy image to it.
public protocol ChunkSource: Sendable {
    /// Makes the record of chunk `entry` (an index of the reader's entries), and whatever record
    /// its content needs (a reference's target), readable through the export's reader. Called
    /// before each decode of a chunk that is not cached; returns at once for a record it brought
    /// before.
    func makePresent(entry: Int) async throws(ImagePackError)

    /// Starts bringing the records of `entries` without waiting for them: a sequential reader
    /// will ask for them next. Fetched records cost the source's local file, not memory, so the
    /// export asks further ahead here than it decodes. Failures are dropped: the
    /// ``makePresent(entry:)`` of a chunk that did not come reports them.
    func prefetch(entries: [Int])
}

extension ChunkSource {
    /// ``makePresent(entry:)`` from a thread that may block (a pool thread: the overlay's copy of
    /// a partial block), waiting for the async work, which runs on other threads.
    func makePresentBlocking(entry: Int) throws(ImagePackError) {
        let outcome = Mutex<Result<Void, ImagePackError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<Void, ImagePackError>
            do throws(ImagePackError) {
                try await makePresent(entry: entry)
                result = .success(())
            } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        try outcome.withLock { $0 }!.get()
    }
}
