#!/usr/bin/env bash
# Brings up (or restarts) a single-node Ceph on 127.0.0.1 for development and tests: one mon, one mgr,
# one OSD on BlueStore over a sparse file, auth none, pools `wolk` (RADOS) and `rbd` (images).
# Idempotent: a running cluster is left as is; a stopped one is restarted with its data; a half-made one
# (a previous failure) is wiped and made again. Prints the ceph.conf path on stdout; progress on stderr.
#
# Env: WOLK_CEPH_DIR (state folder, default .wolk/ceph), WOLK_CEPH_PORT (mon port; default the first free
# one from 6789), WOLK_CEPH_OSD_SIZE (BlueStore device size, default 20G, sparse), WOLK_CEPH_TIMEOUT
# (seconds to wait for HEALTH_OK, default 90).
set -euo pipefail
SCRIPT_NAME="ceph up"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools ceph ceph-mon ceph-mgr ceph-osd monmaptool
TIMEOUT="${WOLK_CEPH_TIMEOUT:-90}"
OSD_SIZE="${WOLK_CEPH_OSD_SIZE:-20G}"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local p
  if [ -n "${WOLK_CEPH_PORT:-}" ]; then
    port_free "$WOLK_CEPH_PORT" || fail "WOLK_CEPH_PORT=$WOLK_CEPH_PORT is in use"
    echo "$WOLK_CEPH_PORT"; return
  fi
  for p in $(seq 6789 6889); do
    if port_free "$p"; then echo "$p"; return; fi
  done
  fail "no free mon port in 6789-6889"
}

write_conf() {
  local fsid="$1" port="$2"
  cat >"$CEPH_CONF" <<CONF
# Private single-node dev cluster, written by scripts/ceph/up.sh. Everything lives under $CEPH_DIR.
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$port]
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 5
mon data avail crit = 2
osd crush chooseleaf type = 0
run dir = $CEPH_DIR/run
admin socket = $CEPH_DIR/run/\$cluster-\$name.asok
pid file = $CEPH_DIR/run/\$name.pid
log file = $CEPH_DIR/log/\$name.log
crash dir = $CEPH_DIR/crash
keyring = $CEPH_DIR/keyring
mon data = $CEPH_DIR/mon/\$cluster-\$id
mgr data = $CEPH_DIR/mgr/\$cluster-\$id
osd data = $CEPH_DIR/osd/\$cluster-\$id
osd objectstore = bluestore
bluestore block create = true
bluestore block size = $OSD_SIZE
bluestore fsck on mkfs = false
osd memory target = 1073741824
mgr initial modules = iostat
[client]
log file = $CEPH_DIR/log/client.log
admin socket =
CONF
}

# start NAME CMD... : runs a daemon in the foreground mode (-f) detached into its own session.
start_daemon() {
  local name="$1"; shift
  if daemon_pid "$name" >/dev/null; then say "$name already running"; return; fi
  setsid nohup "$@" -c "$CEPH_CONF" -f </dev/null >>"$CEPH_DIR/log/$name.out" 2>&1 &
  echo $! >"$CEPH_DIR/run/$name.spid"
  sleep 0.5
  daemon_pid "$name" >/dev/null || fail "$name exited at once; see $CEPH_DIR/log/$name.out and $CEPH_DIR/log/"
}

wait_for() {  # wait_for SECONDS WHAT CMD...
  local secs="$1" what="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${secs}s waiting for $what (logs: $CEPH_DIR/log/)"
    sleep 1
  done
}

health_ok() { cephc health 2>/dev/null | grep -q '^HEALTH_OK'; }
osd_up() { cephc osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1'; }
mgr_up() { cephc mgr stat -f json 2>/dev/null | grep -q '"available":true'; }

# Already up and healthy: nothing to do.
if [ -f "$CEPH_DIR/initialized" ] && daemon_pid mon.a >/dev/null && daemon_pid osd.0 >/dev/null && health_ok; then
  say "already up"
  echo "$CEPH_CONF"
  exit 0
fi

if [ ! -f "$CEPH_DIR/initialized" ]; then
  # Fresh (or half-made) cluster: stop whatever a failed attempt left and start over.
  "$CEPH_SCRIPTS/down.sh" --purge >/dev/null 2>&1 || true
  mkdir -p "$CEPH_DIR"/{run,log,crash,mon,mgr/ceph-x,osd/ceph-0,mounts}
  port="$(pick_port)"
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  write_conf "$fsid" "$port"
  echo "$port" >"$CEPH_DIR/port"
  say "new cluster $fsid, mon on 127.0.0.1:$port, state in $CEPH_DIR"
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$CEPH_DIR/monmap" >/dev/null ||
    fail "monmaptool failed"
  ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" >>"$CEPH_DIR/log/mkfs.out" 2>&1 ||
    fail "ceph-mon --mkfs failed; see $CEPH_DIR/log/mkfs.out"
  start_daemon mon.a ceph-mon -i a
  wait_for 30 "the monitor to answer" cephc health
  start_daemon mgr.x ceph-mgr -i x
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  osd_id="$(cephc osd new "$osd_uuid")" || fail "ceph osd new failed"
  [ "$osd_id" = "0" ] || fail "expected OSD id 0, got '$osd_id'"
  ceph-osd -c "$CEPH_CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$CEPH_DIR/log/mkfs.out" 2>&1 ||
    fail "ceph-osd --mkfs failed; see $CEPH_DIR/log/mkfs.out"
  start_daemon osd.0 ceph-osd -i 0
  wait_for 60 "the OSD to come up" osd_up
  for pool in "$WOLK_POOL" "$RBD_POOL"; do
    cephc osd pool create "$pool" 8 8 >/dev/null 2>&1 || fail "creating pool $pool failed"
  done
  cephc osd pool application enable "$WOLK_POOL" wolk >/dev/null 2>&1 || fail "tagging pool $WOLK_POOL failed"
  rbdc pool init "$RBD_POOL" || fail "rbd pool init $RBD_POOL failed"
  touch "$CEPH_DIR/initialized"
else
  # Stopped cluster with data: restart the daemons on the same port.
  port="$(cat "$CEPH_DIR/port")"
  if ! daemon_pid mon.a >/dev/null; then
    port_free "$port" || fail "mon port $port (recorded in $CEPH_DIR/port) is taken by another process"
  fi
  say "restarting the cluster in $CEPH_DIR (mon on 127.0.0.1:$port)"
  start_daemon mon.a ceph-mon -i a
  wait_for 30 "the monitor to answer" cephc health
  start_daemon mgr.x ceph-mgr -i x
  start_daemon osd.0 ceph-osd -i 0
  wait_for 60 "the OSD to come up" osd_up
fi

wait_for 30 "the manager" mgr_up
if ! wait_for "$TIMEOUT" HEALTH_OK health_ok 2>/dev/null; then
  fail "no HEALTH_OK after ${TIMEOUT}s: $(cephc health detail 2>&1 | head -5 | tr '\n' ' ')"
fi
say "HEALTH_OK"
echo "$CEPH_CONF"
