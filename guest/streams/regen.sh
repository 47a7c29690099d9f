#!/usr/bin/env bash
# Rebuilds every stream program from the seeds, re-runs each under QEMU user mode (the reference)
# and checks that the committed programs (guest/streams/bin/NAME.gz), goldens
# (test/golden/streams/NAME.out.gz) and manifest.json are exactly what they produce.
#   guest/streams/regen.sh            check: exit 1 if anything differs
#   guest/streams/regen.sh --update   rewrite the committed files (and README's generated part)
# Needs: node, binutils-riscv64-linux-gnu, qemu-user-static (qemu-riscv64-static).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GOLD="$ROOT/test/golden/streams"
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1
for t in node gzip cmp qemu-riscv64-static riscv64-linux-gnu-as riscv64-linux-gnu-ld riscv64-linux-gnu-objdump; do
  command -v "$t" >/dev/null || {
    echo "regen.sh: $t not found; install: apt-get install -y qemu-user-static binutils-riscv64-linux-gnu" >&2; exit 2; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$HERE/build.sh" "$TMP"
names=$(cd "$TMP" && ls | grep -E '^s[0-9]{2}$')
for n in $names; do
  rc=0; qemu-riscv64-static "$TMP/$n" > "$TMP/$n.out" || rc=$?
  [ "$rc" = 0 ] || { echo "regen.sh: $n exited with status $rc under QEMU" >&2; exit 1; }
  qemu-riscv64-static "$TMP/$n" | cmp -s - "$TMP/$n.out" || { echo "regen.sh: $n is not deterministic under QEMU" >&2; exit 1; }
done
node "$HERE/manifest.mjs" "$TMP" > "$TMP/manifest.json"

if [ "$UPDATE" = 1 ]; then
  rm -rf "$HERE/bin" "$GOLD"; mkdir -p "$HERE/bin" "$GOLD"
  for n in $names; do
    gzip -9n -c "$TMP/$n" > "$HERE/bin/$n.gz"
    gzip -9n -c "$TMP/$n.out" > "$GOLD/$n.out.gz"
  done
  cp "$TMP/manifest.json" "$HERE/manifest.json"
  {
    riscv64-linux-gnu-as --version | head -1
    riscv64-linux-gnu-ld --version | head -1
    qemu-riscv64-static --version | head -1
    echo "node $(node --version)"
  } > "$TMP/tools.txt"
  node "$HERE/manifest.mjs" "$TMP" --readme "$HERE/README.md" "$TMP/tools.txt"
  echo "regen.sh: updated $(echo $names | wc -w) programs, goldens and manifest"
  exit 0
fi

bad=0
for n in $names; do
  [ -f "$HERE/bin/$n.gz" ] && gzip -dc "$HERE/bin/$n.gz" | cmp -s - "$TMP/$n" || { echo "DIFFERS: guest/streams/bin/$n.gz"; bad=1; }
  [ -f "$GOLD/$n.out.gz" ] && gzip -dc "$GOLD/$n.out.gz" | cmp -s - "$TMP/$n.out" || { echo "DIFFERS: test/golden/streams/$n.out.gz"; bad=1; }
done
for f in "$HERE"/bin/*.gz; do
  [ -e "$f" ] || continue
  b=$(basename "$f" .gz); [ -f "$TMP/$b" ] || { echo "STALE: guest/streams/bin/$b.gz"; bad=1; }
done
cmp -s "$TMP/manifest.json" "$HERE/manifest.json" || { echo "DIFFERS: guest/streams/manifest.json"; bad=1; }
if [ "$bad" = 1 ]; then
  echo "regen.sh: committed stream programs/goldens differ from a fresh build + QEMU run (guest/streams/regen.sh --update to rewrite)" >&2
  exit 1
fi
echo "regen.sh: $(echo $names | wc -w) stream programs and goldens match a fresh build and QEMU run"
