#!/bin/bash
# Builds the rvisor guest test disk: an 8 MiB ext4 image (whole disk, no partition table) made by
# Debian's mkfs.ext4 -d from a directory holding hello.txt ("hello from the disk").
# Reproducible: fixed UUID, hash seed, label, creation/mount times (E2FSPROGS_FAKE_TIME) and file
# mtimes/ctimes, so two runs give the same bytes.
#
# Usage: guest/linux/build-disk.sh [OUT_DIR]        (default /tmp/rvisor-build/linux-out)
# Writes OUT_DIR/disk.ext4, OUT_DIR/disk.ext4.gz, OUT_DIR/disk-versions.txt.  Needs: e2fsprogs.
set -euo pipefail
OUT="${1:-/tmp/rvisor-build/linux-out}"
SIZE_MIB="${SIZE_MIB:-8}"
UUID=4a7e2f1c-5b0d-4c3e-9a61-72766973f0a1      # ...72766973 = "rvis"
EPOCH=1700000000                                # 2023-11-14T22:13:20Z
command -v mkfs.ext4 >/dev/null || { echo "build-disk: ERROR: mkfs.ext4 missing: apt-get install e2fsprogs" >&2; exit 1; }
mkdir -p "$OUT"
SRC="$(mktemp -d)"
trap 'rm -rf "$SRC"' EXIT
printf 'hello from the disk\n' > "$SRC/hello.txt"
chmod 0755 "$SRC"; chmod 0644 "$SRC/hello.txt"
touch -d "@$EPOCH" "$SRC/hello.txt" "$SRC"

rm -f "$OUT/disk.ext4"
truncate -s "${SIZE_MIB}M" "$OUT/disk.ext4"
# -E root_owner: root dir owned by 0:0; -U/-E hash_seed: fixed ids; -m 0: no reserved blocks;
# E2FSPROGS_FAKE_TIME: superblock/inode times (mke2fs honours it in e2fsprogs 1.47.0).
E2FSPROGS_FAKE_TIME="$EPOCH" mkfs.ext4 -q -F -L rvisor -U "$UUID" -m 0 \
  -E "hash_seed=$UUID,root_owner=0:0" -d "$SRC" "$OUT/disk.ext4"
# mkfs -d copies each file's host ctime, which touch cannot set: fix it up with debugfs.
E2FSPROGS_FAKE_TIME="$EPOCH" debugfs -w -R "set_inode_field /hello.txt ctime @$EPOCH" "$OUT/disk.ext4" 2>/dev/null
E2FSPROGS_FAKE_TIME="$EPOCH" e2fsck -f -n "$OUT/disk.ext4" > /dev/null 2>&1 \
  || { echo "build-disk: ERROR: e2fsck found problems" >&2; exit 1; }
[ "$(debugfs -R 'cat /hello.txt' "$OUT/disk.ext4" 2>/dev/null)" = "hello from the disk" ] \
  || { echo "build-disk: ERROR: hello.txt not in the image" >&2; exit 1; }
gzip -9 -n -c "$OUT/disk.ext4" > "$OUT/disk.ext4.gz"
{
  echo "e2fsprogs $(dpkg-query -W -f='${Version}' e2fsprogs)"
  echo "features $(dumpe2fs -h "$OUT/disk.ext4" 2>/dev/null | sed -n 's/^Filesystem features: *//p')"
  echo "block-size $(dumpe2fs -h "$OUT/disk.ext4" 2>/dev/null | sed -n 's/^Block size: *//p')"
  echo "summary UUID $UUID, label rvisor, ${SIZE_MIB} MiB, all times $EPOCH ($(date -u -d "@$EPOCH" +%FT%TZ))"
} > "$OUT/disk-versions.txt"
cat "$OUT/disk-versions.txt"
echo "build-disk: $OUT/disk.ext4.gz $(stat -c %s "$OUT/disk.ext4.gz") bytes sha256 $(sha256sum "$OUT/disk.ext4.gz" | cut -d' ' -f1)"
