import ImagePack
import NIOCore
import Synchronization

/// A copy-on-write layer over one disk of an image: writes land in a sparse file at 4 KiB block
/// granularity, with a bitmap of the blocks written (format in spec/OVERLAY.md).
///
/// Block `b` lives at `dataOffset + b × 4096`, the same place whatever the order of writes, so
/// the file needs no allocation table and no compaction; blocks never written are holes. The
/// map in memory runs ahead of the map on disk: bits are set once their data is written, and
/// reach the file on ``flush()`` after the data has been synced, so a map bit on disk always
/// points at data on disk.
final class Overlay: Sendable {
    static let blockSize = 4096
    static let headerSize = 4096
    /// "IPKOVLY1"
    static let magic: [UInt8] = [0x49, 0x50, 0x4b, 0x4f, 0x56, 0x4c, 0x59, 0x31]
    static let version: UInt32 = 1
    /// Offset of the name in the header; the name may run to the end of the header.
    static let nameOffset = 58

    let file: OverlayFile
    let diskSize: UInt64
    let blockCount: Int
    let mapOffset = UInt64(Overlay.headerSize)
    let mapLength: Int
    let dataOffset: UInt64

    private struct State {
        var map: [UInt8]
        /// Map pages (4 KiB of the map each) changed since the last flush.
        var dirtyPages: Set<Int> = []
    }
    private let state: Mutex<State>
    /// Serializes writers, so that two partial writes of one block never both copy it from the image.
    private let writeLock = Mutex<Void>(())

    /// Opens the overlay at `path`, creating it for this image and disk if the file is missing.
    /// - Throws: `.overlayMismatch` if it was made for another image, disk name or size;
    ///   `.invalidOverlay` if it is not a well-formed overlay; `.io` for system call failures.
    init(path: String, rootDigest: Digest, diskName: String, diskSize: UInt64) throws(NBDServerError) {
        let (file, created) = try OverlayFile.open(path)
        self.file = file
        self.diskSize = diskSize
        let blocks = (diskSize + UInt64(Self.blockSize) - 1) / UInt64(Self.blockSize)
        blockCount = Int(blocks)
        let mapBytes = (blockCount + 7) / 8
        mapLength = (mapBytes + Self.blockSize - 1) / Self.blockSize * Self.blockSize
        dataOffset = mapOffset + UInt64(mapLength)
        let fileLength = dataOffset + blocks * UInt64(Self.blockSize)
        do throws(NBDServerError) {
            let name = Array(diskName.utf8)
            guard name.count <= Self.headerSize - Self.nameOffset else {
                throw NBDServerError(.invalidOverlay, "the disk name is too long for an overlay header", path: path, field: "name")
            }
            var map = [UInt8](repeating: 0, count: mapBytes)
            let empty = created ? true : try file.size() == 0
            if empty {
                try file.setSize(fileLength)
                let header = Self.header(rootDigest: rootDigest, name: name, diskSize: diskSize)
                try header.withBytes { (raw) throws(NBDServerError) in try file.write(at: 0, from: raw) }
                try file.sync()
            } else {
                var header = [UInt8](repeating: 0, count: Self.headerSize)
                let length = try file.size()
                guard length >= UInt64(Self.headerSize) else {
                    throw NBDServerError(.invalidOverlay, "the file is \(length) bytes, shorter than an overlay header", path: path, offset: 0)
                }
                try header.withMutableBytes { (raw) throws(NBDServerError) in try file.read(at: 0, into: raw) }
                try Self.check(header: header, path: path, rootDigest: rootDigest, name: name, diskSize: diskSize)
                guard length == fileLength else {
                    throw NBDServerError(.invalidOverlay, "the file is \(length) bytes; an overlay of a \(diskSize)-byte disk is \(fileLength)", path: path, offset: length)
                }
                let mapAt = UInt64(Self.headerSize)
                try map.withMutableBytes { (raw) throws(NBDServerError) in try file.read(at: mapAt, into: raw) }
                if blockCount % 8 != 0, map[mapBytes - 1] >> (blockCount % 8) != 0 {
                    throw NBDServerError(.invalidOverlay, "the map marks blocks past the end of the disk", path: path, offset: mapAt + UInt64(mapBytes - 1), field: "map")
                }
            }
            state = Mutex(State(map: map))
        } catch {
            file.close()
            throw error
        }
    }

    private let closed = Atomic<Bool>(false)

    /// Closes the file (releasing its lock); later reads and writes fail with EBADF.
    func close() {
        if !closed.exchange(true, ordering: .acquiringAndReleasing) { file.close() }
    }

    deinit { close() }

    static func header(rootDigest: Digest, name: [UInt8], diskSize: UInt64) -> [UInt8] {
        var h = magic
        func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { h.append(contentsOf: $0) } }
        le(version)
        le(UInt32(blockSize))
        le(diskSize)
        h.append(contentsOf: rootDigest.bytes)
        le(UInt16(name.count))
        h.append(contentsOf: name)
        h.append(contentsOf: [UInt8](repeating: 0, count: headerSize - h.count))
        return h
    }

    static func check(header h: [UInt8], path: String, rootDigest: Digest, name: [UInt8], diskSize: UInt64) throws(NBDServerError) {
        func le<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            h[at..<at + MemoryLayout<T>.size].reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
        guard Array(h[0..<8]) == magic else {
            throw NBDServerError(.invalidOverlay, "not an ImagePack overlay (bad magic)", path: path, offset: 0, field: "magic")
        }
        guard le(8, UInt32.self) == version else {
            throw NBDServerError(.invalidOverlay, "overlay version \(le(8, UInt32.self)) is not supported (this server writes \(version))", path: path, offset: 8, field: "version")
        }
        guard le(12, UInt32.self) == UInt32(blockSize) else {
            throw NBDServerError(.invalidOverlay, "block size \(le(12, UInt32.self)) is not \(blockSize)", path: path, offset: 12, field: "blockSize")
        }
        let recorded = h.withUnsafeBytes { Digest(bytes: UnsafeRawBufferPointer(rebasing: $0[24..<56])) }
        guard recorded == rootDigest else {
            throw NBDServerError(.overlayMismatch, "the overlay belongs to the image \(recorded), not to this one (\(rootDigest))", path: path, offset: 24, field: "rootDigest")
        }
        let nameLength = Int(le(56, UInt16.self))
        guard nameLength <= headerSize - nameOffset else {
            throw NBDServerError(.invalidOverlay, "name length \(nameLength) runs past the header", path: path, offset: 56, field: "nameLength")
        }
        let recordedName = Array(h[nameOffset..<nameOffset + nameLength])
        guard recordedName == name else {
            throw NBDServerError(.overlayMismatch, "the overlay belongs to disk \"\(String(decoding: recordedName, as: UTF8.self))\", not \"\(String(decoding: name, as: UTF8.self))\"", path: path, offset: UInt64(nameOffset), field: "name")
        }
        guard le(16, UInt64.self) == diskSize else {
            throw NBDServerError(.overlayMismatch, "the overlay is for a \(le(16, UInt64.self))-byte disk, this one is \(diskSize) bytes", path: path, offset: 16, field: "diskSize")
        }
        guard h[(nameOffset + nameLength)...].allSatisfy({ $0 == 0 }) else {
            throw NBDServerError(.invalidOverlay, "reserved header bytes after the name are not zero", path: path, offset: UInt64(nameOffset + nameLength), field: "reserved")
        }
    }

    // MARK: Map

    /// The ranges of `offset..<offset+length`, in order, with whether the overlay holds each.
    func runs(offset: UInt64, length: Int) -> [(offset: UInt64, length: Int, inOverlay: Bool)] {
        let end = offset + UInt64(length)
        var result: [(offset: UInt64, length: Int, inOverlay: Bool)] = []
        state.withLock { s in
            var position = offset
            while position < end {
                let block = Int(position / UInt64(Self.blockSize))
                let blockEnd = min(UInt64(block + 1) * UInt64(Self.blockSize), end)
                let held = s.map[block >> 3] & (1 << (block & 7)) != 0
                let take = Int(blockEnd - position)
                if let last = result.last, last.inOverlay == held {
                    result[result.count - 1].length += take
                } else {
                    result.append((position, take, held))
                }
                position = blockEnd
            }
        }
        return result
    }

    private func mark(blocks: Range<Int>) {
        state.withLock { s in
            for b in blocks {
                s.map[b >> 3] |= 1 << (b & 7)
                s.dirtyPages.insert((b >> 3) / Self.blockSize)
            }
        }
    }

    // MARK: Data

    /// Bytes `offset..<offset+length` of the overlay's data (only where ``runs(offset:length:)`` says it holds them).
    func read(offset: UInt64, length: Int, allocator: ByteBufferAllocator) throws(NBDServerError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: length)
        var failure: NBDServerError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
            do throws(NBDServerError) {
                try file.read(at: dataOffset + offset, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<length]))
            } catch { failure = error }
            return length
        }
        if let failure { throw failure }
        return buffer
    }

    /// Writes `bytes` at `offset` of the disk. A block written only in part is first filled from
    /// `base` (the image's bytes of that block) unless the overlay already holds it.
    func write(
        at offset: UInt64, _ bytes: UnsafeRawBufferPointer,
        base: (UInt64, UnsafeMutableRawBufferPointer) throws(NBDRequestFailure) -> Void
    ) throws(NBDRequestFailure) {
        guard !bytes.isEmpty else { return }
        try writeLock.withLock { (_) throws(NBDRequestFailure) in
            let bs = UInt64(Self.blockSize)
            let end = offset + UInt64(bytes.count)
            let first = Int(offset / bs), last = Int((end - 1) / bs)
            func written(_ body: () throws(NBDServerError) -> Void) throws(NBDRequestFailure) {
                do throws(NBDServerError) { try body() } catch {
                    throw NBDRequestFailure(error.cause == 28 ? .noSpace : .io, error.description, offset: offset)
                }
            }
            // Partial head and tail blocks not yet in the overlay: copy them from the image first.
            for block in Set([first, last]) {
                let start = UInt64(block) * bs
                let covered = offset <= start && end >= min(start + bs, diskSize)
                if covered || holds(block) { continue }
                var whole = [UInt8](repeating: 0, count: Int(min(bs, diskSize - start)))
                try whole.withMutableBytes { (raw) throws(NBDRequestFailure) in try base(start, raw) }
                try written { () throws(NBDServerError) in
                    try whole.withBytes { (raw) throws(NBDServerError) in try file.write(at: dataOffset + start, from: raw) }
                }
            }
            try written { () throws(NBDServerError) in try file.write(at: dataOffset + offset, from: bytes) }
            mark(blocks: first..<last + 1)
        }
    }

    /// Makes `offset..<offset+length` read as zeros: whole blocks become holes, partial ones are written.
    func writeZeroes(at offset: UInt64, length: Int, base: (UInt64, UnsafeMutableRawBufferPointer) throws(NBDRequestFailure) -> Void) throws(NBDRequestFailure) {
        let bs = UInt64(Self.blockSize)
        let end = offset + UInt64(length)
        let wholeStart = (offset + bs - 1) / bs * bs
        let wholeEnd = end == diskSize ? end : end / bs * bs
        guard wholeStart < wholeEnd else {
            let zeros = [UInt8](repeating: 0, count: length)
            try zeros.withBytes { (raw) throws(NBDRequestFailure) in try write(at: offset, raw, base: base) }
            return
        }
        if offset < wholeStart {
            let zeros = [UInt8](repeating: 0, count: Int(wholeStart - offset))
            try zeros.withBytes { (raw) throws(NBDRequestFailure) in try write(at: offset, raw, base: base) }
        }
        if wholeEnd < end {
            let zeros = [UInt8](repeating: 0, count: Int(end - wholeEnd))
            try zeros.withBytes { (raw) throws(NBDRequestFailure) in try write(at: wholeEnd, raw, base: base) }
        }
        try writeLock.withLock { (_) throws(NBDRequestFailure) in
            do throws(NBDServerError) {
                try file.zero(at: dataOffset + wholeStart, count: Int(wholeEnd - wholeStart))
            } catch {
                throw NBDRequestFailure(.io, error.description, offset: wholeStart)
            }
            mark(blocks: Int(wholeStart / bs)..<Int((wholeEnd + bs - 1) / bs))
        }
    }

    private func holds(_ block: Int) -> Bool { state.withLock { $0.map[block >> 3] & (1 << (block & 7)) != 0 } }

    /// Makes every write so far durable: data first, then the map pages that changed, then the map.
    func flush() throws(NBDServerError) {
        try writeLock.withLock { (_) throws(NBDServerError) in
            try file.sync()
            // Writers hold `writeLock` while they mark blocks, so nothing changes the map until
            // the pages are on disk; they are forgotten only then, so a failed flush is retried whole.
            let (map, pages) = state.withLock { s in (s.map, s.dirtyPages) }
            if pages.isEmpty { return }
            for page in pages.sorted() {
                let start = page * Self.blockSize
                let end = min(start + Self.blockSize, map.count)
                try map.withBytes { (raw) throws(NBDServerError) in
                    try file.write(at: mapOffset + UInt64(start), from: UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                }
            }
            try file.sync()
            state.withLock { $0.dirtyPages = [] }
        }
    }
}
