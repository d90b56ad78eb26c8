#!/usr/bin/env bash
# Builds the RADOS N-API addon (native/rados) with node-gyp against librados into native/rados/build/.
# Skips the build when the .node file is newer than its sources. Needs librados-dev (scripts/ceph/install.sh),
# a C++ compiler and Node's headers (nodedir from ~/.npmrc, /usr/include/node here).
set -euo pipefail
SCRIPT_NAME="build-addon"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ADDON_DIR="$REPO_ROOT/native/rados"
OUT="$ADDON_DIR/build/Release/wolk_rados.node"
[ -f /usr/include/rados/librados.h ] || fail "librados.h not found: run scripts/ceph/install.sh (librados-dev)"
command -v g++ >/dev/null || command -v c++ >/dev/null || fail "no C++ compiler (install g++)"
[ -d "$REPO_ROOT/node_modules/node-addon-api" ] || fail "node-addon-api is not installed (npm ci)"

if [ -f "$OUT" ] && [ -z "$(find "$ADDON_DIR/src" "$ADDON_DIR/binding.gyp" -newer "$OUT" -print -quit)" ]; then
  say "up to date: $OUT"
  exit 0
fi

GYP="${NODE_GYP:-}"
if [ -z "$GYP" ]; then
  for c in "$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
           /usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js \
           "$REPO_ROOT/node_modules/node-gyp/bin/node-gyp.js"; do
    [ -f "$c" ] && { GYP="$c"; break; }
  done
fi
[ -n "$GYP" ] || fail "node-gyp not found (set NODE_GYP to node-gyp.js)"

NODEDIR_ARGS=()
# Offline build: use the installed headers rather than downloading them.
if [ -f /usr/include/node/node_api.h ]; then NODEDIR_ARGS=(--nodedir=/usr); fi

say "building $OUT"
cd "$ADDON_DIR"
node "$GYP" rebuild --release "${NODEDIR_ARGS[@]}" -j 2 >"$ADDON_DIR/build.log" 2>&1 || {
  tail -30 "$ADDON_DIR/build.log" >&2
  fail "node-gyp rebuild failed; full log in native/rados/build.log"
}
rm -f "$ADDON_DIR/build.log"
[ -f "$OUT" ] || fail "node-gyp finished but $OUT is missing"
say "built $OUT"
