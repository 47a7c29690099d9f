#!/bin/bash
# Builds an rvisor guest kernel (arch/riscv/boot/Image) from Debian's linux-source-<version>:
# tinyconfig + guest/linux/rvisor.config + guest/linux/rvisor-<version>.config, cross-built with
# Debian's gcc-riscv64-linux-gnu.  Versions: 6.12 (bookworm-backports' linux-source-6.12, the
# bundled default images/Image.gz) and 6.1 (bookworm's linux-source-6.1, images/Image-6.1.gz).
#
# Usage: guest/linux/build-kernel.sh [--version 6.12|6.1] [OUT_DIR]   (default 6.12, /tmp/rvisor-build/linux-out)
#   env BUILD=/tmp/rvisor-build/linux-<version> (kernel tree, outside the repo), JOBS=2
# Writes OUT_DIR/Image-<version>, OUT_DIR/config-<version> (the merged .config),
# OUT_DIR/System.map-<version>, OUT_DIR/kernel-<version>-versions.txt (package and tool versions,
# for images/MANIFEST.md).
# Needs: linux-source-<version> gcc-riscv64-linux-gnu bc flex bison libssl-dev libelf-dev xz-utils
#        make gcc dpkg-dev (guest/linux/build-all.sh installs them, and adds bookworm-backports to
#        the apt sources for linux-source-6.12).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KVER=6.12
if [ "${1:-}" = --version ]; then KVER="$2"; shift 2; fi
case "$KVER" in 6.12|6.1) ;; *) echo "build-kernel: unknown version $KVER (6.12 or 6.1)" >&2; exit 2 ;; esac
OUT="${1:-/tmp/rvisor-build/linux-out}"
BUILD="${BUILD:-/tmp/rvisor-build/linux-$KVER}"
JOBS="${JOBS:-2}"
PKG="linux-source-$KVER"
TARBALL="/usr/src/$PKG.tar.xz"
CROSS=riscv64-linux-gnu-
KMAKE=(make ARCH=riscv CROSS_COMPILE="$CROSS")
FRAGMENTS=("$HERE/rvisor.config" "$HERE/rvisor-$KVER.config")

die() { echo "build-kernel: ERROR: $*" >&2; exit 1; }
[ -f "$TARBALL" ] || die "$TARBALL missing: apt-get install $PKG (6.12: from bookworm-backports, see build-all.sh)"
command -v "${CROSS}gcc" >/dev/null || die "${CROSS}gcc missing: apt-get install gcc-riscv64-linux-gnu"

# Reproducible build metadata: the timestamp is the date of the Debian changelog entry.
CHANGELOG="$(mktemp)"
trap 'rm -f "$CHANGELOG"' EXIT
zcat "/usr/share/doc/$PKG/changelog.Debian.gz" > "$CHANGELOG"
SRC_DEBVER="$(dpkg-query -W -f='${Version}' "$PKG")"
SOURCE_DATE_EPOCH="$(dpkg-parsechangelog -l "$CHANGELOG" -STimestamp)"
export SOURCE_DATE_EPOCH
export KBUILD_BUILD_TIMESTAMP="$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH")"
export KBUILD_BUILD_USER=rvisor KBUILD_BUILD_HOST=rvisor KBUILD_BUILD_VERSION=1

# 1. Fresh tree (the tarball unpacks to linux-source-<version>/).
rm -rf "$BUILD"
mkdir -p "$(dirname "$BUILD")" "$OUT"
tmp="$(dirname "$BUILD")/.linux-unpack.$$"
rm -rf "$tmp"; mkdir -p "$tmp"
echo "build-kernel: unpacking $TARBALL ($SRC_DEBVER)"
tar -xf "$TARBALL" -C "$tmp"
mv "$tmp/$PKG" "$BUILD"
rmdir "$tmp"
cd "$BUILD"

# 2. tinyconfig, then merge our fragments (-m: merge only), then resolve with olddefconfig.
"${KMAKE[@]}" -s tinyconfig
KCONFIG_CONFIG=.config ARCH=riscv CROSS_COMPILE="$CROSS" \
  scripts/kconfig/merge_config.sh -m .config "${FRAGMENTS[@]}" > merge.log 2>&1 \
  || { cat merge.log; die "merge_config.sh failed"; }
"${KMAKE[@]}" -s olddefconfig
# merge_config.sh -m does not check the result: every line of the fragments must have held.
bad=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) grep -qx "$line" .config || { echo "build-kernel: fragment asks $line, .config has: $(grep -E "^(# )?${line%%=*}[= ]" .config || echo absent)" >&2; bad=1; } ;;
    "# CONFIG_"*" is not set") o="${line#\# }"; o="${o%% *}"
      ! grep -q "^${o}=" .config || { echo "build-kernel: fragment turns $o off, .config has: $(grep "^${o}=" .config)" >&2; bad=1; } ;;
  esac
done < <(cat "${FRAGMENTS[@]}")
[ "$bad" = 0 ] || die "olddefconfig did not keep the fragment (a dependency is missing)"

# 3. Check the merged .config: every option the guest needs must be =y (fail loudly if not).
REQUIRED=(
  64BIT MMU SMP RISCV_SBI RISCV_SBI_V01 HVC_RISCV_SBI
  SERIAL_8250 SERIAL_8250_CONSOLE SERIAL_OF_PLATFORM SERIAL_EARLYCON_RISCV_SBI
  PRINTK TTY BINFMT_ELF BINFMT_SCRIPT BLK_DEV_INITRD RD_GZIP
  DEVTMPFS DEVTMPFS_MOUNT PROC_FS SYSFS SHMEM TMPFS BLOCK
  VIRTIO VIRTIO_MMIO VIRTIO_BLK HW_RANDOM HW_RANDOM_VIRTIO VIRTIO_CONSOLE EXT4_FS
  SIFIVE_PLIC RISCV_TIMER RTC_CLASS RTC_HCTOSYS RTC_DRV_GOLDFISH
  POWER_RESET POWER_RESET_SYSCON POWER_RESET_SYSCON_POWEROFF
  FPU RISCV_ISA_C FUTEX MULTIUSER NO_HZ_IDLE HZ_100
  INPUT INPUT_EVDEV VIRTIO_INPUT
  VIRTIO_BALLOON MEMORY_BALLOON PAGE_REPORTING VM_EVENT_COUNTERS
)
FORBIDDEN=(EFI MODULES COMPAT CLINT_TIMER)
case "$KVER" in
  6.1) REQUIRED+=(SOC_VIRT) ;;
  6.12) REQUIRED+=(ARCH_VIRT RISCV_ISA_FALLBACK PARAVIRT PARAVIRT_TIME_ACCOUNTING RISCV_SLOW_UNALIGNED_ACCESS VIRT_DRIVERS VMGENID)
        FORBIDDEN+=(RISCV_ISA_V RISCV_PROBE_UNALIGNED_ACCESS) ;;
esac
bad=0
for o in "${REQUIRED[@]}"; do
  if ! grep -qx "CONFIG_${o}=y" .config; then
    echo "build-kernel: MISSING CONFIG_${o}=y (got: $(grep -E "^(# )?CONFIG_${o}[= ]" .config || echo 'absent'))" >&2
    bad=1
  fi
done
grep -qx 'CONFIG_NR_CPUS=8' .config || { echo "build-kernel: CONFIG_NR_CPUS is not 8" >&2; bad=1; }
for o in "${FORBIDDEN[@]}"; do
  if grep -qx "CONFIG_${o}=y" .config; then echo "build-kernel: CONFIG_${o}=y but must be off" >&2; bad=1; fi
done
[ "$bad" = 0 ] || die "merged .config lacks required options (see above)"
echo "build-kernel: .config checked: ${#REQUIRED[@]} options =y, NR_CPUS=8, off: ${FORBIDDEN[*]}"

# 4. Build the uncompressed Image (no Image.gz, no modules, no dtbs).
"${KMAKE[@]}" -j"$JOBS" Image
cp arch/riscv/boot/Image "$OUT/Image-$KVER"
cp .config "$OUT/config-$KVER"
cp System.map "$OUT/System.map-$KVER"
{
  echo "$PKG $SRC_DEBVER"
  echo "kernelrelease $("${KMAKE[@]}" -s kernelrelease)"
  echo "gcc-riscv64-linux-gnu $(dpkg-query -W -f='${Version}' gcc-riscv64-linux-gnu)"
  echo "gcc $(${CROSS}gcc --version | head -1)"
  echo "binutils-riscv64-linux-gnu $(dpkg-query -W -f='${Version}' binutils-riscv64-linux-gnu)"
  echo "KBUILD_BUILD_TIMESTAMP $KBUILD_BUILD_TIMESTAMP"
  echo "linux_banner $(strings "$OUT/Image-$KVER" | grep -m1 '^Linux version ')"
} > "$OUT/kernel-$KVER-versions.txt"
cat "$OUT/kernel-$KVER-versions.txt"
echo "build-kernel: $OUT/Image-$KVER $(stat -c %s "$OUT/Image-$KVER") bytes sha256 $(sha256sum "$OUT/Image-$KVER" | cut -d' ' -f1)"
