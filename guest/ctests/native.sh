#!/usr/bin/env bash
# Records the golden output of the cases QEMU cannot judge (newcalls.c: openat2, RWF_* flags) by
# building them for the host and running them on the host's own Linux kernel.
#   guest/ctests/native.sh            check test/golden/native/newcalls.txt
#   guest/ctests/native.sh --update   rewrite it
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GOLD="$ROOT/test/golden/native/newcalls.txt"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cc -O2 -Wall -DNATIVE_MAIN -o "$TMP/newcalls" "$HERE/newcalls.c"
mkdir "$TMP/scratch"
(cd "$TMP/scratch" && "$TMP/newcalls" "$TMP/scratch") > "$TMP/out.txt"
{ echo "# host: $(uname -sr) $(uname -m); file system of the scratch dir: $(stat -f -c %T "$TMP/scratch")"; cat "$TMP/out.txt"; } > "$TMP/gold.txt"
if [ "${1:-}" = "--update" ]; then mkdir -p "$(dirname "$GOLD")"; cp "$TMP/gold.txt" "$GOLD"; echo "native.sh: updated $GOLD"; exit 0; fi
diff <(tail -n +2 "$GOLD") "$TMP/out.txt" && echo "native.sh: $GOLD matches this host"
