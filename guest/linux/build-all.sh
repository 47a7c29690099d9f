#!/bin/bash
# Rebuilds the bundled Linux guest from Debian bookworm's packages and refreshes images/:
#   images/Image.gz            Linux 6.1 arch/riscv/boot/Image (guest/linux/build-kernel.sh), gzip -9n
#   images/initramfs.cpio.gz   busybox initramfs (guest/linux/build-initramfs.sh)
#   images/disk.ext4.gz        8 MiB ext4 test disk (guest/linux/build-disk.sh), gzip -9n
#   images/MANIFEST.md         versions, sizes, sha256 of each file compressed and uncompressed
# then boots the new images under QEMU (guest/linux/qemu-test.sh).  All outputs are reproducible:
# a rebuild with the same package versions gives the same bytes.
#
# Usage: guest/linux/build-all.sh [--no-install] [--no-test] [--reference]
#   --no-install  do not apt-get install the build dependencies
#   --no-test     do not boot the new images under QEMU
#   --reference   also refresh guest/linux/qemu-boot.log and guest/linux/qemu-virt.dts
#   env OUT=/tmp/rvisor-build/linux-out (build products), JOBS=2
# Takes about 10 minutes on 2 cores (the kernel is most of it).  Needs root for apt-get.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
IMAGES="$ROOT/images"
OUT="${OUT:-/tmp/rvisor-build/linux-out}"
INSTALL=1 TEST=1 REFERENCE=0
for a in "$@"; do
  case "$a" in
    --no-install) INSTALL=0 ;;
    --no-test) TEST=0 ;;
    --reference) REFERENCE=1 ;;
    *) echo "usage: $0 [--no-install] [--no-test] [--reference]" >&2; exit 2 ;;
  esac
done

PKGS=(linux-source-6.1 gcc-riscv64-linux-gnu libc6-dev-riscv64-cross binutils-riscv64-linux-gnu
      gcc make bc flex bison libssl-dev libelf-dev cpio xz-utils dpkg-dev file e2fsprogs
      device-tree-compiler opensbi qemu-system-misc expect)
if [ "$INSTALL" = 1 ]; then
  missing=()
  for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "build-all: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
  fi
fi

rm -rf "$OUT"; mkdir -p "$OUT"
"$HERE/build-kernel.sh" "$OUT"
"$HERE/build-initramfs.sh" "$OUT"
"$HERE/build-disk.sh" "$OUT"

mkdir -p "$IMAGES"
gzip -9 -n -c "$OUT/Image" > "$IMAGES/Image.gz"
cp "$OUT/initramfs.cpio.gz" "$IMAGES/initramfs.cpio.gz"
cp "$OUT/disk.ext4.gz" "$IMAGES/disk.ext4.gz"

# --- images/MANIFEST.md ---------------------------------------------------------------------
ver() { dpkg-query -W -f='${Version}' "$1"; }
kv() { sed -n "s/^$1 //p" "$OUT/$2"; }
row() { # row GZ RAW: | file | bytes | sha256 |, compressed then uncompressed
  echo "| \`images/$1\` | $(stat -c %s "$IMAGES/$1") | \`$(sha256sum "$IMAGES/$1" | cut -d' ' -f1)\` |"
  echo "| ↳ \`$2\` (gunzipped) | $(stat -c %s "$OUT/$2") | \`$(sha256sum "$OUT/$2" | cut -d' ' -f1)\` |"
}
{
  cat <<EOF
# Bundled guest images

Built from Debian bookworm packages only, by \`guest/linux/build-all.sh\` (this file is generated
by it: do not edit). Every file is gzip (\`gzip -9 -n\`: no name, no timestamp), so the VMM reads
it with \`node:zlib\`. The build is reproducible: the same package versions give the same bytes.

## Rebuild

    sudo guest/linux/build-all.sh            # ~10 min on 2 cores; installs the build deps with apt-get
    guest/linux/qemu-test.sh                 # boot the committed images under Debian's QEMU (also run by build-all)

The three steps on their own (products in /tmp/rvisor-build/linux-out):

    guest/linux/build-kernel.sh              # -> Image, config, System.map
    guest/linux/build-initramfs.sh           # -> initramfs.cpio.gz, busybox
    guest/linux/build-disk.sh                # -> disk.ext4, disk.ext4.gz

## Files

| file | bytes | sha256 |
|---|---:|---|
$(row Image.gz Image)
$(row initramfs.cpio.gz initramfs.cpio)
$(row disk.ext4.gz disk.ext4)

\`opensbi-fw_jump.bin.gz\` (Debian's OpenSBI for \`rvisor run --bios\`) is described in \`OPENSBI.md\`.

## Image.gz — Linux kernel

- Source: Debian package \`linux-source-6.1\` $(ver linux-source-6.1) (\`/usr/src/linux-source-6.1.tar.xz\`), kernel release $(kv kernelrelease kernel-versions.txt)
- Config: \`make ARCH=riscv tinyconfig\` + \`guest/linux/rvisor.config\` (merge_config.sh, olddefconfig), checked option by option; target \`Image\` (uncompressed, loaded at RAM base + 2 MiB)
- Compiler: \`gcc-riscv64-linux-gnu\` $(ver gcc-riscv64-linux-gnu) — $(kv gcc kernel-versions.txt); \`binutils-riscv64-linux-gnu\` $(ver binutils-riscv64-linux-gnu)
- Banner: \`$(kv linux_banner kernel-versions.txt)\`
- KBUILD_BUILD_TIMESTAMP = date of the package's Debian changelog entry; user/host \`rvisor\`

## initramfs.cpio.gz — busybox userland

- busybox: Debian source package \`busybox\` $(kv "busybox (source)" initramfs-versions.txt) (\`apt-get source busybox\`), defconfig + \`CONFIG_STATIC=y\`, no PIE; banner \`$(kv busybox-banner initramfs-versions.txt)\`
- libc: \`libc6-dev-riscv64-cross\` $(ver libc6-dev-riscv64-cross) (glibc, static); compiler as above
- Contents: \`/bin/busybox\` + $(kv applets initramfs-versions.txt) applet symlinks, \`/init\` (guest/linux/rootfs/init), \`/etc/{inittab,profile,passwd,group,hostname}\`, \`/dev/console\` (c 5,1), \`/dev/null\`, mount points \`/proc /sys /dev /tmp /mnt /root /run /var\`
- Packed by the kernel's \`usr/gen_init_cpio\` (from linux-source-6.1), all entries 0:0, mtime $(kv mtime initramfs-versions.txt); \`gzip\` $(ver gzip)
- /init mounts proc, sysfs, devtmpfs, tmpfs on /tmp and /dev/vda (ext4) on /mnt when present, prints the kernel version, then the readiness line \`rvisor guest ready\`, then execs busybox init: a login shell on the console (prompt \`~ # \`), \`poweroff\`/\`reboot\` with or without \`-f\`

## disk.ext4.gz — test disk

- \`mkfs.ext4 -d\` from \`e2fsprogs\` $(ver e2fsprogs): $(kv summary disk-versions.txt); whole-disk ext4 (no partition table), block size $(kv block-size disk-versions.txt)
- Features: $(kv features disk-versions.txt)
- Contents: \`/hello.txt\` = "hello from the disk", \`/lost+found\`

## Reference machine

Proven with Debian's \`qemu-system-misc\` $(ver qemu-system-misc) and \`opensbi\` $(ver opensbi) by \`guest/linux/qemu-test.sh\`
(\`-bios default\` with 1 and 2 harts, and \`-bios .../opensbi/generic/fw_jump.bin\`). The disk is
on virtio-mmio (\`-device virtio-blk-device\`): the kernel has no PCI, so \`-drive if=virtio\`
(virtio-blk-pci on QEMU's virt) would not be seen. QEMU's console log and device tree:
\`guest/linux/qemu-boot.log\`, \`guest/linux/qemu-virt.dts\`.
EOF
} > "$IMAGES/MANIFEST.md"
echo "build-all: images/ refreshed:"
sed -n '/^| `images/,/^$/p' "$IMAGES/MANIFEST.md"

if [ "$TEST" = 1 ]; then
  if [ "$REFERENCE" = 1 ]; then "$HERE/qemu-test.sh" --save-reference "$IMAGES"; else "$HERE/qemu-test.sh" "$IMAGES"; fi
fi
