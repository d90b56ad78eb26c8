#!/bin/sh
# Installs Debian's chromium when it is missing (the web console's e2e test, test/e2e/console.test.ts,
# drives it headless through playwright-core; npm's own browser downloads cannot reach the internet
# here). Needs root and a package mirror; apt-get waits for the dpkg lock (another test or engineer may
# be installing at the same time) instead of failing on it.
# Exit 0 and prints the chromium version when /usr/bin/chromium is usable; non-zero with the reason otherwise.
set -eu
if [ -x /usr/bin/chromium ]; then
  /usr/bin/chromium --version 2>/dev/null | head -n 1
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing and this is not root, so apt-get cannot install it (apt-get install chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update >/dev/null
apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version 2>/dev/null | head -n 1
