/* CRC-64/Jones by carry-less multiplication (PCLMULQDQ), after Gopal et al., "Fast CRC
   Computation for Generic Polynomials Using PCLMULQDQ Instruction" (Intel, 2009).

   The message is read as 16-byte blocks. In the CRC's reflected bit order a block X holds a
   polynomial of degree < 128 whose low 8 bytes are the x^64..x^127 half. Moving X one block
   further along the message is a multiplication by x^128 modulo P; with the halves multiplied
   separately the products stay under 128 bits:

       X * x^128  ==  X.low * (x^192 mod P)  +  X.high * (x^128 mod P)      (mod P)

   PCLMULQDQ on bit-reversed operands yields the reversed product shifted by one bit, so the
   constants are x^191 and x^127 modulo P (one power lower), bit-reversed. Folding every block
   into the next leaves 16 bytes with the message's CRC; the caller finishes with its table. */

#include "ccrc64fold.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* x^n mod P for the Jones polynomial (normal form, x^64 implied), bit-reversed. */
static uint64_t reflected_x_power_mod(unsigned n) {
    const uint64_t polynomial = 0xad93d23594c935a9ULL;
    uint64_t r = 1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t carry = r >> 63;
        r <<= 1;
        if (carry) r ^= polynomial;
    }
    uint64_t reversed = 0;
    for (int i = 0; i < 64; i++) reversed |= ((r >> i) & 1) << (63 - i);
    return reversed;
}

/* For distances of 1 to 4 blocks (d bytes = 16, 32, 48, 64): x^(8d+63) and x^(8d-1) mod P. */
static uint64_t constants[8];

__attribute__((constructor))
static void cairn_crc64_fold_constants(void) {
    for (unsigned i = 0; i < 4; i++) {
        unsigned bits = 128 * (i + 1);
        constants[2 * i] = reflected_x_power_mod(bits + 63);
        constants[2 * i + 1] = reflected_x_power_mod(bits - 1);
    }
}

int cairn_crc64_fold_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_PCLMUL) && (c & bit_SSE4_1);
}

/* x moved `distance` blocks further along the message. */
__attribute__((target("pclmul,sse4.1")))
static inline __m128i fold(__m128i x, unsigned distance) {
    const __m128i k = _mm_set_epi64x((long long)constants[2 * distance - 1], (long long)constants[2 * distance - 2]);
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

__attribute__((target("pclmul,sse4.1")))
void cairn_crc64_fold(uint64_t crc, const uint8_t *bytes, size_t blocks, uint8_t state[16]) {
    const __m128i *in = (const __m128i *)bytes;
    /* The register is the first 8 message bytes' partner, as in the table-driven update. */
    __m128i x = _mm_xor_si128(_mm_loadu_si128(in), _mm_set_epi64x(0, (long long)crc));
    size_t i = 1;
    if (blocks >= 8) {
        /* Four independent folds 64 bytes apart, so the multiplier's latency overlaps. */
        __m128i x1 = _mm_loadu_si128(in + 1), x2 = _mm_loadu_si128(in + 2), x3 = _mm_loadu_si128(in + 3);
        for (i = 4; i + 4 <= blocks; i += 4) {
            x = _mm_xor_si128(fold(x, 4), _mm_loadu_si128(in + i));
            x1 = _mm_xor_si128(fold(x1, 4), _mm_loadu_si128(in + i + 1));
            x2 = _mm_xor_si128(fold(x2, 4), _mm_loadu_si128(in + i + 2));
            x3 = _mm_xor_si128(fold(x3, 4), _mm_loadu_si128(in + i + 3));
        }
        x = _mm_xor_si128(_mm_xor_si128(fold(x, 3), fold(x1, 2)), _mm_xor_si128(fold(x2, 1), x3));
    }
    for (; i < blocks; i++) x = _mm_xor_si128(fold(x, 1), _mm_loadu_si128(in + i));
    _mm_storeu_si128((__m128i *)state, x);
}
#else
int cairn_crc64_fold_available(void) { return 0; }

void cairn_crc64_fold(uint64_t crc, const uint8_t *bytes, size_t blocks, uint8_t state[16]) {
    (void)crc; (void)bytes; (void)blocks; (void)state;
}
#endif
