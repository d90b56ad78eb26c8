#!/bin/sh
# Installs Debian's rclone when it is missing (the e2e test of `wolk s3`, test/e2e/s3.test.ts, drives
# it as a real S3 client). Needs root and a package mirror; apt-get waits for the dpkg lock (another
# test or engineer may be installing at the same time) instead of failing on it.
# Exit 0 and prints the rclone version when rclone is usable; non-zero with the reason otherwise.
set -eu
if command -v rclone >/dev/null 2>&1; then
  rclone version | head -n 1
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "rclone is missing and this is not root, so apt-get cannot install it (apt-get install rclone)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update >/dev/null
apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends rclone >/dev/null
rclone version | head -n 1
