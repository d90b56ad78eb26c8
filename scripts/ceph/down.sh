#!/usr/bin/env bash
# Stops the dev cluster started by up.sh: unmounts every RBD mount made by rbd-mount.sh, then stops the
# OSD, the manager and the monitor by pid (TERM, then KILL after a grace period). Data stays, so up.sh
# restarts the same cluster; `down.sh --purge` also deletes the state folder. Idempotent.
set -euo pipefail
SCRIPT_NAME="ceph down"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=false
[ "${1:-}" = "--purge" ] && purge=true

# RBD mounts first: they hold the cluster's clients.
if [ -d "$CEPH_DIR/mounts" ]; then
  for rec in "$CEPH_DIR"/mounts/*.mount; do
    [ -e "$rec" ] || continue
    mp="$(sed -n 's/^mountpoint=//p' "$rec")"
    "$CEPH_SCRIPTS/rbd-umount.sh" "$mp" || say "could not unmount $mp cleanly"
  done
fi

stop_daemon() {
  local name="$1" pid i
  pid="$(daemon_pid "$name")" || { rm -f "$CEPH_DIR/run/$name.spid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    [ -d "/proc/$pid" ] || break
    sleep 0.2
  done
  if [ -d "/proc/$pid" ]; then
    say "$name (pid $pid) ignored TERM for 20s; killing"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  [ -d "/proc/$pid" ] && fail "$name (pid $pid) is still running"
  rm -f "$CEPH_DIR/run/$name.spid"
  say "stopped $name"
}

stop_daemon osd.0
stop_daemon mgr.x
stop_daemon mon.a

# Anything else still holding our config (e.g. a client left by a crashed test) would keep files open.
leftover="$(pgrep -f -- "$CEPH_CONF" || true)"
[ -z "$leftover" ] || fail "processes still use $CEPH_CONF: $leftover"

if $purge; then
  # Never rm -rf into a live mount (a volume that failed to unmount would lose its contents).
  if awk -v d="$CEPH_DIR/" 'index($2 "/", d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    fail "something under $CEPH_DIR is still mounted; not purging"
  fi
  rm -rf "$CEPH_DIR"
  say "removed $CEPH_DIR"
fi
