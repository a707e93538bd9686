import CCRC32C

/// CRC-32C (Castagnoli), the fast check of spec §2.3: hardware-accelerated on x86-64 (SSE4.2) and ARMv8.
package enum CRC32C {
    /// The CRC-32C of `bytes`, continuing from `crc` (0 to start).
    @inlinable
    package static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        imagepack_crc32c(crc, bytes.baseAddress, bytes.count)
    }

    package static func checksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }

    /// The CRC-32C through the portable table path, even where the CPU path is in use: the
    /// fallback must give the same answer, and only a direct call can show it on such a CPU.
    package static func portableChecksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { imagepack_crc32c_portable(crc, $0.baseAddress, $0.count) }
    }

    /// Whether the CPU instruction path is in use.
    package static var isHardwareAccelerated: Bool { imagepack_crc32c_hardware() != 0 }
}
