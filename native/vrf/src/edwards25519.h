// The edwards25519 group for the native ECVRF verifier: extended coordinates (X : Y : Z : T), x = X/Z,
// y = Y/Z, T = XY/Z, on −x² + y² = 1 + d·x²·y². Complete addition (Hisil–Wong–Carter–Dawson 2008,
// a = −1), strict decoding (RFC 8032 §5.1.3: y < p, no "negative zero"), and a variable-time
// interleaved double-scalar multiplication with 4-bit windows. Public inputs only (see field25519.h).
#ifndef WOLK_EDWARDS25519_H
#define WOLK_EDWARDS25519_H
#include <stddef.h>

#include "field25519.h"

typedef struct {
  fe X, Y, Z, T;
} ge;

/** A point ready to be added: (Y + X, Y − X, 2d·T, 2Z). */
typedef struct {
  fe YplusX, YminusX, T2d, Z2;
} ge_cached;

static const fe FE_D = {{0x34dca135978a3ULL, 0x1a8283b156ebdULL, 0x5e7a26001c029ULL, 0x739c663a03cbbULL, 0x52036cee2b6ffULL}};
static const fe FE_D2 = {{0x69b9426b2f159ULL, 0x35050762add7aULL, 0x3cf44c0038052ULL, 0x6738cc7407977ULL, 0x2406d9dc56dffULL}};

static inline void ge_identity(ge* p) {
  p->X = FE_ZERO;
  p->Y = FE_ONE;
  p->Z = FE_ONE;
  p->T = FE_ZERO;
}

static inline void ge_to_cached(ge_cached* c, const ge* p) {
  fe_add(&c->YplusX, &p->Y, &p->X);
  fe_sub(&c->YminusX, &p->Y, &p->X);
  fe_mul(&c->T2d, &p->T, &FE_D2);
  fe_add(&c->Z2, &p->Z, &p->Z);
}

/** r = p + q (complete: also right for p = q and for the identity). */
static inline void ge_add_cached(ge* r, const ge* p, const ge_cached* q) {
  fe a, b, c, d, e, f, g, h, t;
  fe_sub(&t, &p->Y, &p->X);
  fe_mul(&a, &t, &q->YminusX);
  fe_add(&t, &p->Y, &p->X);
  fe_mul(&b, &t, &q->YplusX);
  fe_mul(&c, &p->T, &q->T2d);
  fe_mul(&d, &p->Z, &q->Z2);
  fe_sub(&e, &b, &a);
  fe_sub(&f, &d, &c);
  fe_add(&g, &d, &c);
  fe_add(&h, &b, &a);
  fe_mul(&r->X, &e, &f);
  fe_mul(&r->Y, &g, &h);
  fe_mul(&r->T, &e, &h);
  fe_mul(&r->Z, &f, &g);
}

/** r = 2p (dbl-2008-hwcd with a = −1). */
static inline void ge_double(ge* r, const ge* p) {
  fe a, b, c, e, f, g, h, t;
  fe_sq(&a, &p->X);
  fe_sq(&b, &p->Y);
  fe_sq(&c, &p->Z);
  fe_add(&c, &c, &c);
  fe_add(&t, &p->X, &p->Y);
  fe_sq(&e, &t);
  fe_sub(&e, &e, &a);
  fe_sub(&e, &e, &b);  // 2XY
  fe_sub(&g, &b, &a);  // D + B with D = −A
  fe_sub(&f, &g, &c);
  fe_add(&h, &a, &b);
  fe_neg(&h, &h);      // D − B = −A − B
  fe_mul(&r->X, &e, &f);
  fe_mul(&r->Y, &g, &h);
  fe_mul(&r->T, &e, &h);
  fe_mul(&r->Z, &f, &g);
}

static inline void ge_neg(ge* r, const ge* p) {
  fe_neg(&r->X, &p->X);
  r->Y = p->Y;
  r->Z = p->Z;
  fe_neg(&r->T, &p->T);
}

/** point_to_string: y little endian with x's low bit in bit 255. */
static inline void ge_tobytes(uint8_t s[32], const ge* p) {
  fe zi, x, y;
  fe_invert(&zi, &p->Z);
  fe_mul(&x, &p->X, &zi);
  fe_mul(&y, &p->Y, &zi);
  fe_tobytes(s, &y);
  s[31] |= (uint8_t)(fe_isodd(&x) << 7);
}

static inline int ge_is_identity(const ge* p) {
  return fe_iszero(&p->X) && fe_eq(&p->Y, &p->Z);
}

/** 8p, the cofactor times p. */
static inline void ge_mul8(ge* r, const ge* p) {
  ge_double(r, p);
  ge_double(r, r);
  ge_double(r, r);
}

/**
 * string_to_point, strict (RFC 8032 §5.1.3, as @noble/curves' fromBytes with zip215 off): 0 for a y
 * that is not below p, for no x on the curve, and for x = 0 with the sign bit set.
 */
static inline int ge_frombytes(ge* p, const uint8_t s[32]) {
  fe y, u, v, v3, vx2, x, t;
  uint8_t canon[32];
  int sign = s[31] >> 7;
  fe_frombytes(&y, s);
  fe_tobytes(canon, &y);
  for (int i = 0; i < 31; i++)
    if (canon[i] != s[i]) return 0;
  if (canon[31] != (s[31] & 0x7f)) return 0;
  fe_sq(&u, &y);
  fe_mul(&v, &u, &FE_D);
  fe_sub(&u, &u, &FE_ONE);  // u = y² − 1
  fe_add(&v, &v, &FE_ONE);  // v = d·y² + 1
  // x = u·v³·(u·v⁷)^((p − 5) / 8)
  fe_sq(&v3, &v);
  fe_mul(&v3, &v3, &v);
  fe_sq(&x, &v3);
  fe_mul(&x, &x, &v);
  fe_mul(&x, &x, &u);
  fe_pow22523(&x, &x);
  fe_mul(&x, &x, &v3);
  fe_mul(&x, &x, &u);
  fe_sq(&vx2, &x);
  fe_mul(&vx2, &vx2, &v);
  if (!fe_eq(&vx2, &u)) {
    fe_neg(&t, &u);
    if (!fe_eq(&vx2, &t)) return 0;
    fe_mul(&x, &x, &FE_SQRTM1);
  }
  if (fe_iszero(&x) && sign) return 0;
  if (fe_isodd(&x) != sign) fe_neg(&x, &x);
  p->X = x;
  p->Y = y;
  p->Z = FE_ONE;
  fe_mul(&p->T, &x, &y);
  return 1;
}

/** The identity in cached form: (Y + X, Y − X, 2d·T, 2Z) = (1, 1, 0, 2). */
static inline void ge_cached_identity(ge_cached* c) {
  c->YplusX = FE_ONE;
  c->YminusX = FE_ONE;
  c->T2d = FE_ZERO;
  c->Z2 = FE_ZERO;
  c->Z2.v[0] = 2;
}

/** [0]p … [15]p, cached for addition ([0], the identity, is added by the constant-time multiplication). */
static inline void ge_window_table(ge_cached table[16], const ge* p) {
  ge acc = *p;
  ge_cached_identity(&table[0]);
  ge_to_cached(&table[1], p);
  for (int i = 2; i < 16; i++) {
    ge_add_cached(&acc, &acc, &table[1]);
    ge_to_cached(&table[i], &acc);
  }
}

static inline int nibble(const uint8_t* scalar, int len, int i) {
  int byte = i >> 1;
  if (byte >= len) return 0;
  return (scalar[byte] >> ((i & 1) * 4)) & 15;
}

/**
 * r = a·P + b·Q for little-endian scalars a (alen bytes) and b (blen bytes), both at most 32 bytes,
 * with P and Q given as window tables: one shared run of doublings, 4 bits at a time.
 */
static inline void ge_double_scalarmult(ge* r, const uint8_t* a, int alen, const ge_cached tp[16], const uint8_t* b, int blen, const ge_cached tq[16]) {
  ge acc;
  ge_identity(&acc);
  int started = 0;
  for (int i = 63; i >= 0; i--) {
    if (started) {
      ge_double(&acc, &acc);
      ge_double(&acc, &acc);
      ge_double(&acc, &acc);
      ge_double(&acc, &acc);
    }
    int na = nibble(a, alen, i), nb = nibble(b, blen, i);
    if (na) {
      ge_add_cached(&acc, &acc, &tp[na]);
      started = 1;
    }
    if (nb) {
      ge_add_cached(&acc, &acc, &tq[nb]);
      started = 1;
    }
  }
  *r = acc;
}

// ---- constant time, for the prover's secret scalars (x, k) ----

/** t = u when b = 1, unchanged when b = 0, without a branch on b. */
static inline void ge_cached_cmov(ge_cached* t, const ge_cached* u, uint64_t b) {
  const uint64_t mask = (uint64_t)0 - b;
  uint64_t* tw = (uint64_t*)t;
  const uint64_t* uw = (const uint64_t*)u;
  for (size_t i = 0; i < sizeof(ge_cached) / sizeof(uint64_t); i++) tw[i] ^= mask & (tw[i] ^ uw[i]);
}

/** 1 when a = b (both in 0..15), else 0, without a branch. */
static inline uint64_t ct_eq16(uint64_t a, uint64_t b) {
  return ((a ^ b) - 1) >> 63;
}

/**
 * r = scalar·P for a secret 32-byte little-endian scalar: 64 windows of 4 bits from the top, each 4
 * doublings and one addition of a table entry read by scanning all 16 (the identity for a 0 nibble),
 * so neither the branches nor the memory accesses depend on the scalar.
 */
static inline void ge_scalarmult_ct(ge* r, const uint8_t scalar[32], const ge_cached table[16]) {
  ge acc;
  ge_identity(&acc);
  for (int i = 63; i >= 0; i--) {
    ge_double(&acc, &acc);
    ge_double(&acc, &acc);
    ge_double(&acc, &acc);
    ge_double(&acc, &acc);
    const uint64_t n = (scalar[i >> 1] >> ((i & 1) * 4)) & 15;
    ge_cached pick;
    pick = table[0];
    for (uint64_t j = 1; j < 16; j++) ge_cached_cmov(&pick, &table[j], ct_eq16(j, n));
    ge_add_cached(&acc, &acc, &pick);
  }
  *r = acc;
}

#endif
