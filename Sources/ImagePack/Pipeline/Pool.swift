import Synchronization

/// A bounded free list of reusable objects (decode scratch, decompressor contexts), shared by
/// threads: ``take()`` hands one out (a new one when the pool is empty) and ``put(_:)`` takes it
/// back unless `capacity` are already kept, so the pool never holds more than a busy moment needed.
///
/// `package` so that the targets split off this one (import, a server) share it.
///
/// An object taken belongs to the taker alone until it is put back; the pool itself is the only
/// synchronized part. Used by the random-access reader (decoders, decoded chunks) and the foreign
/// image readers (decompressor contexts); a server answering many clients reuses the same pools.
package final class Pool<Element: AnyObject & Sendable>: Sendable {
    private let free: Mutex<[Element]>
    private let capacity: Int
    private let make: @Sendable () throws(ImagePackError) -> Element

    /// - Parameters:
    ///   - capacity: most objects kept for reuse; more may be in use at once.
    ///   - make: creates an object when the pool is empty (a decompressor context may fail to).
    package init(capacity: Int = 8, make: @escaping @Sendable () throws(ImagePackError) -> Element) {
        free = Mutex([])
        self.capacity = capacity
        self.make = make
    }

    /// An object for the caller's exclusive use: a kept one, or a new one.
    package func take() throws(ImagePackError) -> Element {
        if let kept = free.withLock({ $0.popLast() }) { return kept }
        return try make()
    }

    /// Keeps `element` for reuse, or drops it when the pool is full.
    package func put(_ element: Element) { free.withLock { if $0.count < capacity { $0.append(element) } } }

    /// Runs `body` with an object taken from the pool and puts it back afterwards, error or not.
    package func with<T>(_ body: (Element) throws(ImagePackError) -> T) throws(ImagePackError) -> T {
        let element = try take()
        defer { put(element) }
        return try body(element)
    }
}
