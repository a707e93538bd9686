import Crypto
import ImagePack

extension PullAssembly {
    /// One layer's bytes on their way into the assembly, front to back: hashed as they come,
    /// gathered into 1 MiB writes at the layer's place in the file, each write then journaled.
    ///
    /// The HTTP body arrives in pieces of at most 64 KiB (NIO's receive buffers); a pwrite and a
    /// journal line per piece would be 16 times the system calls of one per MiB.
    final class LayerWriter: @unchecked Sendable {
        let assembly: PullAssembly
        let index: Int
        let layer: LayerRange
        private var hasher = SHA256()
        /// Bytes of the layer hashed so far; those below `written` are in the file and journaled.
        private(set) var position: UInt64 = 0
        private var written: UInt64 = 0
        private let staging: UnsafeMutableRawBufferPointer
        private var staged = 0

        static let writeSize = 1 << 20

        init(assembly: PullAssembly, index: Int, layer: LayerRange) {
            self.assembly = assembly
            self.index = index
            self.layer = layer
            staging = .allocate(byteCount: Self.writeSize, alignment: 16)
        }

        deinit { staging.deallocate() }

        /// The SHA-256 of the bytes so far, as an OCI digest string.
        var digest: String { Digest(hasher.finalize()).description }

        /// Appends the layer's next bytes.
        /// - Throws: `.blobDigestMismatch` past the layer's length (the registry sent more than its
        ///   descriptor says), `.ioFailed`.
        func append(_ bytes: UnsafeRawBufferPointer) throws(ImagePackError) {
            guard position + UInt64(bytes.count) <= layer.length else {
                throw ImagePackError(.blobDigestMismatch, "layer \(index) is longer than the \(layer.length) bytes its descriptor says: the registry (or something between) sent other bytes", field: "blob")
            }
            hasher.update(bufferPointer: bytes)
            position += UInt64(bytes.count)
            var from = 0
            while from < bytes.count {
                let n = min(bytes.count - from, Self.writeSize - staged)
                UnsafeMutableRawBufferPointer(rebasing: staging[staged..<(staged + n)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[from..<(from + n)]))
                staged += n
                from += n
                if staged == Self.writeSize { try flush() }
            }
        }

        /// Writes what is gathered and journals it.
        func flush() throws(ImagePackError) {
            guard staged > 0 else { return }
            try assembly.write(UnsafeRawBufferPointer(rebasing: staging[0..<staged]), at: layer.offset + written)
            written += UInt64(staged)
            staged = 0
            assembly.record(layer: index, holds: written)
        }

        /// Hashes the first `count` bytes of the layer that an earlier run left in the assembly:
        /// kept bytes count only once hashed again with the rest (the digest covers them all).
        func rehashKept(_ count: UInt64) throws(ImagePackError) {
            precondition(position == 0 && staged == 0)
            var at: UInt64 = 0
            while at < count {
                let n = Int(min(UInt64(Self.writeSize), count - at))
                let part = UnsafeMutableRawBufferPointer(rebasing: staging[0..<n])
                try ReadableFile.preadAll(assembly.descriptor, at: layer.offset + at, into: part, path: assembly.path)
                hasher.update(bufferPointer: UnsafeRawBufferPointer(part))
                at += UInt64(n)
            }
            position = count
            written = count
        }

        /// Appends `range` of a local file (a cached blob, an earlier download, a local image's records).
        func append(from file: ReadableFile, _ range: Range<UInt64>) throws(ImagePackError) {
            try file.forEachPiece(of: range, pieceSize: Self.writeSize) { (piece, _) throws(ImagePackError) in try append(piece) }
        }

        /// Starts the layer over (its bytes failed their digest, or the registry ignored a range):
        /// the journal says the layer holds nothing, so a run killed now does not trust it.
        func reset() {
            hasher = SHA256()
            position = 0
            written = 0
            staged = 0
            assembly.record(layer: index, holds: 0)
        }
    }
}
