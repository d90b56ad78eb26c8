#!/usr/bin/env bash
# rbd-umount.sh MOUNTPOINT: undoes rbd-mount.sh: flush, umount, detach the loop device, unmount rbd-fuse,
# and leaves nothing behind. Idempotent; works on a half-made mount.
set -euo pipefail
SCRIPT_NAME="rbd-umount"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || fail "usage: rbd-umount.sh MOUNTPOINT"
if [ -d "$1" ]; then MP="$(cd "$1" && pwd -P)"; else MP="$1"; fi
KEY="$(printf '%s' "$MP" | sha1sum | cut -c1-12)"
REC="$CEPH_DIR/mounts/$KEY.mount"
if [ ! -f "$REC" ]; then
  mountpoint -q "$MP" 2>/dev/null && fail "$MP is mounted but not by rbd-mount.sh (no record in $CEPH_DIR/mounts)"
  say "$MP is not mounted"
  exit 0
fi
NAME="$(sed -n 's/^image=//p' "$REC")"
FUSE_DIR="$(sed -n 's/^fuse=//p' "$REC")"
LOOP="$(sed -n 's/^loop=//p' "$REC")"

if mountpoint -q "$MP"; then
  sync -f "$MP" 2>/dev/null || true
  umount "$MP" || fail "umount $MP failed (busy? see: fuser -vm $MP)"
fi
if [ -n "$LOOP" ] && losetup "$LOOP" >/dev/null 2>&1; then
  # Only detach the loop device if it still points at our image file.
  if losetup -n -O BACK-FILE "$LOOP" | grep -q -- "$FUSE_DIR/$NAME"; then
    losetup -d "$LOOP" || fail "losetup -d $LOOP failed"
  fi
fi
if [ -n "$FUSE_DIR" ] && mountpoint -q "$FUSE_DIR" 2>/dev/null; then
  if command -v fusermount >/dev/null; then fusermount -u "$FUSE_DIR" || umount "$FUSE_DIR"
  else fusermount3 -u "$FUSE_DIR" || umount "$FUSE_DIR"; fi || fail "unmounting rbd-fuse at $FUSE_DIR failed"
  # rbd-fuse exits once unmounted; wait so no client is left when down.sh stops the cluster.
  for _ in $(seq 1 50); do pgrep -f -- "rbd-fuse .*$FUSE_DIR\$" >/dev/null || break; sleep 0.1; done
  pgrep -f -- "rbd-fuse .*$FUSE_DIR\$" >/dev/null && fail "rbd-fuse for $FUSE_DIR is still running"
fi
rmdir "$FUSE_DIR" 2>/dev/null || true
rm -f "$REC"
say "unmounted $MP (rbd/$NAME)"
