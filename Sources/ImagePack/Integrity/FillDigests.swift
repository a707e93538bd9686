import Crypto
import Synchronization

/// SHA-256 of fill chunks' content, computed once per (pattern, length): a fill chunk stores 8
/// bytes for up to `maxChunkSize` of content, so an image of 2,048 fill chunks of 64 MiB (320 KB
/// on disk) made `verify` hash 128 GiB, one chunk at a time. With the digest cached as
/// ``ZeroDigests`` caches zeros, the first chunk costs one hash and the rest are lookups.
enum FillDigests {
    struct Key: Hashable {
        var pattern: UInt64
        var length: UInt32
    }

    private static let cache = Mutex<[Key: Digest]>([:])

    /// The SHA-256 of `length` bytes repeating the 8 bytes of `pattern` (as stored in memory),
    /// hashed from one 64 KiB block of the pattern: nothing of `length` is allocated.
    static func digest(pattern: UInt64, length: UInt32) -> Digest {
        let key = Key(pattern: pattern, length: length)
        if let known = cache.withLock({ $0[key] }) { return known }
        let block = 1 << 16
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: block, alignment: 64)
        defer { bytes.deallocate() }
        var i = 0
        while i < block {
            bytes.storeBytes(of: pattern, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        var hasher = SHA256()
        var left = Int(length)
        while left > 0 {
            let n = min(block, left)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[0..<n]))
            left -= n
        }
        let d = Digest(hasher.finalize())
        cache.withLock {
            if $0.count > 64 { $0.removeAll() }  // many distinct patterns: keep the cache bounded
            $0[key] = d
        }
        return d
    }
}
