// ECVRF verification over edwards25519 (RFC 9381 §5.3), both edwards25519 suites:
//   0x03 ECVRF-EDWARDS25519-SHA512-TAI  (encode_to_curve by try-and-increment, §5.4.1.1)
//   0x04 ECVRF-EDWARDS25519-SHA512-ELL2 (RFC 9380 encode_to_curve edwards25519_XMD:SHA-512_ELL2_NU_)
// The same rules as lib/crypto/vrf.ts's verify (the tests run the RFC vectors and random and
// corrupted proofs through both and require the same answers), about ten times faster: verifying
// committee credentials is most of what an idle validator and a following storer spend CPU on (issue 17).
// Proving: encode_to_curve here (public inputs), the nonce and the final scalar s = k + c·x in JS, and the
// three products with secret scalars (Gamma = x·H, U = k·B, V = k·H) here in constant time
// (ge_scalarmult_ct: no branch and no memory access depends on x or k). SHA-512 is the OpenSSL inside
// Node (its symbols are exported by the node binary).
#include <node_api.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "edwards25519.h"
#include "napi-args.h"

#define PT_LEN 32
#define C_LEN 16
#define Q_LEN 32
#define PROOF_LEN (PT_LEN + C_LEN + Q_LEN)
#define BETA_LEN 64
#define SUITE_TAI 0x03
#define SUITE_ELL2 0x04

// The group order L = 2^252 + 27742317777372353535851937790883648493, little endian.
static const uint8_t ORDER_L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
// The base point's encoding (y = 4/5, x even).
static const uint8_t BASE_BYTES[32] = {0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                       0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};
// RFC 9381 §5.5 (ELL2): DST = "ECVRF_" ‖ h2c_suite_ID_string ‖ suite_string.
static const char ELL2_DST[] = "ECVRF_edwards25519_XMD:SHA-512_ELL2_NU_\x04";
#define ELL2_DST_LEN (sizeof ELL2_DST - 1)
// sqrt(−486664) with sgn0 = 0 (RFC 9380 Appendix D, the edwards25519 rational map's c1).
static const fe FE_ELL2_C1 = {{0x604aaff457e06ULL, 0x2296fa350598dULL, 0x7f13dfb16874fULL, 0x35de93d846e01ULL, 0xf26edf460a00ULL}};
static const fe FE_J = {{486662, 0, 0, 0, 0}};
static const fe FE_38 = {{38, 0, 0, 0, 0}};

static ge_cached base_table[16];

/** a < L, both 32 bytes little endian. */
static int scalar_below_order(const uint8_t a[32]) {
  for (int i = 31; i >= 0; i--) {
    if (a[i] < ORDER_L[i]) return 1;
    if (a[i] > ORDER_L[i]) return 0;
  }
  return 0;
}

// ---- RFC 9380 hash_to_field for edwards25519_XMD:SHA-512_ELL2_NU_ (m = 1, L = 48, count = 1) ----

/** expand_message_xmd(msg = salt ‖ alpha, DST, 48) with SHA-512 (ell = 1: uniform_bytes = b_1[0..48]). */
static void expand_message_xmd_48(const uint8_t* salt, size_t salt_len, const uint8_t* alpha, size_t alpha_len, uint8_t out[48]) {
  static const uint8_t z_pad[128] = {0};
  const uint8_t lib_str[3] = {0, 48, 0};  // I2OSP(48, 2) ‖ I2OSP(0, 1)
  const uint8_t dst_len = (uint8_t)ELL2_DST_LEN;
  uint8_t b0[64], b1[64];
  SHA512_CTX ctx;
  SHA512_Init(&ctx);
  SHA512_Update(&ctx, z_pad, sizeof z_pad);
  SHA512_Update(&ctx, salt, salt_len);
  SHA512_Update(&ctx, alpha, alpha_len);
  SHA512_Update(&ctx, lib_str, 3);
  SHA512_Update(&ctx, ELL2_DST, ELL2_DST_LEN);
  SHA512_Update(&ctx, &dst_len, 1);
  SHA512_Final(b0, &ctx);
  const uint8_t one = 1;
  SHA512_Init(&ctx);
  SHA512_Update(&ctx, b0, 64);
  SHA512_Update(&ctx, &one, 1);
  SHA512_Update(&ctx, ELL2_DST, ELL2_DST_LEN);
  SHA512_Update(&ctx, &dst_len, 1);
  SHA512_Final(b1, &ctx);
  memcpy(out, b1, 48);
}

/** OS2IP(48 big-endian bytes) mod p: hi·2^256 + b255·2^255 + lo, with 2^256 = 38 and 2^255 = 19 (mod p). */
static void field_from_be48(fe* out, const uint8_t be[48]) {
  uint8_t lo[32], hi[32];
  memset(hi, 0, sizeof hi);
  for (int i = 0; i < 32; i++) lo[i] = be[47 - i];
  for (int i = 0; i < 16; i++) hi[i] = be[15 - i];
  int top = lo[31] >> 7;
  fe flo, fhi, t;
  fe_frombytes(&flo, lo);  // drops bit 255
  fe_frombytes(&fhi, hi);
  fe_mul(&t, &fhi, &FE_38);
  fe_add(out, &flo, &t);
  if (top) {
    fe nineteen = {{19, 0, 0, 0, 0}};
    fe_add(out, out, &nineteen);
  }
}

/**
 * map_to_curve_elligator2 on curve25519 (RFC 9380 §6.7.1, Z = 2, J = 486662, K = 1), then the rational
 * map to edwards25519 (§6.8.2, Appendix D), its exceptional cases (t = 0 or s = −1) giving the identity.
 */
static void map_to_curve_ell2(ge* out, const fe* u) {
  fe t1, x1, x2, gx1, gx2, x, y, negJ, two = {{2, 0, 0, 0, 0}};
  fe_neg(&negJ, &FE_J);
  fe_sq(&t1, u);
  fe_mul(&t1, &t1, &two);
  fe_add(&t1, &t1, &FE_ONE);  // 1 + Z·u²
  fe_invert(&t1, &t1);        // inv0
  fe_mul(&x1, &negJ, &t1);
  if (fe_iszero(&x1)) x1 = negJ;
  // gx1 = x1³ + J·x1² + x1 = x1·(x1·(x1 + J) + 1)
  fe_add(&gx1, &x1, &FE_J);
  fe_mul(&gx1, &gx1, &x1);
  fe_add(&gx1, &gx1, &FE_ONE);
  fe_mul(&gx1, &gx1, &x1);
  fe_sub(&x2, &negJ, &x1);  // −x1 − J
  if (fe_sqrt(&y, &gx1)) {
    x = x1;
    if (!fe_isodd(&y)) fe_neg(&y, &y);  // sgn0(y) = 1
  } else {
    fe_add(&gx2, &x2, &FE_J);
    fe_mul(&gx2, &gx2, &x2);
    fe_add(&gx2, &gx2, &FE_ONE);
    fe_mul(&gx2, &gx2, &x2);
    if (!fe_sqrt(&y, &gx2)) {  // cannot happen: one of gx1, gx2 is a square
      ge_identity(out);
      return;
    }
    x = x2;
    if (fe_isodd(&y)) fe_neg(&y, &y);  // sgn0(y) = 0
  }
  // (s, t) = (x, y) → (v, w) = (c1·s / t, (s − 1) / (s + 1)), with one inversion of t·(s + 1).
  fe sp1, sm1, den, inv, v, w;
  fe_add(&sp1, &x, &FE_ONE);
  fe_sub(&sm1, &x, &FE_ONE);
  fe_mul(&den, &y, &sp1);
  if (fe_iszero(&den)) {
    ge_identity(out);
    return;
  }
  fe_invert(&inv, &den);
  fe_mul(&v, &FE_ELL2_C1, &x);
  fe_mul(&v, &v, &sp1);
  fe_mul(&v, &v, &inv);
  fe_mul(&w, &sm1, &y);
  fe_mul(&w, &w, &inv);
  out->X = v;
  out->Y = w;
  out->Z = FE_ONE;
  fe_mul(&out->T, &v, &w);
}

/** encode_to_curve, ELL2 (§5.4.1.2): clear_cofactor(map_to_curve(hash_to_field(PK ‖ alpha))). */
static void encode_to_curve_ell2(ge* out, const uint8_t pk[32], const uint8_t* alpha, size_t alpha_len) {
  uint8_t uniform[48];
  fe u;
  ge q;
  expand_message_xmd_48(pk, PT_LEN, alpha, alpha_len, uniform);
  field_from_be48(&u, uniform);
  map_to_curve_ell2(&q, &u);
  ge_mul8(out, &q);
}

/** encode_to_curve, TAI (§5.4.1.1): the first ctr whose hash decodes to a point of large order. */
static int encode_to_curve_tai(ge* out, const uint8_t pk[32], const uint8_t* alpha, size_t alpha_len) {
  const uint8_t front[2] = {SUITE_TAI, 0x01}, back = 0x00;
  for (int ctr = 0; ctr < 256; ctr++) {
    uint8_t c = (uint8_t)ctr, h[64];
    SHA512_CTX ctx;
    SHA512_Init(&ctx);
    SHA512_Update(&ctx, front, 2);
    SHA512_Update(&ctx, pk, PT_LEN);
    SHA512_Update(&ctx, alpha, alpha_len);
    SHA512_Update(&ctx, &c, 1);
    SHA512_Update(&ctx, &back, 1);
    SHA512_Final(h, &ctx);
    ge p;
    if (!ge_frombytes(&p, h)) continue;
    ge_mul8(out, &p);
    if (!ge_is_identity(out)) return 1;
  }
  return 0;
}

/** ECVRF_verify (§5.3) with validate_key; writes beta and returns 1 for a valid proof, else 0. */
static int vrf_verify(int suite, const uint8_t pk[32], const uint8_t* alpha, size_t alpha_len, const uint8_t proof[PROOF_LEN], uint8_t beta[BETA_LEN]) {
  ge Y, Gamma, H, U, V, t;
  // Steps 1-3: the key decodes and is not of small order (ECVRF_validate_key, §5.4.5).
  if (!ge_frombytes(&Y, pk)) return 0;
  ge_mul8(&t, &Y);
  if (ge_is_identity(&t)) return 0;
  // Steps 4-6: decode the proof.
  const uint8_t* gamma_string = proof;
  const uint8_t* c_string = proof + PT_LEN;
  const uint8_t* s_string = proof + PT_LEN + C_LEN;
  if (!scalar_below_order(s_string)) return 0;
  if (!ge_frombytes(&Gamma, gamma_string)) return 0;
  // Steps 7-8.
  if (suite == SUITE_ELL2) {
    encode_to_curve_ell2(&H, pk, alpha, alpha_len);
  } else if (!encode_to_curve_tai(&H, pk, alpha, alpha_len)) {
    return 0;
  }
  // Steps 9-10: U = s·B − c·Y, V = s·H − c·Gamma.
  ge negY, negGamma;
  ge_cached ty[16], th[16], tg[16];
  ge_neg(&negY, &Y);
  ge_window_table(ty, &negY);
  ge_double_scalarmult(&U, s_string, Q_LEN, base_table, c_string, C_LEN, ty);
  ge_neg(&negGamma, &Gamma);
  ge_window_table(th, &H);
  ge_window_table(tg, &negGamma);
  ge_double_scalarmult(&V, s_string, Q_LEN, th, c_string, C_LEN, tg);
  // Step 11: c' = Hash(suite ‖ 0x02 ‖ PK ‖ H ‖ Gamma ‖ U ‖ V ‖ 0x00)[0..16].
  uint8_t h_string[32], u_string[32], v_string[32], digest[64];
  ge_tobytes(h_string, &H);
  ge_tobytes(u_string, &U);
  ge_tobytes(v_string, &V);
  const uint8_t front[2] = {(uint8_t)suite, 0x02}, back = 0x00;
  SHA512_CTX ctx;
  SHA512_Init(&ctx);
  SHA512_Update(&ctx, front, 2);
  SHA512_Update(&ctx, pk, PT_LEN);
  SHA512_Update(&ctx, h_string, PT_LEN);
  SHA512_Update(&ctx, gamma_string, PT_LEN);
  SHA512_Update(&ctx, u_string, PT_LEN);
  SHA512_Update(&ctx, v_string, PT_LEN);
  SHA512_Update(&ctx, &back, 1);
  SHA512_Final(digest, &ctx);
  // Step 12.
  if (memcmp(digest, c_string, C_LEN) != 0) return 0;
  // proof_to_hash (§5.2): beta = Hash(suite ‖ 0x03 ‖ point_to_string(8·Gamma) ‖ 0x00).
  uint8_t g8[32];
  ge_mul8(&t, &Gamma);
  ge_tobytes(g8, &t);
  const uint8_t front3[2] = {(uint8_t)suite, 0x03};
  SHA512_Init(&ctx);
  SHA512_Update(&ctx, front3, 2);
  SHA512_Update(&ctx, g8, PT_LEN);
  SHA512_Update(&ctx, &back, 1);
  SHA512_Final(beta, &ctx);
  return 1;
}

/** The first three arguments of verify and encodeToCurve: (suite, publicKey, alpha). An empty alpha points at a zero byte. */
typedef struct {
  int32_t suite;
  uint8_t* pk;
  const uint8_t* alpha;
  size_t alpha_len;
} suite_key_alpha;

/** Reads (suite, publicKey, alpha) from argv[0..2]; on a bad argument throws a TypeError naming `fn` and returns 0. */
static int get_suite_key_alpha(napi_env env, const napi_value* argv, const char* fn, suite_key_alpha* out) {
  static const uint8_t empty = 0;
  char msg[96];
  size_t pk_len, alpha_len;
  uint8_t* alpha;
  if (napi_get_value_int32(env, argv[0], &out->suite) != napi_ok || (out->suite != SUITE_TAI && out->suite != SUITE_ELL2)) {
    snprintf(msg, sizeof msg, "%s: suite must be 3 (TAI) or 4 (ELL2)", fn);
  } else if (!get_bytes(env, argv[1], &out->pk, &pk_len) || pk_len != PT_LEN) {
    snprintf(msg, sizeof msg, "%s: publicKey must be a Uint8Array of 32 bytes", fn);
  } else if (!get_bytes(env, argv[2], &alpha, &alpha_len)) {
    snprintf(msg, sizeof msg, "%s: alpha must be a Uint8Array", fn);
  } else {
    out->alpha = alpha_len ? alpha : &empty;
    out->alpha_len = alpha_len;
    return 1;
  }
  throw_type(env, msg);
  return 0;
}

static napi_value boolean(napi_env env, int b) {
  napi_value result;
  napi_get_boolean(env, b, &result);
  return result;
}

// verify(suite: 3 | 4, publicKey: Uint8Array(32), alpha: Uint8Array, proof: Uint8Array(80), betaOut: Uint8Array(64)) -> boolean
static napi_value verify(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return throw_type(env, "verify: expected 5 arguments");
  suite_key_alpha a;
  if (!get_suite_key_alpha(env, argv, "verify", &a)) return NULL;
  uint8_t *proof, *beta;
  size_t proof_len, beta_len;
  if (!get_bytes(env, argv[3], &proof, &proof_len) || proof_len != PROOF_LEN) return throw_type(env, "verify: proof must be a Uint8Array of 80 bytes");
  if (!get_bytes(env, argv[4], &beta, &beta_len) || beta_len != BETA_LEN) return throw_type(env, "verify: betaOut must be a Uint8Array of 64 bytes");
  return boolean(env, vrf_verify(a.suite, a.pk, a.alpha, a.alpha_len, proof, beta));
}

// encodeToCurve(suite: 3 | 4, publicKey: Uint8Array(32), alpha: Uint8Array, hOut: Uint8Array(32)) -> boolean
//   point_to_string(encode_to_curve(PK, alpha)) (§5.4.1); false when TAI finds no point (probability 2^-256).
static napi_value encode_to_curve_js(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) return throw_type(env, "encodeToCurve: expected 4 arguments");
  suite_key_alpha a;
  if (!get_suite_key_alpha(env, argv, "encodeToCurve", &a)) return NULL;
  uint8_t* out;
  size_t out_len;
  if (!get_bytes(env, argv[3], &out, &out_len) || out_len != PT_LEN) return throw_type(env, "encodeToCurve: hOut must be a Uint8Array of 32 bytes");
  ge H;
  int ok = 1;
  if (a.suite == SUITE_ELL2) encode_to_curve_ell2(&H, a.pk, a.alpha, a.alpha_len);
  else ok = encode_to_curve_tai(&H, a.pk, a.alpha, a.alpha_len);
  if (ok) ge_tobytes(out, &H);
  return boolean(env, ok);
}

// proveProducts(h: Uint8Array(32), x: Uint8Array(32), k: Uint8Array(32), out: Uint8Array(96)) -> boolean
//   out = point_to_string(x·H) ‖ point_to_string(k·B) ‖ point_to_string(k·H), scalars little endian,
//   computed in constant time in x and k; false when h does not decode.
static napi_value prove_products(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) return throw_type(env, "proveProducts: expected 4 arguments");
  uint8_t *h, *x, *k, *out;
  size_t h_len, x_len, k_len, out_len;
  if (!get_bytes(env, argv[0], &h, &h_len) || h_len != PT_LEN) return throw_type(env, "proveProducts: h must be a Uint8Array of 32 bytes");
  if (!get_bytes(env, argv[1], &x, &x_len) || x_len != Q_LEN) return throw_type(env, "proveProducts: x must be a Uint8Array of 32 bytes");
  if (!get_bytes(env, argv[2], &k, &k_len) || k_len != Q_LEN) return throw_type(env, "proveProducts: k must be a Uint8Array of 32 bytes");
  if (!get_bytes(env, argv[3], &out, &out_len) || out_len != 3 * PT_LEN) return throw_type(env, "proveProducts: out must be a Uint8Array of 96 bytes");
  ge H, P;
  int ok = ge_frombytes(&H, h);
  if (ok) {
    ge_cached th[16];
    ge_window_table(th, &H);
    ge_scalarmult_ct(&P, x, th);
    ge_tobytes(out, &P);
    ge_scalarmult_ct(&P, k, base_table);
    ge_tobytes(out + PT_LEN, &P);
    ge_scalarmult_ct(&P, k, th);
    ge_tobytes(out + 2 * PT_LEN, &P);
  }
  return boolean(env, ok);
}

static int export_fn(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok && napi_set_named_property(env, exports, name, fn) == napi_ok;
}

static napi_value init(napi_env env, napi_value exports) {
  ge base;
  ge_frombytes(&base, BASE_BYTES);
  ge_window_table(base_table, &base);
  if (!export_fn(env, exports, "verify", verify) || !export_fn(env, exports, "encodeToCurve", encode_to_curve_js) || !export_fn(env, exports, "proveProducts", prove_products)) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
