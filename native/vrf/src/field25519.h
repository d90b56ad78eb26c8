// Arithmetic in GF(2^255 - 19) for the native ECVRF verifier (native/vrf/src/vrf.c): five 51-bit limbs,
// products in unsigned __int128. Variable time: the verifier only ever handles public values (keys,
// proofs, alphas), never a secret key, so nothing here needs to be constant time.
#ifndef WOLK_FIELD25519_H
#define WOLK_FIELD25519_H
#include <stdint.h>
#include <string.h>

typedef struct {
  uint64_t v[5];
} fe;

typedef unsigned __int128 u128;
#define MASK51 ((uint64_t)0x7ffffffffffffULL)

static const fe FE_ZERO = {{0, 0, 0, 0, 0}};
static const fe FE_ONE = {{1, 0, 0, 0, 0}};

static inline uint64_t load64_le(const uint8_t* s) {
  uint64_t r = 0;
  for (int i = 7; i >= 0; i--) r = (r << 8) | s[i];
  return r;
}

/** Limbs back under 2^51 (the top carry folds in as 19 × carry, since 2^255 = 19 mod p). */
static inline void fe_carry(fe* h) {
  uint64_t c;
  c = h->v[0] >> 51; h->v[0] &= MASK51; h->v[1] += c;
  c = h->v[1] >> 51; h->v[1] &= MASK51; h->v[2] += c;
  c = h->v[2] >> 51; h->v[2] &= MASK51; h->v[3] += c;
  c = h->v[3] >> 51; h->v[3] &= MASK51; h->v[4] += c;
  c = h->v[4] >> 51; h->v[4] &= MASK51; h->v[0] += c * 19;
  c = h->v[0] >> 51; h->v[0] &= MASK51; h->v[1] += c;
}

/** The low 255 bits of s, little endian (bit 255 ignored: callers read it as a sign). */
static inline void fe_frombytes(fe* h, const uint8_t s[32]) {
  h->v[0] = load64_le(s) & MASK51;
  h->v[1] = (load64_le(s + 6) >> 3) & MASK51;
  h->v[2] = (load64_le(s + 12) >> 6) & MASK51;
  h->v[3] = (load64_le(s + 19) >> 1) & MASK51;
  h->v[4] = (load64_le(s + 24) >> 12) & MASK51;
}

/** The canonical encoding (the value reduced below p), little endian, bit 255 clear. */
static inline void fe_tobytes(uint8_t s[32], const fe* f) {
  fe h = *f;
  fe_carry(&h);
  fe_carry(&h);
  // h < 2^255 + small now; subtract p once if h >= p: q = 1 iff h + 19 >= 2^255.
  uint64_t q = (h.v[0] + 19) >> 51;
  q = (h.v[1] + q) >> 51;
  q = (h.v[2] + q) >> 51;
  q = (h.v[3] + q) >> 51;
  q = (h.v[4] + q) >> 51;
  h.v[0] += 19 * q;
  uint64_t c;
  c = h.v[0] >> 51; h.v[0] &= MASK51; h.v[1] += c;
  c = h.v[1] >> 51; h.v[1] &= MASK51; h.v[2] += c;
  c = h.v[2] >> 51; h.v[2] &= MASK51; h.v[3] += c;
  c = h.v[3] >> 51; h.v[3] &= MASK51; h.v[4] += c;
  h.v[4] &= MASK51;
  uint64_t w[4];
  w[0] = h.v[0] | (h.v[1] << 51);
  w[1] = (h.v[1] >> 13) | (h.v[2] << 38);
  w[2] = (h.v[2] >> 26) | (h.v[3] << 25);
  w[3] = (h.v[3] >> 39) | (h.v[4] << 12);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++) s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
}

static inline void fe_add(fe* h, const fe* f, const fe* g) {
  for (int i = 0; i < 5; i++) h->v[i] = f->v[i] + g->v[i];
  fe_carry(h);
}

/** f - g, computed as f + 4p - g so no limb goes negative (limbs of f and g below 2^52). */
static inline void fe_sub(fe* h, const fe* f, const fe* g) {
  h->v[0] = f->v[0] + 0x1fffffffffffb4ULL - g->v[0];
  h->v[1] = f->v[1] + 0x1ffffffffffffcULL - g->v[1];
  h->v[2] = f->v[2] + 0x1ffffffffffffcULL - g->v[2];
  h->v[3] = f->v[3] + 0x1ffffffffffffcULL - g->v[3];
  h->v[4] = f->v[4] + 0x1ffffffffffffcULL - g->v[4];
  fe_carry(h);
}

static inline void fe_neg(fe* h, const fe* f) {
  fe_sub(h, &FE_ZERO, f);
}

static inline void fe_mul(fe* h, const fe* f, const fe* g) {
  const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  const uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
  const uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
  u128 r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
  u128 r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
  u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
  u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
  u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
  r1 += (uint64_t)(r0 >> 51);
  uint64_t h0 = (uint64_t)r0 & MASK51;
  r2 += (uint64_t)(r1 >> 51);
  uint64_t h1 = (uint64_t)r1 & MASK51;
  r3 += (uint64_t)(r2 >> 51);
  uint64_t h2 = (uint64_t)r2 & MASK51;
  r4 += (uint64_t)(r3 >> 51);
  uint64_t h3 = (uint64_t)r3 & MASK51;
  uint64_t c = (uint64_t)(r4 >> 51);
  uint64_t h4 = (uint64_t)r4 & MASK51;
  h0 += c * 19;
  h1 += h0 >> 51;
  h0 &= MASK51;
  h->v[0] = h0;
  h->v[1] = h1;
  h->v[2] = h2;
  h->v[3] = h3;
  h->v[4] = h4;
}

static inline void fe_sq(fe* h, const fe* f) {
  fe_mul(h, f, f);
}

/** f^(2^k). */
static inline void fe_sqn(fe* h, const fe* f, int k) {
  fe_sq(h, f);
  for (int i = 1; i < k; i++) fe_sq(h, h);
}

/** z^(2^250 - 1), and z^11 in *z11: the common start of inversion and square roots. */
static inline void fe_pow2_250_1(fe* out, fe* z11, const fe* z) {
  fe t0, t1, t2, t3;
  fe_sq(&t0, z);          // z^2
  fe_sqn(&t1, &t0, 2);    // z^8
  fe_mul(&t1, &t1, z);    // z^9
  fe_mul(&t0, &t0, &t1);  // z^11
  *z11 = t0;
  fe_sq(&t2, &t0);        // z^22
  fe_mul(&t1, &t1, &t2);  // z^31 = z^(2^5 - 1)
  fe_sqn(&t2, &t1, 5);
  fe_mul(&t1, &t2, &t1);  // 2^10 - 1
  fe_sqn(&t2, &t1, 10);
  fe_mul(&t2, &t2, &t1);  // 2^20 - 1
  fe_sqn(&t3, &t2, 20);
  fe_mul(&t2, &t3, &t2);  // 2^40 - 1
  fe_sqn(&t2, &t2, 10);
  fe_mul(&t1, &t2, &t1);  // 2^50 - 1
  fe_sqn(&t2, &t1, 50);
  fe_mul(&t2, &t2, &t1);  // 2^100 - 1
  fe_sqn(&t3, &t2, 100);
  fe_mul(&t2, &t3, &t2);  // 2^200 - 1
  fe_sqn(&t2, &t2, 50);
  fe_mul(out, &t2, &t1);  // 2^250 - 1
}

/** 1/z as z^(p - 2) (0 for 0: RFC 9380's inv0). */
static inline void fe_invert(fe* out, const fe* z) {
  fe t, z11;
  fe_pow2_250_1(&t, &z11, z);
  fe_sqn(&t, &t, 5);  // 2^255 - 32
  fe_mul(out, &t, &z11);
}

/** z^((p - 5) / 8) = z^(2^252 - 3). */
static inline void fe_pow22523(fe* out, const fe* z) {
  fe t, z11;
  fe_pow2_250_1(&t, &z11, z);
  fe_sqn(&t, &t, 2);
  fe_mul(out, &t, z);
}

static inline int fe_iszero(const fe* f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  uint8_t acc = 0;
  for (int i = 0; i < 32; i++) acc |= s[i];
  return acc == 0;
}

static inline int fe_eq(const fe* f, const fe* g) {
  fe d;
  fe_sub(&d, f, g);
  return fe_iszero(&d);
}

/** sgn0 of RFC 9380 and the "negative" of RFC 8032: the low bit of the canonical value. */
static inline int fe_isodd(const fe* f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  return s[0] & 1;
}

/** √−1 mod p. */
static const fe FE_SQRTM1 = {{0x61b274a0ea0b0ULL, 0xd5a5fc8f189dULL, 0x7ef5e9cbd0c60ULL, 0x78595a6804c9eULL, 0x2b8324804fc1dULL}};

/**
 * A square root of a (either sign) in *out: returns 1 when a is a square, 0 when it is not.
 * Candidate a^((p + 3) / 8); when its square is −a instead of a, times √−1 (p = 5 mod 8).
 */
static inline int fe_sqrt(fe* out, const fe* a) {
  fe x, x2, na;
  fe_pow22523(&x, a);
  fe_mul(&x, &x, a);  // a^((p+3)/8)
  fe_sq(&x2, &x);
  if (fe_eq(&x2, a)) {
    *out = x;
    return 1;
  }
  fe_neg(&na, a);
  if (fe_eq(&x2, &na)) {
    fe_mul(out, &x, &FE_SQRTM1);
    return 1;
  }
  return 0;
}

#endif
