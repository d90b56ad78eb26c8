#!/usr/bin/env bash
# rbd-mount.sh NAME SIZE MOUNTPOINT: mounts the RBD image rbd/NAME (created with SIZE, e.g. 2G, if missing)
# as ext4 at MOUNTPOINT. The kernel here has no rbd/nbd driver, so the image is exposed as a file by
# rbd-fuse and a loop device goes over that file; mkfs.ext4 runs only if the image has no filesystem yet.
# This is the same thing a pod sees from Rook's rook-ceph-block StorageClass: an RBD image as a block
# device with ext4 on it. Idempotent (a mountpoint already mounted from NAME is left as is).
# Undo with rbd-umount.sh MOUNTPOINT (down.sh also unmounts everything this script mounted).
set -euo pipefail
SCRIPT_NAME="rbd-mount"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 3 ] || fail "usage: rbd-mount.sh NAME SIZE MOUNTPOINT"
NAME="$1" SIZE="$2" MP_ARG="$3"
[[ "$NAME" =~ ^[A-Za-z0-9._-]+$ ]] || fail "image name '$NAME' must be [A-Za-z0-9._-]+"
require_tools rbd rbd-fuse losetup mkfs.ext4 blkid mount umount
[ -c /dev/fuse ] || fail "/dev/fuse is missing: this machine cannot mount FUSE filesystems"
[ -e /dev/loop-control ] || fail "/dev/loop-control is missing: this machine has no loop devices"
cluster_answers || fail "the cluster in $CEPH_DIR does not answer: run scripts/ceph/up.sh first"

mkdir -p "$MP_ARG" || fail "cannot create mountpoint $MP_ARG"
MP="$(cd "$MP_ARG" && pwd -P)"
KEY="$(printf '%s' "$MP" | sha1sum | cut -c1-12)"
REC="$CEPH_DIR/mounts/$KEY.mount"
FUSE_DIR="$CEPH_DIR/fuse/$NAME"
mkdir -p "$CEPH_DIR/mounts" "$CEPH_DIR/fuse"

if [ -f "$REC" ] && mountpoint -q "$MP"; then
  [ "$(sed -n 's/^image=//p' "$REC")" = "$NAME" ] || fail "$MP is already mounted from another image"
  say "$MP already mounted from rbd/$NAME"
  exit 0
fi
mountpoint -q "$MP" && fail "$MP is already a mountpoint (not one of ours)"
if [ -f "$REC" ]; then
  # A stale record (e.g. a crash between steps): clean what is left, then mount afresh.
  "$CEPH_SCRIPTS/rbd-umount.sh" "$MP" || fail "cleaning a stale mount record of $MP failed"
fi

if ! rbdc info "$RBD_POOL/$NAME" >/dev/null 2>&1; then
  rbdc create --size "$SIZE" "$RBD_POOL/$NAME" || fail "rbd create $RBD_POOL/$NAME --size $SIZE failed"
  say "created image $RBD_POOL/$NAME ($SIZE)"
fi

# rbd-fuse: one FUSE mount per image (-r), the image appears as $FUSE_DIR/$NAME.
mkdir -p "$FUSE_DIR"
if ! mountpoint -q "$FUSE_DIR"; then
  rbd-fuse -c "$CEPH_CONF" -p "$RBD_POOL" -r "$NAME" "$FUSE_DIR" >>"$CEPH_DIR/log/rbd-fuse.out" 2>&1 ||
    fail "rbd-fuse failed for $RBD_POOL/$NAME; see $CEPH_DIR/log/rbd-fuse.out"
fi
for _ in $(seq 1 50); do [ -e "$FUSE_DIR/$NAME" ] && break; sleep 0.1; done
[ -e "$FUSE_DIR/$NAME" ] || fail "rbd-fuse did not expose $FUSE_DIR/$NAME"

# Record before each step that creates something, so rbd-umount.sh can undo a half-made mount.
printf 'image=%s\nmountpoint=%s\nfuse=%s\nloop=\n' "$NAME" "$MP" "$FUSE_DIR" >"$REC"
LOOP="$(losetup --find --show "$FUSE_DIR/$NAME")" || fail "losetup over $FUSE_DIR/$NAME failed"
printf 'image=%s\nmountpoint=%s\nfuse=%s\nloop=%s\n' "$NAME" "$MP" "$FUSE_DIR" "$LOOP" >"$REC"

if ! blkid -p "$LOOP" >/dev/null 2>&1; then
  say "no filesystem on rbd/$NAME yet: mkfs.ext4"
  mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 -L "$NAME" "$LOOP" >/dev/null ||
    fail "mkfs.ext4 on $LOOP failed"
fi
mount -t ext4 -o noatime "$LOOP" "$MP" || fail "mount $LOOP $MP failed"
say "rbd/$NAME mounted at $MP (via $LOOP over $FUSE_DIR/$NAME)"
echo "$MP"
