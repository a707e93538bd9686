import Synchronization

/// SHA-256 of runs of zero bytes, computed once per length: zero chunks store no content, but
/// their digest still enters the root (spec §8.3), and with fixed-size chunks there are only one
/// or two distinct lengths per image.
enum ZeroDigests {
    private static let cache = Mutex<[UInt32: Digest]>([:])

    static func digest(length: UInt32) -> Digest {
        if let known = cache.withLock({ $0[length] }) { return known }
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(length), alignment: 64)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        let d = Digest.sha256(UnsafeRawBufferPointer(zeros))
        cache.withLock {
            if $0.count > 64 { $0.removeAll() }  // unusual lengths: keep the cache bounded
            $0[length] = d
        }
        return d
    }
}

/// What a buffer holds, found in one pass at memory speed.
enum ContentShape: Equatable {
    case zero
    /// An 8-byte pattern repeated to the end (erased flash, 0xFF padding).
    case fill(UInt64)
    case other

    /// A buffer of length a multiple of 8 is periodic with period 8 exactly when it equals itself
    /// shifted by 8 bytes, which one `memcmp` decides (it stops at the first difference).
    static func of(_ bytes: UnsafeRawBufferPointer) -> ContentShape {
        let n = bytes.count
        guard n >= 8, n % 8 == 0, let base = bytes.baseAddress else { return .other }
        let pattern = base.loadUnaligned(as: UInt64.self)
        guard memcmp(base, base + 8, n - 8) == 0 else { return .other }
        return pattern == 0 ? .zero : .fill(UInt64(littleEndian: pattern))
    }
}

#if canImport(Glibc)
import Glibc
#endif
