#ifndef IMAGEPACK_CRC32C_H
#define IMAGEPACK_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// Extends a CRC-32C (Castagnoli, reflected, polynomial 0x82F63B78) over `length` bytes.
/// Start with crc = 0; pass the previous result to continue. Init and final XOR are applied inside.
uint32_t imagepack_crc32c(uint32_t crc, const void *data, size_t length);

/// The same CRC through the table path only, whatever the CPU offers, so tests can check the
/// fallback on machines that never take it.
uint32_t imagepack_crc32c_portable(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware instruction path is in use, 0 for the table fallback.
int imagepack_crc32c_hardware(void);
#endif
