#!/bin/bash
# Proves the guest images under the reference machine, Debian's qemu-system-riscv64 (TCG, virt):
# boots them, waits for `rvisor guest ready`, then drives the console shell with expect:
# uname -a, /proc/cpuinfo (hart count), cat /mnt/hello.txt, a write to /mnt + sync, Ctrl-C of a
# running `sleep`, and ends with `poweroff -f` (QEMU must exit 0).  Three cases:
#   default  -bios default (QEMU's bundled OpenSBI), 1 hart; also `reboot -f` + a second boot
#            that must see the file written before the reboot
#   smp2     -bios default, -smp 2: both harts online in /proc/cpuinfo and /sys
#   fwjump   -bios Debian's opensbi fw_jump.bin, 1 hart; ends with plain `poweroff` (busybox init)
# The disk is a scratch copy: the images are not modified.
#
# Usage: guest/linux/qemu-test.sh [--save-reference] [IMAGES_DIR]
#   IMAGES_DIR holds Image(.gz) initramfs.cpio.gz disk.ext4(.gz)   (default: the repo's images/)
#   --save-reference: also write guest/linux/qemu-boot.log (the default case's console log) and
#   guest/linux/qemu-virt.dts (the device tree QEMU builds for that command line).
# Needs: qemu-system-misc, opensbi, expect, device-tree-compiler, e2fsprogs (debugfs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SAVE=0
if [ "${1:-}" = --save-reference ]; then SAVE=1; shift; fi
IMAGES="${1:-$ROOT/images}"
QEMU=qemu-system-riscv64
FW_JUMP=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin
die() { echo "qemu-test: ERROR: $*" >&2; exit 1; }
command -v "$QEMU" >/dev/null || die "$QEMU missing: apt-get install qemu-system-misc"
command -v expect >/dev/null || die "expect missing: apt-get install expect"
[ -f "$FW_JUMP" ] || die "$FW_JUMP missing: apt-get install opensbi"

WORK="$(mktemp -d /tmp/rvisor-qemu-test.XXXXXX)"
trap 'rc=$?; if [ $rc = 0 ]; then rm -rf "$WORK"; else echo "qemu-test: kept $WORK" >&2; fi' EXIT
unpack() { # unpack NAME: IMAGES/NAME or IMAGES/NAME.gz -> WORK/NAME
  if [ -f "$IMAGES/$1" ]; then cp "$IMAGES/$1" "$WORK/$1"
  elif [ -f "$IMAGES/$1.gz" ]; then gzip -dc "$IMAGES/$1.gz" > "$WORK/$1"
  else die "no $1 or $1.gz in $IMAGES"; fi
}
unpack Image; unpack disk.ext4
[ -f "$IMAGES/initramfs.cpio.gz" ] || die "no initramfs.cpio.gz in $IMAGES"
cp "$IMAGES/initramfs.cpio.gz" "$WORK/"

# The expect driver: argv = case-name log-file harts ending -- qemu command...
cat > "$WORK/drive.exp" <<'EXP'
set name [lindex $argv 0]; set log [lindex $argv 1]; set harts [lindex $argv 2]
set ending [lindex $argv 3]; set cmd [lrange $argv 5 end]
log_user 0
log_file -a -noappend $log
set timeout 180
set prompt {~ # $}
proc fail {msg} { global name; puts "qemu-test: $name: FAIL: $msg"; exit 1 }
proc ok {msg} { global name; puts "qemu-test: $name: ok: $msg" }
proc ready {what} {
  global prompt
  set t0 [clock milliseconds]
  expect {
    "rvisor guest ready" {}
    "Kernel panic" { fail "kernel panic ($what)" }
    timeout { fail "no readiness line ($what)" }
    eof { fail "QEMU exited before the readiness line ($what)" }
  }
  ok "$what: readiness line after [expr {([clock milliseconds] - $t0) / 1000.0}] s"
  expect -brace { -re $prompt {} timeout { fail "no shell prompt ($what)" } }
}
# run CMD: type it, wait for the next prompt, return what it printed (without the echo)
proc run {cmd} {
  global prompt expect_out
  send -- "$cmd\r"
  expect -brace { -re "(.*)$prompt" {} timeout { fail "no prompt after `$cmd`" } eof { fail "QEMU exited during `$cmd`" } }
  set out $expect_out(1,string)
  regsub {^[^\n]*\n} $out {} out
  return [string map {"\r" ""} $out]
}
spawn -noecho {*}$cmd
ready "boot"
set u [run "uname -a"]
if {![regexp {Linux rvisor 6\.1\.\d+ #1 SMP .* riscv64 GNU/Linux} $u]} { fail "uname -a: $u" }
ok "uname -a: [string trim $u]"
set c [run "cat /proc/cpuinfo"]
set n [regexp -all -line {^processor\s*:} $c]
if {$n != $harts} { fail "/proc/cpuinfo lists $n harts, want $harts" }
regexp -line {^isa\s*:\s*(\S+)} $c -> isa
set online [string trim [run "cat /sys/devices/system/cpu/online"]]
set want [expr {$harts == 1 ? "0" : "0-[expr {$harts - 1}]"}]
if {$online ne $want} { fail "cpu online = $online, want $want" }
ok "$n hart(s) in /proc/cpuinfo, online $online, isa $isa"
set h [run "cat /mnt/hello.txt"]
if {![string match "*hello from the disk*" $h]} { fail "cat /mnt/hello.txt: $h" }
ok "cat /mnt/hello.txt: [string trim $h]"
set w [run "echo written by qemu $name > /mnt/written.txt && sync && cat /mnt/written.txt"]
if {![string match "*written by qemu $name*" $w]} { fail "write to /mnt: $w" }
ok "wrote /mnt/written.txt, sync"
send -- "sleep 60\r"
sleep 1
set t0 [clock milliseconds]
send -- "\003"
set timeout 20
expect -brace { -re $prompt {} timeout { fail "Ctrl-C did not stop `sleep 60`" } }
set timeout 180
ok "Ctrl-C interrupted sleep after [expr {[clock milliseconds] - $t0}] ms"
if {$ending eq "reboot"} {
  send -- "reboot -f\r"
  ready "after reboot -f"
  set w [run "cat /mnt/written.txt"]
  if {![string match "*written by qemu $name*" $w]} { fail "file written before reboot is gone: $w" }
  ok "reboot -f: second boot sees /mnt/written.txt"
  set ending "poweroff -f"
}
send -- "$ending\r"
expect -brace { eof {} timeout { fail "QEMU still running after `$ending`" } }
set st [wait]
if {[lindex $st 3] != 0} { fail "QEMU exit status [lindex $st 3] after `$ending`" }
ok "`$ending`: QEMU exited with status 0"
EXP

# virtio devices on virtio-mmio (the kernel has no PCI): `-drive if=virtio` would make a
# virtio-blk-pci device that this kernel cannot see.
qemu_cmd() { # qemu_cmd BIOS SMP DISK [extra -machine opts]
  echo "$QEMU" -machine "virt$4" -nographic -bios "$1" -smp "$2" -m 256M \
    -kernel "$WORK/Image" -initrd "$WORK/initramfs.cpio.gz" -append console=ttyS0 \
    -drive "file=$3,format=raw,if=none,id=hd0" -device virtio-blk-device,drive=hd0
}
run_case() { # run_case NAME BIOS SMP ENDING
  local disk="$WORK/disk-$1.ext4"
  cp "$WORK/disk.ext4" "$disk"
  # shellcheck disable=SC2046
  expect "$WORK/drive.exp" "$1" "$WORK/$1.log" "$3" "$4" -- $(qemu_cmd "$2" "$3" "$disk" "") \
    || { echo "--- console log tail ($WORK/$1.log):"; tail -30 "$WORK/$1.log"; exit 1; }
  grep -E -i 'warn|error|fail|unable|bug:|oops' "$WORK/$1.log" | tr -d '\r' | sed "s/^/qemu-test: $1: log: /" || true
  E2FSPROGS_FAKE_TIME=0 e2fsck -f -n "$disk" > /dev/null 2>&1 || die "$1: disk not clean after poweroff (e2fsck -n)"
  echo "qemu-test: $1: disk clean (e2fsck -n), /written.txt: $(debugfs -R 'cat /written.txt' "$disk" 2>/dev/null)"
}
echo "qemu-test: $($QEMU --version | head -1); images from $IMAGES"
run_case default default 1 reboot
run_case smp2 default 2 "poweroff -f"
run_case fwjump "$FW_JUMP" 1 poweroff

if [ "$SAVE" = 1 ]; then
  tr -d '\r' < "$WORK/default.log" > "$HERE/qemu-boot.log"
  cp "$WORK/disk.ext4" "$WORK/disk-dtb.ext4"
  # shellcheck disable=SC2046
  $(qemu_cmd default 1 "$WORK/disk-dtb.ext4" ",dumpdtb=$WORK/virt.dtb") > /dev/null 2>&1 || true
  [ -s "$WORK/virt.dtb" ] || die "QEMU wrote no dtb"
  {
    echo "// Device tree that QEMU $($QEMU --version | head -1 | sed 's/.*version //') builds for:"
    echo "//   $(qemu_cmd default 1 disk.ext4 ",dumpdtb=virt.dtb" | sed "s|$WORK/||g")"
    echo "// dumped with -machine virt,dumpdtb=... and decompiled with dtc -I dtb -O dts."
    echo "// Generated by guest/linux/qemu-test.sh --save-reference: do not edit."
    dtc -q -I dtb -O dts "$WORK/virt.dtb"
  } > "$HERE/qemu-virt.dts"
  echo "qemu-test: wrote $HERE/qemu-boot.log and $HERE/qemu-virt.dts"
fi
echo "qemu-test: all cases passed"
