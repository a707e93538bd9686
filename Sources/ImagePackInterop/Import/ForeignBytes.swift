import ImagePack
import Synchronization

/// Fixed-width integer fields of a foreign on-disk structure held in a byte array.
/// Offsets are relative to the array; callers size the array before reading from it.
struct ForeignBytes {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    @inline(__always) func be<T: FixedWidthInteger & UnsignedInteger>(_ offset: Int, as: T.Type = T.self) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value = value << 8 | T(bytes[offset + i]) }
        return value
    }

    @inline(__always) func le<T: FixedWidthInteger & UnsignedInteger>(_ offset: Int, as: T.Type = T.self) -> T {
        var value: T = 0
        for i in (0..<MemoryLayout<T>.size).reversed() { value = value << 8 | T(bytes[offset + i]) }
        return value
    }

    func ascii(_ offset: Int, _ count: Int) -> String {
        String(decoding: bytes[offset..<offset + count], as: UTF8.self)
    }

    func matches(_ offset: Int, _ literal: [UInt8]) -> Bool {
        offset >= 0 && offset + literal.count <= bytes.count && Array(bytes[offset..<offset + literal.count]) == literal
    }
}

/// Big-endian and little-endian entries of a table read from a foreign file.
extension UnsafeRawBufferPointer {
    @inline(__always) func beUInt64(_ offset: Int) -> UInt64 { UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    @inline(__always) func beUInt32(_ offset: Int) -> UInt32 { UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    @inline(__always) func leUInt32(_ offset: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
}

/// Error factories for imported files: every failure names the file offset and the field,
/// and says what the user can do. Kept out of line so the read paths stay small.
enum ImportError {
    @inline(never)
    static func invalid(_ format: ForeignFormat, _ message: String, offset: UInt64, field: String, path: String) -> ImagePackError {
        ImagePackError(
            .invalidInput,
            "\(format.displayName): \(message); the file is corrupt or crafted. Check it with `qemu-img check` or re-export it from the tool that made it",
            offset: offset, field: field, path: path)
    }

    @inline(never)
    static func unsupported(_ format: ForeignFormat, _ message: String, offset: UInt64? = nil, field: String? = nil, path: String) -> ImagePackError {
        ImagePackError(.unsupportedInput, "\(format.displayName): \(message)", offset: offset, field: field, path: path)
    }

    @inline(never)
    static func limit(_ format: ForeignFormat, _ message: String, offset: UInt64, field: String, path: String) -> ImagePackError {
        ImagePackError(
            .limitExceeded, "\(format.displayName): \(message); raise the matching ImportLimits value only if you trust this file",
            offset: offset, field: field, path: path)
    }

    @inline(never)
    static func truncated(_ format: ForeignFormat, _ message: String, offset: UInt64, field: String, path: String) -> ImagePackError {
        ImagePackError(
            .truncated, "\(format.displayName): \(message); the file was cut short (interrupted copy or download?), fetch it again",
            offset: offset, field: field, path: path)
    }
}

/// A small pool of decompressors: one is taken per call and returned after, so concurrent
/// readers never share a zlib or zstd state and at most `capacity` idle ones are kept.
typealias DecompressorPool<D: AnyObject & Sendable> = Pool<D>

/// A bounded cache of second-level tables (qcow2 L2, VMDK grain tables) keyed by file offset.
/// Eviction is first-in first-out; memory never exceeds `maxTables` tables.
final class TableCache: Sendable {
    private struct State {
        var tables: [UInt64: [UInt64]] = [:]
        var order: [UInt64] = []
    }
    private let state = Mutex(State())
    let maxTables: Int

    init(maxTables: Int) { self.maxTables = max(1, maxTables) }

    func table(at offset: UInt64, load: () throws(ImagePackError) -> [UInt64]) throws(ImagePackError) -> [UInt64] {
        if let hit = state.withLock({ $0.tables[offset] }) { return hit }
        let table = try load()
        state.withLock { state in
            guard state.tables[offset] == nil else { return }
            if state.order.count >= maxTables {
                let victim = state.order.removeFirst()
                state.tables[victim] = nil
            }
            state.tables[offset] = table
            state.order.append(offset)
        }
        return table
    }
}

/// Overflow-checked arithmetic for values read from a foreign file.
extension UInt64 {
    @inline(__always) func checkedAdd(_ other: UInt64) -> UInt64? {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? nil : sum
    }
    @inline(__always) func checkedMul(_ other: UInt64) -> UInt64? {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? nil : product
    }
    /// `self / divisor` rounded up; divisor must be non-zero.
    @inline(__always) func divCeil(_ divisor: UInt64) -> UInt64 { self / divisor + (self % divisor == 0 ? 0 : 1) }
}
