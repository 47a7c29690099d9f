#!/usr/bin/env bash
# Records the golden output of the cases QEMU cannot judge by building them for the host and
# running them on the host's own Linux kernel:
#   newcalls.c  openat2, RWF_* flags (QEMU 7.2 lacks them)  -> test/golden/native/newcalls.txt
#   pifutex.c   robust PI mutexes (QEMU 7.2 has no set_robust_list) -> test/golden/native/pifutex.txt
#   guest/ctests/native.sh            check the goldens against this host
#   guest/ctests/native.sh --update   rewrite them
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
status=0
record() { # record NAME ARGS... (the program runs in a scratch dir; "$SCRATCH" in ARGS is its path)
  local name=$1; shift
  local gold="$ROOT/test/golden/native/$name.txt"
  cc -O2 -Wall -pthread -DNATIVE_MAIN -o "$TMP/$name" "$HERE/$name.c"
  local scratch="$TMP/scratch-$name"
  mkdir "$scratch"
  local args=()
  for a in "$@"; do args+=("${a//\$SCRATCH/$scratch}"); done
  (cd "$scratch" && timeout 120 "$TMP/$name" "${args[@]}") > "$TMP/$name.out"
  { echo "# host: $(uname -sr) $(uname -m); file system of the scratch dir: $(stat -f -c %T "$scratch")"; cat "$TMP/$name.out"; } > "$TMP/$name.gold"
  if [ "${UPDATE:-0}" = 1 ]; then mkdir -p "$(dirname "$gold")"; cp "$TMP/$name.gold" "$gold"; echo "native.sh: updated $gold"; return; fi
  if diff <(tail -n +2 "$gold") "$TMP/$name.out"; then echo "native.sh: $gold matches this host"; else status=1; fi
}
[ "${1:-}" = "--update" ] && UPDATE=1
record newcalls '$SCRATCH'
record pifutex robust
exit $status
