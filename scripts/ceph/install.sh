#!/usr/bin/env bash
# Installs Debian's Ceph packages needed by the single-node dev cluster, the RBD mount and the RADOS addon.
# Quick (no apt call at all) when everything is already installed.
set -euo pipefail

PACKAGES=(ceph-mon ceph-mgr ceph-osd ceph-common librados-dev rbd-fuse fuse3)

fail() { echo "ceph install: $*" >&2; exit 1; }

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "ceph install: all packages present ($(ceph --version 2>/dev/null | awk '{print $3}'))"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || fail "missing ${missing[*]} and not root: run as root or install them by hand"
command -v apt-get >/dev/null || fail "missing ${missing[*]} and apt-get is not available (Debian/Ubuntu only)"

echo "ceph install: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || fail "apt-get update failed (is the package mirror reachable?)"
apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null ||
  fail "apt-get install ${PACKAGES[*]} failed"
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || fail "$p is still not installed"
done
echo "ceph install: done ($(ceph --version | awk '{print $3}'))"
