#!/bin/bash
# Builds a static riscv64 busybox from Debian bookworm's busybox source package and writes
# guest/busybox/busybox.gz.  Needs root (apt), gcc-riscv64-linux-gnu, libc6-dev-riscv64-cross, dpkg-dev.
# Usage: guest/busybox/build.sh [BUILD_DIR]   (default /tmp/rvisor-build/busybox)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="${1:-/tmp/rvisor-build/busybox}"
CROSS=riscv64-linux-gnu-

# 1. deb-src entry for bookworm main (same URIs as the binary entry).
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  cat > /etc/apt/sources.list.d/debian-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq

# 2. Source (with Debian's patches applied by dpkg-source).
mkdir -p "$BUILD"
cd "$BUILD"
rm -rf busybox-*/ busybox_*
apt-get source busybox
SRCDIR="$(find . -maxdepth 1 -type d -name 'busybox-1.*' | head -1)"
cd "$SRCDIR"
DEBVER="$(dpkg-parsechangelog -SVersion)"
# No build timestamp in the binary (as debian/rules does): the banner says the Debian version.
export KCONFIG_NOTIMESTAMP=1

# 3. Configure: defconfig + static.
make -s defconfig >/dev/null
set_cfg() { # set_cfg NAME y|n|"value"
  local name="$1" val="$2"
  sed -i -e "/^CONFIG_${name}=/d" -e "/^# CONFIG_${name} is not set/d" .config
  if [ "$val" = n ]; then echo "# CONFIG_${name} is not set" >> .config; else echo "CONFIG_${name}=${val}" >> .config; fi
}
set_cfg STATIC y
set_cfg PIE n
set_cfg CROSS_COMPILER_PREFIX "\"${CROSS}\""
# Everything else from defconfig is kept: with glibc's static libs and the 6.1 uapi headers of
# bookworm's cross toolchain every defconfig applet builds and links statically (tc included).
set +o pipefail
yes '' | make -s oldconfig >/dev/null
set -o pipefail

# 4. Build.
make -j"${JOBS:-2}" CROSS_COMPILE="$CROSS" BB_EXTRA_VERSION="Debian $DEBVER" busybox

# 5. Install into the repo (gzip -n: no name/timestamp, so the .gz is reproducible from the binary).
gzip -9 -n -c busybox > "$HERE/busybox.gz"
echo "busybox: $(stat -c %s busybox) bytes, sha256 $(sha256sum busybox | cut -d' ' -f1)"
echo "busybox.gz: $(stat -c %s "$HERE/busybox.gz") bytes, sha256 $(sha256sum "$HERE/busybox.gz" | cut -d' ' -f1)"
