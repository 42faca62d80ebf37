/*
 * SHA-256 (FIPS 180-4) in plain C, with the CPU's SHA instructions where it has them: the
 * x86 SHA extensions or the Armv8 SHA2 instructions, chosen once at run time.
 */
#include "sha256.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#elif defined(__aarch64__)
#if defined(__clang__) && !defined(__ARM_FEATURE_SHA2)
/* clang before 16 declares the SHA2 intrinsics only where the whole file targets them; here
 * only blocks_arm does, and it runs only where the CPU has them (HWCAP_SHA2). */
#define __ARM_FEATURE_SHA2 1
#endif
#include <arm_neon.h>
#include <sys/auxv.h>
#ifndef HWCAP_SHA2
#define HWCAP_SHA2 (1UL << 6) /* the kernel's arch/arm64 uapi hwcap.h */
#endif
#endif

#define BLOCK_LEN 64

struct cvm_hasher {
    uint32_t state[8];
    uint64_t bytes; /* hashed so far; the block buffer holds bytes % BLOCK_LEN of them */
    uint8_t block[BLOCK_LEN];
};

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes. Aligned so the vector code loads four at a time. */
static const uint32_t round_k[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4 §5.3.3: the fractional parts of the square roots of the first 8 primes. */
static const uint32_t initial_state[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t rotr(uint32_t x, unsigned n)
{
    return x >> n | x << (32 - n);
}

/* Every implementation compresses n whole blocks into state (FIPS 180-4 §6.2.2). */
static void blocks_portable(uint32_t state[8], const uint8_t *p, size_t n)
{
    for (; n > 0; n--, p += BLOCK_LEN) {
        /* The schedule of §6.2.2 step 1, kept as a ring of its last 16 words. */
        uint32_t w[16];
        for (unsigned t = 0; t < 16; t++)
            w[t] = load_be32(p + 4 * t);

        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (unsigned t = 0; t < 64; t++) {
            if (t >= 16) {
                uint32_t w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
                uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ w15 >> 3;
                uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ w2 >> 10;
                w[t & 15] += s0 + w[(t - 7) & 15] + s1;
            }
            uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                          round_k[t] + w[t & 15];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}

#if defined(__x86_64__)
#define ACCEL_NAME "x86-sha"

/*
 * The Intel SHA extensions keep the state as two vectors, ABEF and CDGH (A in the top lane).
 * SHA256RNDS2 runs two rounds from the CDGH and ABEF halves and the two message words plus
 * constants in the low lanes of its third operand, and returns the new ABEF; the old ABEF
 * is then the new CDGH. SHA256MSG1 and SHA256MSG2 compute the schedule four words at a time.
 */
__attribute__((target("sha,sse4.1"))) static void blocks_x86(uint32_t state[8], const uint8_t *p,
                                                             size_t n)
{
    /* pshufb mask that turns each 32-bit word big-endian. */
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);

    __m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]); /* lanes a b c d */
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]); /* lanes e f g h */
    __m128i badc = _mm_shuffle_epi32(dcba, 0xb1);               /* lanes b a d c */
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);               /* lanes h g f e */
    __m128i abef = _mm_alignr_epi8(badc, efgh, 8);              /* lanes f e b a */
    __m128i cdgh = _mm_blend_epi16(efgh, badc, 0xf0);           /* lanes h g d c */

    for (; n > 0; n--, p += BLOCK_LEN) {
        __m128i abef_in = abef, cdgh_in = cdgh;
        __m128i m[4];
        for (unsigned i = 0; i < 4; i++)
            m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);

            /* Group i runs rounds 4i..4i+3 with W[4i..4i+3] in m[i % 4]. */
#pragma GCC unroll 16
        for (unsigned i = 0; i < 16; i++) {
            if (i >= 4) {
                /* W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], for t = 4i..4i+3. */
                __m128i w7 = _mm_alignr_epi8(m[(i + 3) & 3], m[(i + 2) & 3], 4);
                __m128i s = _mm_add_epi32(_mm_sha256msg1_epu32(m[i & 3], m[(i + 1) & 3]), w7);
                m[i & 3] = _mm_sha256msg2_epu32(s, m[(i + 3) & 3]);
            }
            __m128i wk = _mm_add_epi32(m[i & 3], _mm_load_si128((const __m128i *)&round_k[4 * i]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }

    __m128i feba = _mm_shuffle_epi32(abef, 0x1b); /* lanes a b e f */
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1); /* lanes g h c d */
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xf0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));
}

/* SHA, SSSE3 and SSE4.1. glibc has already asked the CPU at start-up: asking again costs
 * ~6 us per CPUID in a virtual machine, where the instruction traps to the hypervisor. */
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
static bool accel_supported(void)
{
    return CPU_FEATURE_ACTIVE(SHA) && CPU_FEATURE_ACTIVE(SSSE3) && CPU_FEATURE_ACTIVE(SSE4_1);
}
#else
/* CPUID leaf 7 EBX bit 29 (SHA), leaf 1 ECX bits 9 (SSSE3) and 19 (SSE4.1). */
static bool accel_supported(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19)))
        return false;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}
#endif

#define blocks_accel blocks_x86

#elif defined(__aarch64__)
#define ACCEL_NAME "arm-sha2"
/* The two compilers spell the extension differently in a target attribute. */
#ifdef __clang__
#define ARM_SHA2_TARGET "crypto"
#else
#define ARM_SHA2_TARGET "+sha2"
#endif

/*
 * The Armv8 SHA2 instructions keep the state as ABCD and EFGH vectors (A in lane 0). SHA256H
 * and SHA256H2 each run four rounds, one producing the new ABCD and the other the new EFGH,
 * both from the old halves; SHA256SU0 and SHA256SU1 compute the schedule four words at a time.
 */
__attribute__((target(ARM_SHA2_TARGET))) static void blocks_arm(uint32_t state[8], const uint8_t *p,
                                                                size_t n)
{
    uint32x4_t abcd = vld1q_u32(&state[0]);
    uint32x4_t efgh = vld1q_u32(&state[4]);

    for (; n > 0; n--, p += BLOCK_LEN) {
        uint32x4_t abcd_in = abcd, efgh_in = efgh;
        uint32x4_t m[4];
        for (unsigned i = 0; i < 4; i++)
            m[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * i)));

            /* Group i runs rounds 4i..4i+3 with W[4i..4i+3] in m[i % 4]. */
#pragma GCC unroll 16
        for (unsigned i = 0; i < 16; i++) {
            if (i >= 4) {
                uint32x4_t s = vsha256su0q_u32(m[i & 3], m[(i + 1) & 3]);
                m[i & 3] = vsha256su1q_u32(s, m[(i + 2) & 3], m[(i + 3) & 3]);
            }
            uint32x4_t wk = vaddq_u32(m[i & 3], vld1q_u32(&round_k[4 * i]));
            uint32x4_t abcd_old = abcd;
            abcd = vsha256hq_u32(abcd, efgh, wk);
            efgh = vsha256h2q_u32(efgh, abcd_old, wk);
        }
        abcd = vaddq_u32(abcd, abcd_in);
        efgh = vaddq_u32(efgh, efgh_in);
    }

    vst1q_u32(&state[0], abcd);
    vst1q_u32(&state[4], efgh);
}

static bool accel_supported(void)
{
    return (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0;
}

#define blocks_accel blocks_arm
#endif

/*
 * The implementation in use. It starts as a resolver that picks one on the first call; the
 * pointer is atomic because threads may race to that first call (all store the same value).
 */
static void blocks_resolve(uint32_t state[8], const uint8_t *p, size_t n);
static void (*_Atomic blocks_impl)(uint32_t state[8], const uint8_t *p, size_t n) = blocks_resolve;

static void (*blocks_by_cpu(void))(uint32_t state[8], const uint8_t *p, size_t n)
{
#ifdef ACCEL_NAME
    if (accel_supported())
        return blocks_accel;
#endif
    return blocks_portable;
}

static void blocks_resolve(uint32_t state[8], const uint8_t *p, size_t n)
{
    void (*fn)(uint32_t state[8], const uint8_t *p, size_t n) = blocks_by_cpu();
    atomic_store_explicit(&blocks_impl, fn, memory_order_relaxed);
    fn(state, p, n);
}

static inline void blocks(uint32_t state[8], const uint8_t *p, size_t n)
{
    atomic_load_explicit(&blocks_impl, memory_order_relaxed)(state, p, n);
}

const char *cvm_sha256_force_portable(bool portable)
{
    void (*fn)(uint32_t state[8], const uint8_t *p, size_t n) =
        portable ? blocks_portable : blocks_by_cpu();
    atomic_store_explicit(&blocks_impl, fn, memory_order_relaxed);
#ifdef ACCEL_NAME
    if (fn == blocks_accel)
        return ACCEL_NAME;
#endif
    return "portable";
}

static void hasher_init(struct cvm_hasher *h)
{
    memcpy(h->state, initial_state, sizeof(h->state));
    h->bytes = 0;
}

void cvm_hasher_update(struct cvm_hasher *h, const void *data, size_t len)
{
    if (len == 0)
        return; /* data may be NULL then */
    const uint8_t *p = data;
    size_t used = (size_t)(h->bytes % BLOCK_LEN);
    h->bytes += len;
    if (used > 0) {
        size_t take = BLOCK_LEN - used < len ? BLOCK_LEN - used : len;
        memcpy(h->block + used, p, take);
        if (used + take < BLOCK_LEN)
            return;
        blocks(h->state, h->block, 1);
        p += take;
        len -= take;
    }
    if (len >= BLOCK_LEN) {
        blocks(h->state, p, len / BLOCK_LEN);
        p += len - len % BLOCK_LEN;
        len %= BLOCK_LEN;
    }
    if (len > 0)
        memcpy(h->block, p, len);
}

/* §5.1.1: a 1 bit, zeros up to 56 mod 64 bytes, then the length in bits as 64 big-endian bits. */
void cvm_hasher_final_bytes(struct cvm_hasher *h, uint8_t out[CVM_SHA256_LEN])
{
    size_t used = (size_t)(h->bytes % BLOCK_LEN);
    uint64_t bits = h->bytes << 3;
    h->block[used++] = 0x80;
    if (used > BLOCK_LEN - 8) {
        memset(h->block + used, 0, BLOCK_LEN - used);
        blocks(h->state, h->block, 1);
        used = 0;
    }
    memset(h->block + used, 0, BLOCK_LEN - 8 - used);
    store_be32(h->block + BLOCK_LEN - 8, (uint32_t)(bits >> 32));
    store_be32(h->block + BLOCK_LEN - 4, (uint32_t)bits);
    blocks(h->state, h->block, 1);
    for (unsigned i = 0; i < 8; i++)
        store_be32(out + 4 * i, h->state[i]);
    hasher_init(h);
}

void cvm_sha256(const void *data, size_t len, uint8_t out[CVM_SHA256_LEN])
{
    struct cvm_hasher h;
    hasher_init(&h);
    cvm_hasher_update(&h, data, len);
    cvm_hasher_final_bytes(&h, out);
}

struct cvm_hasher *cvm_hasher_new(void)
{
    struct cvm_hasher *h = malloc(sizeof(*h));
    if (h)
        hasher_init(h);
    return h;
}

void cvm_hasher_free(struct cvm_hasher *h)
{
    free(h);
}

int cvm_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[CVM_SHA256_LEN])
{
    /* A key longer than a block is hashed first; the block-sized key is XORed with the inner
     * and outer pads. */
    uint8_t k[BLOCK_LEN] = {0}, pad[BLOCK_LEN], inner[CVM_SHA256_LEN];
    if (key_len > BLOCK_LEN)
        cvm_sha256(key, key_len, k);
    else if (key_len > 0)
        memcpy(k, key, key_len);
    struct cvm_hasher *h = cvm_hasher_new();
    if (!h)
        return -1;
    for (size_t i = 0; i < BLOCK_LEN; i++)
        pad[i] = k[i] ^ 0x36;
    cvm_hasher_update(h, pad, BLOCK_LEN);
    cvm_hasher_update(h, msg, msg_len);
    cvm_hasher_final_bytes(h, inner);
    for (size_t i = 0; i < BLOCK_LEN; i++)
        pad[i] = k[i] ^ 0x5c;
    cvm_hasher_update(h, pad, BLOCK_LEN);
    cvm_hasher_update(h, inner, sizeof(inner));
    cvm_hasher_final_bytes(h, out);
    cvm_hasher_free(h);
    explicit_bzero(k, sizeof(k));
    explicit_bzero(pad, sizeof(pad));
    explicit_bzero(inner, sizeof(inner));
    return 0;
}
