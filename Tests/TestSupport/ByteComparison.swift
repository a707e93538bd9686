import Foundation
import Testing

/// Two byte sequences compared as one Bool, with where they first differ.
///
/// `#expect(a == b)` on two `Data` or `[UInt8]` values makes Swift Testing, on a mismatch, diff
/// the two collections element by element to describe them: for buffers of megabytes that diff
/// ran for over 20 minutes, so a failing test hung the suite instead of failing. This compares
/// with `memcmp` (4 KiB blocks, then the differing block byte by byte) and describes a mismatch
/// by both lengths, the first differing offset and the bytes around it, in hex.
public struct ByteComparison: Sendable, CustomStringConvertible {
    public let actualCount: Int
    public let expectedCount: Int
    /// The first offset where the two differ (from each one's first byte, whatever a slice's
    /// indices), or the shorter length when one is a prefix of the other; nil when equal.
    public let firstDifference: Int?
    /// Up to `context` bytes either side of `firstDifference`, from each sequence, in hex.
    let actualAround: String
    let expectedAround: String

    /// Bytes shown either side of the first difference.
    static let context = 8

    public var same: Bool { firstDifference == nil }

    public init(_ actual: some Collection<UInt8>, _ expected: some Collection<UInt8>) {
        let (difference, actualAround, expectedAround) = Self.withBytes(actual) { a in
            Self.withBytes(expected) { e in
                let at = Self.firstDifference(a, e)
                return (at, at.map { Self.hex(a, around: $0) } ?? "", at.map { Self.hex(e, around: $0) } ?? "")
            }
        }
        actualCount = actual.count
        expectedCount = expected.count
        firstDifference = difference
        self.actualAround = actualAround
        self.expectedAround = expectedAround
    }

    public var description: String {
        guard let at = firstDifference else { return "the same \(actualCount) bytes" }
        let lengths = actualCount == expectedCount ? "both \(actualCount) bytes long" : "\(actualCount) bytes against \(expectedCount) expected"
        return "the bytes differ (\(lengths)), first at offset \(at) (0x\(String(at, radix: 16))): "
            + "actual [\(actualAround)] expected [\(expectedAround)] (from offset \(max(0, at - Self.context)))"
    }

    /// Runs `body` over the collection's bytes in place when it keeps them contiguous (Array,
    /// ArraySlice, Data), over a copy otherwise.
    static func withBytes<R>(_ bytes: some Collection<UInt8>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let result = bytes.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return result }
        return Array(bytes).withUnsafeBytes(body)
    }

    static func firstDifference(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int? {
        let common = min(a.count, b.count)
        let block = 4096
        var start = 0
        while start < common {
            let length = min(block, common - start)
            if memcmp(a.baseAddress! + start, b.baseAddress! + start, length) != 0 {
                for i in start..<(start + length) where a[i] != b[i] { return i }
            }
            start += length
        }
        return a.count == b.count ? nil : common
    }

    static func hex(_ bytes: UnsafeRawBufferPointer, around offset: Int) -> String {
        let range = max(0, offset - context)..<min(bytes.count, offset + context)
        return range.map { ($0 == offset ? ">" : "") + String(format: "%02x", bytes[$0]) }.joined(separator: " ")
    }
}

/// Records an issue unless `actual` and `expected` hold the same bytes; the issue says both
/// lengths and where they first differ (see ``ByteComparison``).
/// - Returns: whether they are the same, for a test that goes on differently.
@discardableResult
public func expectSameBytes(
    _ actual: some Collection<UInt8>, _ expected: some Collection<UInt8>, _ comment: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    let comparison = ByteComparison(actual, expected)
    if !comparison.same {
        let what = comment()
        Issue.record(Comment(rawValue: (what.isEmpty ? "" : what + ": ") + comparison.description), sourceLocation: sourceLocation)
    }
    return comparison.same
}

/// Records an issue unless the two lists hold as many buffers, each with the same bytes as its
/// counterpart (the disks of an image, the streams of a read); the issue names the first buffer
/// that differs and where.
@discardableResult
public func expectSameBytes<Actual: Collection<UInt8>, Expected: Collection<UInt8>>(
    _ actual: [Actual], _ expected: [Expected], _ comment: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    var problem: String?
    if actual.count != expected.count {
        problem = "\(actual.count) buffers against \(expected.count) expected"
    } else if let (i, comparison) = zip(actual, expected).lazy.map({ ByteComparison($0, $1) }).enumerated().first(where: { !$1.same }) {
        problem = "buffer \(i) of \(actual.count): \(comparison)"
    }
    if let problem {
        let what = comment()
        Issue.record(Comment(rawValue: (what.isEmpty ? "" : what + ": ") + problem), sourceLocation: sourceLocation)
    }
    return problem == nil
}

/// Records an issue if `actual` and `expected` hold the same bytes (a change that should have
/// changed something).
public func expectDifferentBytes(
    _ actual: some Collection<UInt8>, _ expected: some Collection<UInt8>, _ comment: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let comparison = ByteComparison(actual, expected)
    if comparison.same {
        let what = comment()
        Issue.record(Comment(rawValue: (what.isEmpty ? "" : what + ": ") + "expected different bytes, got \(comparison)"), sourceLocation: sourceLocation)
    }
}

/// Like ``expectSameBytes(_:_:_:sourceLocation:)``, but ends the test on a mismatch (as
/// `#require` does).
public func requireSameBytes(
    _ actual: some Collection<UInt8>, _ expected: some Collection<UInt8>, _ comment: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let comparison = ByteComparison(actual, expected)
    let what = comment()
    try #require(comparison.same, Comment(rawValue: (what.isEmpty ? "" : what + ": ") + comparison.description), sourceLocation: sourceLocation)
}
