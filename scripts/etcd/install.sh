#!/usr/bin/env bash
# Installs Debian's etcd (etcd-server for the `etcd` binary, etcd-client for `etcdctl`) when missing:
# the reference cluster of `npm run bench -- consensus`. apt-get through sudo only when not root.
# Prints nothing on stdout; progress and the reason of a failure on stderr; exit 0 when both tools exist.
set -euo pipefail
say() { printf 'etcd install: %s\n' "$*" >&2; }

if command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "etcd is not installed and apt-get is not available: install etcd 3.4+ (etcd and etcdctl) by hand"
  exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else say "not root and no sudo: cannot apt-get install etcd-server"; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
say "installing etcd-server etcd-client with apt-get"
if ! "${SUDO[@]}" apt-get install -y --no-install-recommends etcd-server etcd-client >&2; then
  say "apt-get install failed; updating the package lists and trying again"
  "${SUDO[@]}" apt-get update >&2 || true
  "${SUDO[@]}" apt-get install -y --no-install-recommends etcd-server etcd-client >&2 || { say "apt-get install etcd-server etcd-client failed"; exit 1; }
fi
# Debian's package enables a system etcd on 2379; the bench runs its own cluster on other ports.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${SUDO[@]}" systemctl disable --now etcd >/dev/null 2>&1 || true
fi
command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1 || { say "etcd or etcdctl still missing after the install"; exit 1; }
say "installed $(etcd --version 2>/dev/null | head -1)"
