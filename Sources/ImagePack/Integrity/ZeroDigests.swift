import Crypto
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

    /// The digests of zero runs of every length in `lengths`, for checking a whole index.
    ///
    /// A hostile index can list thousands of zero chunks of distinct lengths (each up to
    /// `maxChunkSize`) in a few kilobytes; hashing each length from scratch would cost one large
    /// hash per entry. Here the lengths are sorted and one SHA-256 runs over zeros up to the
    /// longest, finalizing a copy at each length: at most one `maxChunkSize` hash in all.
    static func digests(forLengths lengths: some Sequence<UInt32>) -> [UInt32: Digest] {
        let wanted = Set(lengths)
        var result: [UInt32: Digest] = [:]
        var missing: [UInt32] = []
        cache.withLock { known in
            for length in wanted {
                if let d = known[length] { result[length] = d } else { missing.append(length) }
            }
        }
        if missing.count == 1 { result[missing[0]] = digest(length: missing[0]) }
        guard missing.count > 1 else { return result }
        missing.sort()
        let block = 1 << 16
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: block, alignment: 64)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        var hasher = SHA256()
        var position: UInt64 = 0
        for length in missing {
            while position < UInt64(length) {
                let n = Int(min(UInt64(block), UInt64(length) - position))
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: zeros[0..<n]))
                position += UInt64(n)
            }
            result[length] = Digest(hasher.finalize())
        }
        return result
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
        guard system_memcmp(base, base + 8, n - 8) == 0 else { return .other }
        return pattern == 0 ? .zero : .fill(UInt64(littleEndian: pattern))
    }
}

extension ContentShape {
    /// Whether `bytes` holds zeros only: the first 8 bytes are zero and the buffer equals itself
    /// shifted by 8 (one `memcmp`, which stops at the first difference); a byte loop for what is
    /// not a multiple of 8.
    static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        guard let base = bytes.baseAddress, n > 0 else { return true }
        let whole = n & ~7
        if whole >= 8 {
            guard base.loadUnaligned(as: UInt64.self) == 0, system_memcmp(base, base + 8, whole - 8) == 0 else { return false }
        }
        for i in whole..<n where bytes[i] != 0 { return false }
        return true
    }
}
