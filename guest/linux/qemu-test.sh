#!/bin/bash
# Proves the guest images under the reference machine, Debian's qemu-system-riscv64 (TCG, virt):
# boots them, waits for `rvisor guest ready`, then drives the console shell with expect:
# uname -a, /proc/cpuinfo (hart count), cat /mnt/hello.txt, a write to /mnt + sync, Ctrl-C of a
# running `sleep`, and ends with `poweroff -f` (QEMU must exit 0).  Cases, for the default kernel
# Image (Linux 6.12) and Image-6.1 (Linux 6.1):
#   default   -bios default (QEMU's bundled OpenSBI), 1 hart; also `reboot -f` + a second boot
#             that must see the file written before the reboot
#   smp2      -bios default, -smp 2: both harts online in /proc/cpuinfo and /sys (6.12 only)
#   fwjump    -bios Debian's opensbi fw_jump.bin, 1 hart; ends with plain `poweroff` (busybox init)
#             (6.12 only)
#   powerkey  -device virtio-keyboard-device (modern virtio-mmio): /proc/bus/input/devices lists it, then the QEMU
#             monitor's `sendkey power` makes the guest's acpid power it off cleanly (exit 0)
# The disk is a scratch copy: the images are not modified.
#
# Usage: guest/linux/qemu-test.sh [--save-reference] [IMAGES_DIR]
#   IMAGES_DIR holds Image(.gz) Image-6.1(.gz) initramfs.cpio.gz disk.ext4(.gz)   (default: the
#   repo's images/)
#   --save-reference: also write guest/linux/qemu-boot.log and qemu-boot-6.1.log (the default
#   case's console log per kernel), qemu-powerkey.log (the 6.12 powerkey case's console log) and
#   guest/linux/qemu-virt.dts (the device tree QEMU builds for the default command line).
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
unpack Image; unpack Image-6.1; unpack disk.ext4
[ -f "$IMAGES/initramfs.cpio.gz" ] || die "no initramfs.cpio.gz in $IMAGES"
cp "$IMAGES/initramfs.cpio.gz" "$WORK/"

# The expect driver: argv = case-name log-file harts ending kernel-version -- qemu command...
cat > "$WORK/drive.exp" <<'EXP'
set name [lindex $argv 0]; set log [lindex $argv 1]; set harts [lindex $argv 2]
set ending [lindex $argv 3]; set kver [lindex $argv 4]; set cmd [lrange $argv 6 end]
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
if {![regexp "Linux rvisor $kver\\.\\d+ #1 SMP .* riscv64 GNU/Linux" $u]} { fail "uname -a (want $kver): $u" }
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
if {$ending eq "powerkey"} {
  set d [run "cat /proc/bus/input/devices"]
  if {![regexp {N: Name="QEMU Virtio Keyboard"} $d] || ![regexp {H: Handlers=[^\n]*event0} $d]} { fail "/proc/bus/input/devices: $d" }
  ok "/proc/bus/input/devices: [string map {"\n" " | "} [string trim $d]]"
  if {![regexp {acpid} [run "ps"]]} { fail "acpid is not running" }
  # Ctrl-A c: QEMU's monitor (multiplexed on stdio with -nographic); sendkey power presses and
  # releases the key on the keyboard (KEY_POWER on virtio-keyboard)
  send -- "\001c"
  expect -brace { "(qemu)" {} timeout { fail "no QEMU monitor prompt" } }
  send -- "sendkey power\r"
  expect -brace { "rvisor: power key pressed" {} timeout { fail "the guest did not act on the power key" } eof { fail "QEMU exited before the guest acted on the power key" } }
  expect -brace { eof {} timeout { fail "QEMU still running after the power key" } }
  set st [wait]
  if {[lindex $st 3] != 0} { fail "QEMU exit status [lindex $st 3] after the power key" }
  ok "power key (monitor sendkey power): acpid ran poweroff, QEMU exited with status 0"
  exit 0
}
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
qemu_cmd() { # qemu_cmd KERNEL BIOS SMP DISK [extra -machine opts] [extra args...]
  local kernel="$1" bios="$2" smp="$3" disk="$4" mopts="${5:-}"
  shift 5 || shift $#
  echo "$QEMU" -machine "virt$mopts" -nographic -bios "$bios" -smp "$smp" -m 256M \
    -kernel "$WORK/$kernel" -initrd "$WORK/initramfs.cpio.gz" -append console=ttyS0 \
    -drive "file=$disk,format=raw,if=none,id=hd0" -device virtio-blk-device,drive=hd0 "$@"
}
run_case() { # run_case NAME KERNEL BIOS SMP ENDING [extra qemu args...]
  local name="$1" kernel="$2" bios="$3" smp="$4" ending="$5"
  shift 5
  local disk="$WORK/disk-$name.ext4" kver=6.12
  [ "$kernel" = Image-6.1 ] && kver=6.1
  cp "$WORK/disk.ext4" "$disk"
  # shellcheck disable=SC2046
  expect "$WORK/drive.exp" "$name" "$WORK/$name.log" "$smp" "$ending" "$kver" -- $(qemu_cmd "$kernel" "$bios" "$smp" "$disk" "" "$@") \
    || { echo "--- console log tail ($WORK/$name.log):"; tail -30 "$WORK/$name.log"; exit 1; }
  set -- "$name"
  grep -E -i 'warn|error|fail|unable|bug:|oops' "$WORK/$1.log" | tr -d '\r' | sed "s/^/qemu-test: $1: log: /" || true
  E2FSPROGS_FAKE_TIME=0 e2fsck -f -n "$disk" > /dev/null 2>&1 || die "$1: disk not clean after poweroff (e2fsck -n)"
  echo "qemu-test: $1: disk clean (e2fsck -n), /written.txt: $(debugfs -R 'cat /written.txt' "$disk" 2>/dev/null)"
}
echo "qemu-test: $($QEMU --version | head -1); images from $IMAGES"
run_case default Image default 1 reboot
run_case smp2 Image default 2 "poweroff -f"
run_case fwjump Image "$FW_JUMP" 1 poweroff
# virtio-mmio on QEMU 7.2's virt is legacy (version 1) unless told otherwise, and Linux's
# virtio_input driver wants VIRTIO_F_VERSION_1 (it ignores a legacy device without a word).
KEYBOARD=(-global virtio-mmio.force-legacy=false -device virtio-keyboard-device)
run_case powerkey Image default 1 powerkey "${KEYBOARD[@]}"
run_case default-6.1 Image-6.1 default 1 reboot
run_case powerkey-6.1 Image-6.1 default 1 powerkey "${KEYBOARD[@]}"

if [ "$SAVE" = 1 ]; then
  tr -d '\r' < "$WORK/default.log" > "$HERE/qemu-boot.log"
  tr -d '\r' < "$WORK/default-6.1.log" > "$HERE/qemu-boot-6.1.log"
  tr -d '\r' < "$WORK/powerkey.log" > "$HERE/qemu-powerkey.log"
  cp "$WORK/disk.ext4" "$WORK/disk-dtb.ext4"
  # shellcheck disable=SC2046
  $(qemu_cmd Image default 1 "$WORK/disk-dtb.ext4" ",dumpdtb=$WORK/virt.dtb") > /dev/null 2>&1 || true
  [ -s "$WORK/virt.dtb" ] || die "QEMU wrote no dtb"
  {
    echo "// Device tree that QEMU $($QEMU --version | head -1 | sed 's/.*version //') builds for:"
    echo "//   $(qemu_cmd Image default 1 disk.ext4 ",dumpdtb=virt.dtb" | sed "s|$WORK/||g")"
    echo "// dumped with -machine virt,dumpdtb=... and decompiled with dtc -I dtb -O dts."
    echo "// Generated by guest/linux/qemu-test.sh --save-reference: do not edit."
    dtc -q -I dtb -O dts "$WORK/virt.dtb"
  } > "$HERE/qemu-virt.dts"
  echo "qemu-test: wrote $HERE/qemu-boot.log, qemu-boot-6.1.log, qemu-powerkey.log and qemu-virt.dts"
fi
echo "qemu-test: all cases passed"
