# Shared by the scripts in scripts/ceph/ (sourced, not run). All state of the dev cluster lives in one
# folder: $WOLK_CEPH_DIR, default <repo>/.wolk/ceph.
#   ceph.conf            the private config (auth none, one mon/mgr/OSD on 127.0.0.1)
#   mon/ mgr/ osd/       daemon data; osd/ceph-0/block is the BlueStore device, a sparse file
#   run/                 pid files and admin sockets       log/  daemon logs
#   mounts/              one record per RBD mount made by rbd-mount.sh
#   initialized          written once the cluster and its pools exist

CEPH_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CEPH_SCRIPTS/../.." && pwd)"
CEPH_DIR="${WOLK_CEPH_DIR:-$REPO_ROOT/.wolk/ceph}"
mkdir -p "$CEPH_DIR" 2>/dev/null || { echo "ceph: cannot create state folder $CEPH_DIR" >&2; exit 1; }
CEPH_DIR="$(cd "$CEPH_DIR" && pwd)"
CEPH_CONF="$CEPH_DIR/ceph.conf"
# Pools Wolk uses: RADOS objects (the native BlobStore) and RBD images (storer volumes).
WOLK_POOL="${WOLK_CEPH_POOL:-wolk}"
RBD_POOL="${WOLK_CEPH_RBD_POOL:-rbd}"

SCRIPT_NAME="${SCRIPT_NAME:-ceph}"
fail() { echo "$SCRIPT_NAME: $*" >&2; exit 1; }
say() { echo "$SCRIPT_NAME: $*" >&2; }

# Ceph CLI against our cluster only; never waits long for a dead mon.
cephc() { timeout 30 ceph -c "$CEPH_CONF" --connect-timeout 10 "$@"; }
rbdc() { timeout 120 rbd -c "$CEPH_CONF" "$@"; }

# pid of a daemon we started, if it is still that daemon (guards against a recycled pid).
daemon_pid() {
  local f="$CEPH_DIR/run/$1.spid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$CEPH_CONF" || return 1
  echo "$pid"
}

require_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || fail "'$t' not found: run scripts/ceph/install.sh first"
  done
}

# True when the mon answers (the cluster is up enough for CLI calls).
cluster_answers() { [ -f "$CEPH_CONF" ] && cephc health >/dev/null 2>&1; }
