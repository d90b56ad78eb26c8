#!/usr/bin/env bash
# The Ceph integration tier (npm run test:ceph; .ci/run runs it after npm test):
#   install Ceph packages -> fresh single-node cluster -> build the RADOS addon -> mount an RBD image ->
#   ava over test/ceph -> unmount -> cluster down and purged (always, via trap).
# If this machine cannot run it (not root, no /dev/fuse, no loop devices, apt unreachable), it prints ONE
# line saying why and exits non-zero: CI must never go green without it.
# Env: WOLK_CEPH_DIR (default .wolk/ceph-test, separate from the dev cluster in .wolk/ceph),
#      WOLK_CEPH_KEEP=1 leaves the cluster up and mounted for debugging.
set -euo pipefail
SCRIPT_NAME="ceph tier"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export WOLK_CEPH_DIR="${WOLK_CEPH_DIR:-$REPO/.wolk/ceph-test}"

cannot() { echo "ceph tier: CANNOT RUN on this machine: $*" >&2; exit 3; }
[ "$(id -u)" -eq 0 ] || cannot "needs root (apt-get, mount, losetup)"
[ -c /dev/fuse ] || cannot "no /dev/fuse (rbd-fuse needs FUSE)"
[ -e /dev/loop-control ] || cannot "no /dev/loop-control (the RBD volume needs a loop device)"

T0=$SECONDS
step() { STEP="$1"; STEP_T=$SECONDS; echo "ceph tier: $1" >&2; }
times=()
done_step() { times+=("$STEP $((SECONDS - STEP_T))s"); }

mkdir -p "$REPO/.wolk"
LOG="$REPO/.wolk/ceph-tier-install.log"
step "install"
if ! "$HERE/install.sh" >"$LOG" 2>&1; then
  cannot "installing the Ceph packages failed: $(grep -v '^debconf' "$LOG" | tail -1)"
fi
done_step

MOUNT="$WOLK_CEPH_DIR/volume"
cleanup() {
  local rc=$?
  if [ "${WOLK_CEPH_KEEP:-}" = "1" ]; then
    echo "ceph tier: WOLK_CEPH_KEEP=1: cluster left up in $WOLK_CEPH_DIR, volume at $MOUNT" >&2
    return
  fi
  "$HERE/rbd-umount.sh" "$MOUNT" >/dev/null 2>&1 || echo "ceph tier: unmounting $MOUNT failed" >&2
  "$HERE/down.sh" --purge >/dev/null 2>&1 || { echo "ceph tier: down.sh failed; see $WOLK_CEPH_DIR/log" >&2; rc=1; }
  exit $rc
}
trap cleanup EXIT

step "cluster up (fresh)"
"$HERE/down.sh" --purge >/dev/null 2>&1 || true   # a previous run's leftovers
CONF="$("$HERE/up.sh")"
done_step
step "build the RADOS addon"
"$HERE/build-addon.sh"
done_step
step "mount an RBD image"
mkdir -p "$MOUNT"
"$HERE/rbd-mount.sh" wolk-tier 2G "$MOUNT" >/dev/null
done_step

export WOLK_CEPH_CONF="$CONF" WOLK_CEPH_POOL="${WOLK_CEPH_POOL:-wolk}" WOLK_CEPH_MOUNT="$MOUNT"
step "tests (ava, test/ceph)"
cd "$REPO"
set +e
npx ava --config test/ceph/ava.config.mjs "$@"
rc=$?
set -e
done_step
echo "ceph tier: $([ $rc -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - T0))s (${times[*]}; teardown follows)" >&2
exit $rc
