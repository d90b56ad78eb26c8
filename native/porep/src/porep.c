// The sequential labelling loop of the proof of replication (lib/porep/labels.ts, docs/porep.md): one
// call labels nodes [0, count) of one layer, gathering each node's parents and hashing with the SHA-256
// of the OpenSSL that Node itself is linked with (SHA extensions where the CPU has them).
//
// The graph below is lib/porep/graph.ts, bit for bit (the tests compare both paths on every layer):
//   fmix = MurmurHash3 fmix32; h32(k, x, y) = fmix(fmix(k ^ x) ^ y); key = GRAPH_KEY as 8 u32be words.
//   base parents of i: none for 0; six times 0 for 1; else i-1 and five by bucket sampling.
//   expander parents of i: floor(pi(8i + k) / 8), pi a 4-round Feistel on 2h bits with cycle walking.
//   label(l, i) = SHA-256(replicaId ‖ u32be(l) ‖ u64be(i) ‖ base parents' labels (layer l)
//                         ‖ expander parents' labels (layer l-1, when l >= 2)).
#define _POSIX_C_SOURCE 200809L  // pread
#include <errno.h>
#include <node_api.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "napi-args.h"

#define HASH 32
#define BASE_DEGREE 6
#define EXP_DEGREE 8
#define HEADER (32 + 4 + 8)
#define MAX_NODES (1ull << 30)

static int get_int(napi_env env, napi_value v, int64_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (d != d || d < 0 || d > 9007199254740991.0 || d != (double)(int64_t)d) return 0;
  *out = (int64_t)d;
  return 1;
}

static inline uint32_t fmix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}

static inline uint32_t h32(uint32_t k, uint32_t x, uint32_t y) { return fmix(fmix(k ^ x) ^ y); }

static unsigned ceil_log2(uint64_t v) {
  unsigned b = 0;
  while ((1ull << b) < v) b++;
  return b;
}

// Returns the number of base parents (0 or BASE_DEGREE).
static int base_parents(const uint32_t* key, uint64_t i, uint64_t* out) {
  if (i == 0) return 0;
  if (i == 1) {
    for (int j = 0; j < BASE_DEGREE; j++) out[j] = 0;
    return BASE_DEGREE;
  }
  const uint64_t m = BASE_DEGREE - 1;
  const uint64_t v = i * m;
  const uint64_t buckets = ceil_log2(v);
  const uint32_t ii = (uint32_t)i;
  out[0] = i - 1;
  for (uint32_t j = 1; j <= m; j++) {
    uint64_t b = 1 + h32(key[0], ii, 3 * j) % buckets;
    uint64_t hi = 1ull << b;
    if (hi > v) hi = v;
    uint64_t lo = hi / 2;
    if (lo < 2) lo = 2;
    uint64_t w = ((uint64_t)(h32(key[0], ii, 3 * j + 1) >> 11) << 32) | h32(key[0], ii, 3 * j + 2);
    uint64_t d = lo + w % (hi - lo + 1);
    out[j] = (v - d) / m;
  }
  return BASE_DEGREE;
}

typedef struct {
  uint64_t domain;
  unsigned half;
  uint64_t mask;
} expander_t;

static void expander_init(expander_t* e, uint64_t nodes) {
  e->domain = EXP_DEGREE * nodes;
  unsigned bits = ceil_log2(e->domain);
  if (bits < 2) bits = 2;
  e->half = (bits + 1) / 2;
  e->mask = (1ull << e->half) - 1;
}

static uint64_t permute_once(const uint32_t* key, const expander_t* e, uint64_t x) {
  uint64_t l = x >> e->half, r = x & e->mask;
  for (int round = 0; round < 4; round++) {
    uint64_t t = r;
    r = l ^ (h32(key[1 + round], (uint32_t)r, e->half) & e->mask);
    l = t;
  }
  return (l << e->half) | r;
}

static void expander_parents(const uint32_t* key, const expander_t* e, uint64_t i, uint64_t* out) {
  for (int k = 0; k < EXP_DEGREE; k++) {
    uint64_t y = permute_once(key, e, EXP_DEGREE * i + k);
    while (y >= e->domain) y = permute_once(key, e, y);
    out[k] = y / EXP_DEGREE;
  }
}

static void read_key(const uint8_t* key_bytes, uint32_t* key) {
  for (int j = 0; j < 8; j++) key[j] = ((uint32_t)key_bytes[4 * j] << 24) | ((uint32_t)key_bytes[4 * j + 1] << 16) | ((uint32_t)key_bytes[4 * j + 2] << 8) | key_bytes[4 * j + 3];
}

// labelLayer(graphKey(32), replicaId(32), layer, nodes, count, prev | null, out)
//   labels nodes [0, count) of `layer` (1-based) of a sector of `nodes` nodes into out[0 .. 32·count);
//   prev holds the whole previous layer (32·nodes bytes) when layer >= 2 and is ignored for layer 1.
static napi_value label_layer(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 7) return throw_type(env, "labelLayer: expected 7 arguments");
  uint8_t *key_bytes, *rid, *prev = NULL, *out;
  size_t key_len, rid_len, prev_len = 0, out_len;
  int64_t layer, nodes, count;
  if (!get_bytes(env, argv[0], &key_bytes, &key_len) || key_len != 32) return throw_type(env, "labelLayer: graphKey must be 32 bytes");
  if (!get_bytes(env, argv[1], &rid, &rid_len) || rid_len != 32) return throw_type(env, "labelLayer: replicaId must be 32 bytes");
  if (!get_int(env, argv[2], &layer) || layer < 1 || layer > 0xffffffffll) return throw_type(env, "labelLayer: layer must be an integer >= 1");
  if (!get_int(env, argv[3], &nodes) || nodes < 1 || (uint64_t)nodes > MAX_NODES) return throw_type(env, "labelLayer: nodes must be in [1, 2^30]");
  if (!get_int(env, argv[4], &count) || count > nodes) return throw_type(env, "labelLayer: count must be in [0, nodes]");
  if (layer >= 2) {
    if (!get_bytes(env, argv[5], &prev, &prev_len) || prev_len < (size_t)nodes * HASH) return throw_type(env, "labelLayer: prev must hold the whole previous layer");
  }
  if (!get_bytes(env, argv[6], &out, &out_len) || out_len < (size_t)count * HASH) return throw_type(env, "labelLayer: out too small");

  uint32_t key[8];
  read_key(key_bytes, key);
  expander_t e;
  expander_init(&e, (uint64_t)nodes);

  uint8_t buf[HEADER + (BASE_DEGREE + EXP_DEGREE) * HASH];
  memcpy(buf, rid, 32);
  for (int b = 0; b < 4; b++) buf[32 + b] = (uint8_t)((uint64_t)layer >> (24 - 8 * b));
  uint64_t parents[EXP_DEGREE];
  for (uint64_t i = 0; i < (uint64_t)count; i++) {
    for (int b = 0; b < 8; b++) buf[36 + b] = (uint8_t)(i >> (56 - 8 * b));
    size_t o = HEADER;
    int nb = base_parents(key, i, parents);
    for (int j = 0; j < nb; j++, o += HASH) memcpy(buf + o, out + parents[j] * HASH, HASH);
    if (layer >= 2) {
      expander_parents(key, &e, i, parents);
      for (int k = 0; k < EXP_DEGREE; k++, o += HASH) memcpy(buf + o, prev + parents[k] * HASH, HASH);
    }
    SHA256(buf, o, out + i * HASH);
  }
  return NULL;
}

// parents(graphKey(32), nodes, i) -> [base parents..., expander parents...] (0 or 6 base, then 8): lets the
// tests compare the C graph with graph.ts at sector sizes too large to label in a test.
static napi_value parents_of(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) return throw_type(env, "parents: expected 3 arguments");
  uint8_t* key_bytes;
  size_t key_len;
  int64_t nodes, i;
  if (!get_bytes(env, argv[0], &key_bytes, &key_len) || key_len != 32) return throw_type(env, "parents: graphKey must be 32 bytes");
  if (!get_int(env, argv[1], &nodes) || nodes < 1 || (uint64_t)nodes > MAX_NODES) return throw_type(env, "parents: nodes must be in [1, 2^30]");
  if (!get_int(env, argv[2], &i) || i >= nodes) return throw_type(env, "parents: i must be in [0, nodes)");
  uint32_t key[8];
  read_key(key_bytes, key);
  expander_t e;
  expander_init(&e, (uint64_t)nodes);
  uint64_t base[BASE_DEGREE], exp[EXP_DEGREE];
  int nb = base_parents(key, (uint64_t)i, base);
  expander_parents(key, &e, (uint64_t)i, exp);
  napi_value arr;
  napi_create_array_with_length(env, (size_t)(nb + EXP_DEGREE), &arr);
  for (int j = 0; j < nb + EXP_DEGREE; j++) {
    napi_value v;
    napi_create_double(env, (double)(j < nb ? base[j] : exp[j - nb]), &v);
    napi_set_element(env, arr, (uint32_t)j, v);
  }
  return arr;
}

// readNodes(fd, indices(Uint32Array), out(Uint8Array)): node indices[j]'s 32 bytes of the open file fd
// into out[32j, 32j + 32), one pread each. The seal proof opens ~4 000 scattered columns of L layers;
// from JS every 32-byte read cost a binding call and its checks (~190 ms per proof on the devnet).
static napi_value read_nodes(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) return throw_type(env, "readNodes: expected 3 arguments");
  int64_t fd;
  if (!get_int(env, argv[0], &fd) || fd > 0x7fffffff) return throw_type(env, "readNodes: fd must be a file descriptor");
  bool is_ta = false;
  napi_typedarray_type type;
  size_t count;
  void* idx_ptr;
  napi_value ab;
  size_t offset;
  if (napi_is_typedarray(env, argv[1], &is_ta) != napi_ok || !is_ta || napi_get_typedarray_info(env, argv[1], &type, &count, &idx_ptr, &ab, &offset) != napi_ok || type != napi_uint32_array) {
    return throw_type(env, "readNodes: indices must be a Uint32Array");
  }
  uint8_t* out;
  size_t out_len;
  if (!get_bytes(env, argv[2], &out, &out_len) || out_len < count * HASH) return throw_type(env, "readNodes: out must hold 32 bytes per index");
  const uint32_t* idx = (const uint32_t*)idx_ptr;
  for (size_t j = 0; j < count; j++) {
    size_t got = 0;
    while (got < HASH) {
      ssize_t n = pread((int)fd, out + j * HASH + got, HASH - got, (off_t)idx[j] * HASH + (off_t)got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "readNodes: node %u: %s", idx[j], n < 0 ? strerror(errno) : "past the end of the file");
        napi_throw_error(env, n < 0 ? "EIO" : "ERR_OUT_OF_RANGE", msg);
        return NULL;
      }
      got += (size_t)n;
    }
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "labelLayer", NAPI_AUTO_LENGTH, label_layer, NULL, &fn);
  napi_set_named_property(env, exports, "labelLayer", fn);
  napi_create_function(env, "parents", NAPI_AUTO_LENGTH, parents_of, NULL, &fn);
  napi_set_named_property(env, exports, "parents", fn);
  napi_create_function(env, "readNodes", NAPI_AUTO_LENGTH, read_nodes, NULL, &fn);
  napi_set_named_property(env, exports, "readNodes", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
