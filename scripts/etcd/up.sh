#!/usr/bin/env bash
# Starts a private 3-member etcd cluster on loopback for `npm run bench -- consensus` (the reference for
# replicated commits on this machine): members m0, m1, m2 on free 127.0.0.1 ports, data and logs in
# DIR (the first argument; default a new temp dir), default etcd settings (every commit fsynced to each
# member's WAL). Installs etcd first when missing (install.sh). Waits until every member is healthy.
# On success prints DIR on the first line and the client endpoints (comma-separated) on the second;
# progress on stderr. Stop with `down.sh DIR`.
# Env: WOLK_ETCD_TIMEOUT (seconds to wait for health, default 90).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf 'etcd up: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

"$HERE/install.sh" || fail "etcd is not installed and could not be installed"
TIMEOUT="${WOLK_ETCD_TIMEOUT:-90}"
DIR="${1:-$(mktemp -d "${TMPDIR:-/tmp}/wolk-etcd-XXXXXX")}"
[ -e "$DIR/run" ] && fail "$DIR already holds a cluster (down.sh $DIR first)"
mkdir -p "$DIR/run"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORTS=()
pick_port() {
  local p tries=0
  while [ $tries -lt 500 ]; do
    p=$((20000 + RANDOM % 30000))
    tries=$((tries + 1))
    [[ " ${PORTS[*]:-} " == *" $p "* ]] && continue
    if port_free "$p"; then PORTS+=("$p"); return; fi
  done
  fail "no free loopback port found"
}
for _ in 1 2 3 4 5 6; do pick_port; done

CLUSTER=""
CLIENTS=()
for i in 0 1 2; do
  CLUSTER+="${CLUSTER:+,}m$i=http://127.0.0.1:${PORTS[$((2 * i + 1))]}"
  CLIENTS+=("http://127.0.0.1:${PORTS[$((2 * i))]}")
done
TOKEN="wolk-bench-$$-$RANDOM"
for i in 0 1 2; do
  client="${CLIENTS[$i]}"
  peer="http://127.0.0.1:${PORTS[$((2 * i + 1))]}"
  setsid nohup etcd --name "m$i" --data-dir "$DIR/m$i" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$CLUSTER" --initial-cluster-token "$TOKEN" --initial-cluster-state new \
    --logger zap --log-level warn \
    </dev/null >"$DIR/m$i.log" 2>&1 &
  echo $! >"$DIR/run/m$i.pid"
done
ENDPOINTS="$(IFS=,; echo "${CLIENTS[*]}")"
echo "$ENDPOINTS" >"$DIR/endpoints"

deadline=$((SECONDS + TIMEOUT))
while :; do
  for i in 0 1 2; do
    pid="$(cat "$DIR/run/m$i.pid")"
    if ! kill -0 "$pid" 2>/dev/null; then
      say "member m$i exited; last lines of $DIR/m$i.log:"; tail -5 "$DIR/m$i.log" >&2 || true
      "$HERE/down.sh" "$DIR" >/dev/null 2>&1 || true
      exit 1
    fi
  done
  if ETCDCTL_API=3 etcdctl --endpoints="$ENDPOINTS" --command-timeout=3s endpoint health >/dev/null 2>&1; then break; fi
  if [ $SECONDS -ge $deadline ]; then
    say "the cluster was not healthy after ${TIMEOUT}s"
    "$HERE/down.sh" "$DIR" >/dev/null 2>&1 || true
    exit 1
  fi
  sleep 0.5
done
say "3 members healthy at $ENDPOINTS ($(etcd --version 2>/dev/null | head -1))"
echo "$DIR"
echo "$ENDPOINTS"
