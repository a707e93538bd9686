/// Appends little-endian fields to a byte array (spec §1: every integer is little-endian).
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inlinable mutating func u8(_ v: UInt8) { bytes.append(v) }
    @inlinable mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    @inlinable mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    @inlinable mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func zeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }
    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
    mutating func append(_ other: UnsafeRawBufferPointer) { bytes.append(contentsOf: other) }
    mutating func digest(_ d: Digest) { append(d.bytes) }
    /// Appends the CRC-32C of everything written since `start`.
    mutating func crc(from start: Int = 0) {
        let value = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        u32(value)
    }
    var count: Int { bytes.count }
}

/// Reads little-endian fields from untrusted bytes. Every read is bounds-checked and reports
/// the absolute file offset of the field it could not read.
struct ByteCursor {
    let bytes: [UInt8]
    /// File offset of `bytes[0]`, for error messages.
    let base: UInt64
    private(set) var position = 0
    /// Which structure is being read, for error messages ("header", "index entry 7").
    var context: String

    init(_ bytes: [UInt8], base: UInt64, context: String) {
        self.bytes = bytes
        self.base = base
        self.context = context
    }

    var remaining: Int { bytes.count - position }
    var offset: UInt64 { base + UInt64(position) }

    private func need(_ n: Int, _ field: String) throws(ImagePackError) {
        guard n <= remaining else {
            throw ImagePackError(.truncated, "\(context) ends before field \(field)", rule: "V10", offset: offset, field: field)
        }
    }
    mutating func u8(_ field: String) throws(ImagePackError) -> UInt8 {
        try need(1, field)
        defer { position += 1 }
        return bytes[position]
    }
    mutating func u16(_ field: String) throws(ImagePackError) -> UInt16 { UInt16(truncatingIfNeeded: try uint(2, field)) }
    mutating func u32(_ field: String) throws(ImagePackError) -> UInt32 { UInt32(truncatingIfNeeded: try uint(4, field)) }
    mutating func u64(_ field: String) throws(ImagePackError) -> UInt64 { try uint(8, field) }
    private mutating func uint(_ n: Int, _ field: String) throws(ImagePackError) -> UInt64 {
        try need(n, field)
        var value: UInt64 = 0
        for i in 0..<n { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += n
        return value
    }
    mutating func take(_ n: Int, _ field: String) throws(ImagePackError) -> ArraySlice<UInt8> {
        try need(n, field)
        defer { position += n }
        return bytes[position..<position + n]
    }
    mutating func digest(_ field: String) throws(ImagePackError) -> Digest {
        let slice = try take(32, field)
        return slice.withUnsafeBytes { Digest(bytes: $0) }
    }
    /// Reads a reserved field and refuses any non-zero value (rule V6).
    mutating func reserved(_ n: Int, _ field: String) throws(ImagePackError) {
        let at = offset
        let slice = try take(n, field)
        guard slice.allSatisfy({ $0 == 0 }) else {
            throw ImagePackError(.reservedFieldNotZero, "\(context): reserved field \(field) must be zero", rule: "V6", offset: at, field: field)
        }
    }
}

/// `withUnsafeBytes` that keeps the typed error (the standard library's rethrows `any Error`).
@inline(__always)
package func withBytes<T>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ImagePackError) -> T) throws(ImagePackError) -> T {
    let result: Result<T, ImagePackError> = array.withUnsafeBytes { raw in
        do throws(ImagePackError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// `withUnsafeMutableBytes` that keeps the typed error.
@inline(__always)
func withMutableBytes<T>(_ array: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(ImagePackError) -> T) throws(ImagePackError) -> T {
    let result: Result<T, ImagePackError> = array.withUnsafeMutableBytes { raw in
        do throws(ImagePackError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}
