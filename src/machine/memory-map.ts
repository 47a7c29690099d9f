// The board's physical memory map, in one place (design: "memory-map constants documented in one
// place"). The layout is QEMU's RISC-V `virt` machine (hw/riscv/virt.c, `virt_memmap[]` and the
// `*_IRQ` enum in include/hw/riscv/virt.h, QEMU 7.x/8.x), so that stock OpenSBI (its `generic`
// platform reads everything from the device tree) and a stock Linux kernel find their devices
// where they expect them. Addresses are guest-physical.
//
//   0x0000_1000  boot ROM (reset vector + the FDT pointer in QEMU; ours holds the same stub)
//   0x0010_0000  sifive,test1 "syscon" (poweroff / reboot / fail with exit code)
//   0x0010_1000  google,goldfish-rtc                                          PLIC IRQ 11
//   0x0010_2000  microsoft,vmgenid (rvisor only: free in QEMU's virt)         PLIC IRQ 12
//   0x0200_0000  CLINT (sifive,clint0 / riscv,clint0): msip, mtimecmp, mtime
//   0x0c00_0000  PLIC (sifive,plic-1.0.0 / riscv,plic0)
//   0x1000_0000  UART0, ns16550a, 3.6864 MHz input clock                      PLIC IRQ 10
//   0x1000_1000  virtio-mmio slot 0 .. slot 7 (0x1000 apart)                  PLIC IRQ 1..8
//   0x1000_9000  virtio-mmio slot 8, only on a machine with 6 disks (rvisor only: the balloon
//                after disks, entropy and power key needs a ninth slot then)   PLIC IRQ 9
//   0x8000_0000  RAM
//
// PLIC contexts follow QEMU's virt numbering (hw/riscv/virt.c: "hart-config" "MS" per hart):
// context 2h is hart h's M-mode external interrupt (MEIP), context 2h+1 its S-mode one (SEIP).

/** RAM starts here (QEMU virt: VIRT_DRAM). */
export const RAM_BASE = 0x8000_0000;

/** Boot ROM (QEMU virt: VIRT_MROM). Reset vector of every hart. */
export const BOOT_ROM_BASE = 0x1000;
export const BOOT_ROM_SIZE = 0xf000;

/** SiFive test device (QEMU virt: VIRT_TEST, compatible "sifive,test1", "sifive,test0", "syscon"). */
export const SYSCON_BASE = 0x10_0000;
export const SYSCON_SIZE = 0x1000;
/** Values written to the syscon's register 0 (QEMU hw/misc/sifive_test.c). */
export const SYSCON_FAIL = 0x3333; // bits 31:16 carry the exit code
export const SYSCON_PASS = 0x5555; // power off (Linux: syscon-poweroff value)
export const SYSCON_RESET = 0x7777; // reboot (Linux: syscon-reboot value)

/** Goldfish RTC (QEMU virt: VIRT_RTC, "google,goldfish-rtc"). */
export const RTC_BASE = 0x10_1000;
export const RTC_SIZE = 0x1000;
export const RTC_IRQ = 11;

/** VM generation ID (compatible "microsoft,vmgenid"; not in QEMU's virt, which has vmgenid on
 *  ACPI only): a page and an interrupt source that QEMU's virt leaves unused (its next device
 *  after the RTC is the CLINT; its IRQs are 1..8 virtio, 10 UART, 11 RTC, 32..35 PCIe, 64..95 the
 *  platform bus). */
export const VMGENID_BASE = 0x10_2000;
export const VMGENID_SIZE = 0x1000;
export const VMGENID_IRQ = 12;

/** CLINT (QEMU virt: VIRT_CLINT). */
export const CLINT_BASE = 0x200_0000;
export const CLINT_SIZE = 0x10000;

/** PLIC (QEMU virt: VIRT_PLIC; size VIRT_PLIC_SIZE(__num_context) rounds up to this for 8 harts). */
export const PLIC_BASE = 0xc00_0000;
export const PLIC_SIZE = 0x60_0000;
/** Highest interrupt source number (QEMU virt: VIRT_IRQCHIP_NUM_SOURCES - 1 = 95). */
export const PLIC_NUM_SOURCES = 95;
/** PLIC context numbers for a hart (QEMU virt's "MS" hart-config). */
export const plicContextM = (hart: number): number => 2 * hart;
export const plicContextS = (hart: number): number => 2 * hart + 1;

/** UART0 (QEMU virt: VIRT_UART0), a 16550A. */
export const UART0_BASE = 0x1000_0000;
export const UART0_SIZE = 0x100;
export const UART0_IRQ = 10;
/** The UART's input clock (QEMU hw/char/serial.c: 3.6864 MHz; baud = clock / (16 * divisor)). */
export const UART0_CLOCK_HZ = 3_686_400;

/** virtio-mmio transports (QEMU virt: VIRT_VIRTIO, VIRTIO_IRQ = 1, VIRTIO_COUNT = 8). */
export const VIRTIO_BASE = 0x1000_1000;
export const VIRTIO_SIZE = 0x1000;
export const VIRTIO_COUNT = 8;
/** Slots a machine may have: VIRTIO_COUNT, plus the ninth (free in QEMU's virt, as is IRQ 9) that
 *  only a machine with the most disks and the balloon maps. */
export const VIRTIO_MAX_COUNT = 9;
export const VIRTIO_IRQ_BASE = 1;
export const virtioBase = (slot: number): number => VIRTIO_BASE + slot * VIRTIO_SIZE;
export const virtioIrq = (slot: number): number => VIRTIO_IRQ_BASE + slot;

/** mtime ticks per second (QEMU virt: RISCV_ACLINT_DEFAULT_TIMEBASE_FREQ). */
export const TIMEBASE_HZ = 10_000_000;

/** RISC-V interrupt numbers used in interrupts-extended cells (privileged spec, mip bits). */
export const IRQ_S_SOFT = 1;
export const IRQ_M_SOFT = 3;
export const IRQ_S_TIMER = 5;
export const IRQ_M_TIMER = 7;
export const IRQ_S_EXT = 9;
export const IRQ_M_EXT = 11;
