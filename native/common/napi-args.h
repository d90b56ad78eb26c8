// N-API argument helpers shared by the project's addons (native/merkle, native/porep): a
// Uint8Array's bytes (0 when the value is anything else) and a TypeError thrower.
#ifndef WOLK_NAPI_ARGS_H
#define WOLK_NAPI_ARGS_H
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

static inline napi_value throw_type(napi_env env, const char* msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static inline int get_bytes(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  size_t length;
  void* ptr;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (uint8_t*)ptr;
  *len = length;
  return 1;
}

#endif
