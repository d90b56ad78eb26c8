#!/usr/bin/env bash
# Exits 0 and prints the ceph.conf path when the dev cluster in $WOLK_CEPH_DIR is up and HEALTH_OK;
# exits 1 with the reason otherwise. Starts nothing.
set -euo pipefail
SCRIPT_NAME="ceph status"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -f "$CEPH_DIR/initialized" ] || fail "no cluster in $CEPH_DIR (run scripts/ceph/up.sh)"
for d in mon.a mgr.x osd.0; do
  daemon_pid "$d" >/dev/null || fail "$d is not running (run scripts/ceph/up.sh)"
done
health="$(cephc health 2>&1 || true)"
case "$health" in
  HEALTH_OK*) echo "$CEPH_CONF" ;;
  *) fail "cluster in $CEPH_DIR answers: ${health:-nothing}" ;;
esac
