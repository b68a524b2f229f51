#ifndef CAIRN_CCRC64FOLD_H
#define CAIRN_CCRC64FOLD_H

#include <stddef.h>
#include <stdint.h>

/* Carry-less-multiply folding for CRC-64/Jones (Redis's RDB checksum), used by CRC64Jones in
   CairnRedis. Nonzero when this CPU has PCLMULQDQ and SSE4.1 (x86-64 only). */
int cairn_crc64_fold_available(void);

/* Folds `blocks` (at least 1) 16-byte blocks of `bytes`, starting from the CRC register `crc`,
   into a 16-byte `state` whose CRC (register 0, reflected Jones table) is the CRC of the blocks. */
void cairn_crc64_fold(uint64_t crc, const uint8_t *bytes, size_t blocks, uint8_t state[16]);

#endif
