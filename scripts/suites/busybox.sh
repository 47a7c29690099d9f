#!/bin/bash
# Runs busybox's own testsuite (testsuite/runtest and *.tests from Debian bookworm's busybox
# source package, the source the bundled guest/busybox/busybox.gz was built from) against the
# bundled riscv64 busybox under qemu-riscv64-static and under rvisor in the same run, and records
# the per-test PASS/FAIL/SKIPPED/UNTESTED of both in test/suites/busybox.json (then rewrites
# docs/suites.md).
#
#   scripts/suites/busybox.sh [--limit S] [--rvisor-limit S] [APPLET...]
#
# Needs root for apt (a deb-src stanza is added when there is none, as guest/busybox/build.sh
# does), dpkg-dev and gcc (kconfig's `make defconfig`, and testing.sh compiles an echo that
# understands -ne when /bin/sh's does not). The source tree is fetched once into
# $SUITES_BUILD/busybox (default /tmp/rvisor-suites/busybox); the rest is scripts/suites/busybox.mjs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="${SUITES_BUILD:-/tmp/rvisor-suites}/busybox"
mkdir -p "$BUILD"
SRCDIR="$(find "$BUILD" -maxdepth 1 -type d -name 'busybox-1.*' | head -1)"
if [ -z "$SRCDIR" ] || [ ! -f "$SRCDIR/.config" ]; then
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    cat > /etc/apt/sources.list.d/debian-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq
  fi
  (cd "$BUILD" && rm -rf busybox-*/ busybox_* && apt-get source -qq busybox >/dev/null)
  SRCDIR="$(find "$BUILD" -maxdepth 1 -type d -name 'busybox-1.*' | head -1)"
  # The configuration guest/busybox/build.sh builds with: defconfig + CONFIG_STATIC=y, no PIE
  # (runtest and the tests read $bindir/.config to skip what is not built).
  (cd "$SRCDIR" && KCONFIG_NOTIMESTAMP=1 make -s defconfig >/dev/null &&
    sed -i -e 's/^# CONFIG_STATIC is not set$/CONFIG_STATIC=y/' -e 's/^CONFIG_PIE=y$/# CONFIG_PIE is not set/' .config)
fi
exec node "$HERE/busybox.mjs" --src "$SRCDIR" "$@"
