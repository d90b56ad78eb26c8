#!/usr/bin/env bash
# Stops the etcd cluster that up.sh started in DIR (by the pids it recorded: TERM, then KILL after 10 s)
# and deletes DIR (`--keep` keeps it, with the members' logs). Idempotent.
set -euo pipefail
say() { printf 'etcd down: %s\n' "$*" >&2; }
DIR="${1:?usage: down.sh DIR [--keep]}"
keep=false
[ "${2:-}" = "--keep" ] && keep=true
[ -d "$DIR" ] || exit 0
for f in "$DIR"/run/*.pid; do
  [ -e "$f" ] || continue
  pid="$(cat "$f")"
  # Only a pid that is still an etcd process (it may have been reused since).
  if [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "etcd" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    if [ -d "/proc/$pid" ]; then say "etcd pid $pid ignored TERM; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
done
if $keep; then say "stopped; data and logs kept in $DIR"; else rm -rf "$DIR"; fi
