{
  "targets": [
    {
      "target_name": "wolk_vrf",
      "include_dirs": ["../common"],
      "sources": ["src/vrf.c"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=0x10100000L", "OPENSSL_SUPPRESS_DEPRECATED"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
