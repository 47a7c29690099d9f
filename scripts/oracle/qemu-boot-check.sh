#!/usr/bin/env bash
# Re-checks the reference files recorded from the Linux guest under QEMU (guest/linux/qemu-*.log,
# guest/linux/qemu-virt.dts): runs guest/linux/qemu-test.sh --save-reference from a copy in a
# temporary directory (so the committed files stay as they are), on the images of images/, and
# compares every reference file it writes with the committed one of the same name
# (scripts/oracle/boot-log.mjs says how). A committed reference file that the run no longer writes
# fails too. Needs what qemu-test.sh needs (scripts/oracle/install-tools.sh installs it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/guest/linux"
cp "$ROOT/guest/linux/qemu-test.sh" "$TMP/guest/linux/"
"$TMP/guest/linux/qemu-test.sh" --save-reference "$ROOT/images" > "$TMP/qemu-test.out" 2>&1 \
  || { cat "$TMP/qemu-test.out"; echo "qemu-boot-check: qemu-test.sh failed" >&2; exit 1; }
grep -E '^qemu-test: (QEMU|all cases)' "$TMP/qemu-test.out" || true
bad=0
for live in "$TMP"/guest/linux/qemu-*.log "$TMP"/guest/linux/qemu-virt.dts; do
  [ -e "$live" ] || continue
  name=$(basename "$live")
  if [ ! -f "$ROOT/guest/linux/$name" ]; then
    echo "MISSING: guest/linux/$name (qemu-test.sh --save-reference writes it; it is not committed)"; bad=1; continue
  fi
  node "$ROOT/scripts/oracle/boot-log.mjs" "$ROOT/guest/linux/$name" "$live" || bad=1
done
for committed in "$ROOT"/guest/linux/qemu-*.log "$ROOT"/guest/linux/qemu-virt.dts; do
  [ -e "$committed" ] || continue
  [ -e "$TMP/guest/linux/$(basename "$committed")" ] || { echo "STALE: guest/linux/$(basename "$committed") (qemu-test.sh no longer writes it)"; bad=1; }
done
exit "$bad"
