// Merkle leaf and node hashing for lib/merkle in one call per batch of chunks (see lib/merkle/native.ts).
//
// Node's crypto costs about 2.5 us of call overhead per SHA-256 whatever the input, so a 4 KiB leaf
// plus its inner node cost twice the hashing itself. This addon hashes a whole run of chunks and folds
// them into the streaming accumulator in one call, with the SHA-256 of the OpenSSL that Node itself is
// linked with (its symbols are exported by the node binary; SHA extensions where the CPU has them).
// The rules are exactly those of lib/merkle/tree.ts and file.ts/replica.ts:
//   leaf  = SHA-256(header ‖ chunk), with u64be(chunk index) written into the header at index_offset
//           when index_offset >= 0 (replica leaves), header = 0x00 for plain file leaves;
//   node  = SHA-256(0x01 ‖ left ‖ right);
//   accumulator: one perfect-subtree root per set bit of the leaf count n, highest first (the stack of
//   TreeAccumulator), so pushing a leaf merges while the low bits of n are 1.
#include <node_api.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

#include "napi-args.h"

#define HASH 32
#define MAX_HEADER 256
#define STACK_ENTRIES 64

static int get_int(napi_env env, napi_value v, int64_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (d != d || d < -1 || d > 9007199254740991.0 || d != (double)(int64_t)d) return 0;
  *out = (int64_t)d;
  return 1;
}

static void node_hash(const uint8_t* left, const uint8_t* right, uint8_t* out) {
  uint8_t buf[1 + 2 * HASH];
  buf[0] = 0x01;
  memcpy(buf + 1, left, HASH);
  memcpy(buf + 1 + HASH, right, HASH);
  SHA256(buf, sizeof buf, out);
}

// out = SHA-256(header ‖ piece): a leaf (header 0x00, or 0x03 and an index for replica leaves) or, with
// header 0x01 and a piece of two child hashes, a node.
static void hash_piece(const uint8_t* header, size_t header_len, const uint8_t* piece, size_t piece_len, uint8_t* out) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, header, header_len);
  SHA256_Update(&ctx, piece, piece_len);
  SHA256_Final(out, &ctx);
}

static int popcount64(uint64_t x) {
  int c = 0;
  while (x) {
    x &= x - 1;
    c++;
  }
  return c;
}

// absorb(stack, count, data, chunkSize, header, indexOffset, firstIndex, leavesOut | null) -> new count
//   stack: Uint8Array of STACK_ENTRIES * 32 bytes, the accumulator's subtree roots, highest first;
//   data: a whole number of full chunks; leaf i gets index firstIndex + i in its header;
//   leavesOut: receives the leaf hashes (32 bytes each) when given.
static napi_value absorb(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7) return throw_type(env, "absorb: expected 7 or 8 arguments");
  uint8_t *stack, *data, *header, *leaves = NULL;
  size_t stack_len, data_len, header_len, leaves_len = 0;
  int64_t count, chunk_size, index_offset, first_index;
  if (!get_bytes(env, argv[0], &stack, &stack_len) || stack_len < STACK_ENTRIES * HASH) return throw_type(env, "absorb: stack must be a Uint8Array of 2048 bytes");
  if (!get_int(env, argv[1], &count) || count < 0) return throw_type(env, "absorb: count must be a non-negative integer");
  if (!get_bytes(env, argv[2], &data, &data_len)) return throw_type(env, "absorb: data must be a Uint8Array");
  if (!get_int(env, argv[3], &chunk_size) || chunk_size <= 0) return throw_type(env, "absorb: chunkSize must be a positive integer");
  if (!get_bytes(env, argv[4], &header, &header_len) || header_len == 0 || header_len > MAX_HEADER) return throw_type(env, "absorb: header must be 1-256 bytes");
  if (!get_int(env, argv[5], &index_offset) || (index_offset >= 0 && (size_t)index_offset + 8 > header_len)) return throw_type(env, "absorb: indexOffset must be -1 or leave 8 bytes in the header");
  if (!get_int(env, argv[6], &first_index) || first_index < 0) return throw_type(env, "absorb: firstIndex must be a non-negative integer");
  if (data_len % (size_t)chunk_size != 0) return throw_type(env, "absorb: data must be a whole number of chunks");
  size_t chunks = data_len / (size_t)chunk_size;
  if (argc >= 8) {
    napi_valuetype t;
    napi_typeof(env, argv[7], &t);
    if (t != napi_null && t != napi_undefined) {
      if (!get_bytes(env, argv[7], &leaves, &leaves_len) || leaves_len < chunks * HASH) return throw_type(env, "absorb: leavesOut too small");
    }
  }

  uint8_t hdr[MAX_HEADER];
  memcpy(hdr, header, header_len);
  uint64_t n = (uint64_t)count;
  int depth = popcount64(n);
  uint8_t h[HASH];
  for (size_t i = 0; i < chunks; i++) {
    if (index_offset >= 0) {
      uint64_t idx = (uint64_t)first_index + i;
      for (int b = 0; b < 8; b++) hdr[index_offset + b] = (uint8_t)(idx >> (56 - 8 * b));
    }
    hash_piece(hdr, header_len, data + i * (size_t)chunk_size, (size_t)chunk_size, h);
    if (leaves) memcpy(leaves + i * HASH, h, HASH);
    uint64_t m = n;
    while (m & 1) {
      depth--;
      node_hash(stack + depth * HASH, h, h);
      m >>= 1;
    }
    if (depth >= STACK_ENTRIES) return throw_type(env, "absorb: tree too large");
    memcpy(stack + depth * HASH, h, HASH);
    depth++;
    n++;
  }
  napi_value result;
  napi_create_double(env, (double)n, &result);
  return result;
}

// pieces(data, pieceSize, header, out) -> undefined
//   out[32 i .. 32 i + 32) = SHA-256(header ‖ piece i) for every pieceSize-byte piece of data (a whole
//   number of them), nothing folded: a Merkle level's node hashes in one call (header 0x01, pieces of
//   two child hashes), where absorb would also fold each one into an accumulator it does not need.
static napi_value pieces(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) return throw_type(env, "pieces: expected 4 arguments");
  uint8_t *data, *header, *out;
  size_t data_len, header_len, out_len;
  int64_t piece_size;
  if (!get_bytes(env, argv[0], &data, &data_len)) return throw_type(env, "pieces: data must be a Uint8Array");
  if (!get_int(env, argv[1], &piece_size) || piece_size <= 0) return throw_type(env, "pieces: pieceSize must be a positive integer");
  if (!get_bytes(env, argv[2], &header, &header_len) || header_len == 0 || header_len > MAX_HEADER) return throw_type(env, "pieces: header must be 1-256 bytes");
  if (!get_bytes(env, argv[3], &out, &out_len)) return throw_type(env, "pieces: out must be a Uint8Array");
  if (data_len % (size_t)piece_size != 0) return throw_type(env, "pieces: data must be a whole number of pieces");
  size_t count = data_len / (size_t)piece_size;
  if (out_len < count * HASH) return throw_type(env, "pieces: out too small");
  for (size_t i = 0; i < count; i++) hash_piece(header, header_len, data + i * (size_t)piece_size, (size_t)piece_size, out + i * HASH);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "absorb", NAPI_AUTO_LENGTH, absorb, NULL, &fn);
  napi_set_named_property(env, exports, "absorb", fn);
  napi_create_function(env, "pieces", NAPI_AUTO_LENGTH, pieces, NULL, &fn);
  napi_set_named_property(env, exports, "pieces", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
