#!/usr/bin/env bash
# Re-checks guest/sigmask against its reference, Linux itself: builds sigmask.c for this host and
# runs it natively (the host's kernel), then checks that
#   test/golden/sigmask/linux.out  is what Linux prints (test/sigmask.test.ts holds rvisor to it),
#   guest/sigmask/bin/sigmask.gz   is what sigmask.c builds to for riscv64,
#   qemu-riscv64-static            still deviates from Linux as README.md documents (sa_mask not
#                                  applied while a handler runs): if QEMU now agrees, the note and
#                                  this directory's reason to exist are stale, and the check fails.
#   guest/sigmask/regen.sh            check: exit 1 if anything differs
#   guest/sigmask/regen.sh --update   rewrite the binary and the golden file (then review the diff)
# Needs: gcc, gcc-riscv64-linux-gnu, libc6-dev-riscv64-cross, qemu-user-static; a Linux host.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GOLD="$ROOT/test/golden/sigmask/linux.out"
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1
[ "$(uname -s)" = Linux ] || { echo "regen.sh: the reference is the host's Linux kernel; this host runs $(uname -s)" >&2; exit 2; }
command -v qemu-riscv64-static >/dev/null || { echo "regen.sh: qemu-riscv64-static not found (apt-get install qemu-user-static)" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$HERE/build.sh" "$TMP"
"$TMP/sigmask-native" > "$TMP/linux.out"
"$TMP/sigmask-native" | cmp -s - "$TMP/linux.out" || { echo "regen.sh: sigmask is not deterministic natively" >&2; exit 1; }
rc=0; qemu-riscv64-static "$TMP/sigmask" > "$TMP/qemu.out" || rc=$?
[ "$rc" = 0 ] || { echo "regen.sh: sigmask exited with status $rc under QEMU" >&2; exit 1; }

if [ "$UPDATE" = 1 ]; then
  mkdir -p "$HERE/bin" "$(dirname "$GOLD")"
  gzip -9n -c "$TMP/sigmask" > "$HERE/bin/sigmask.gz"
  cp "$TMP/linux.out" "$GOLD"
  echo "regen.sh: wrote guest/sigmask/bin/sigmask.gz and test/golden/sigmask/linux.out (Linux $(uname -r), $(uname -m))"
  exit 0
fi

bad=0
gzip -dc "$HERE/bin/sigmask.gz" | cmp -s - "$TMP/sigmask" || { echo "DIFFERS: guest/sigmask/bin/sigmask.gz (rebuilt from sigmask.c)"; bad=1; }
diff "$GOLD" "$TMP/linux.out" || { echo "DIFFERS: test/golden/sigmask/linux.out (native Linux $(uname -r), $(uname -m))"; bad=1; }
if cmp -s "$TMP/qemu.out" "$TMP/linux.out"; then
  echo "STALE: qemu-riscv64-static ($(qemu-riscv64-static --version | head -1)) now agrees with Linux: update guest/sigmask/README.md (and consider moving the check into guest/ctests)"
  bad=1
elif ! grep -q 'USR2 (sa_mask) blocked 0' "$TMP/qemu.out"; then
  echo "DIFFERS: QEMU deviates from Linux in a way guest/sigmask/README.md does not describe:"; diff "$TMP/linux.out" "$TMP/qemu.out" | head; bad=1
else
  echo "regen.sh: QEMU still leaves sa_mask unapplied in handlers, as README.md documents"
fi
[ "$bad" = 0 ] && echo "regen.sh: sigmask binary and golden match a fresh build and native Linux $(uname -r) ($(uname -m))"
exit "$bad"
