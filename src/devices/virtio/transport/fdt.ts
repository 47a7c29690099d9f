// The device-tree node of one virtio-mmio slot, as QEMU's `virt` machine writes it
// (hw/riscv/virt.c create_fdt_virtio) and Linux's virtio_mmio driver binds it
// (Documentation/devicetree/bindings/virtio/mmio.yaml).
import type { FdtNodeWriter } from '../../device.js';

/** Size of one virtio-mmio register window. */
export const VIRTIO_MMIO_SIZE = 0x1000;

/** What the machine's FDT builder passes to device node writers. */
export interface VirtioFdtContext {
  /** Phandle of the interrupt controller (the PLIC). */
  plicPhandle: number;
}

export interface VirtioMmioSlot {
  /** Guest-physical base of the register window. */
  base: number;
  /** Interrupt source number on the PLIC. */
  irq: number;
  /** Window size (default VIRTIO_MMIO_SIZE). */
  size?: number;
}

/** Writes `virtio_mmio@<base> { compatible = "virtio,mmio"; reg; interrupts; interrupt-parent }`
 *  under the current node (the root or /soc, with #address-cells = #size-cells = 2). */
export function fdtNode(w: FdtNodeWriter, ctx: VirtioFdtContext, slot: VirtioMmioSlot): void {
  w.beginNode(`virtio_mmio@${slot.base.toString(16)}`);
  w.propU32('interrupts', slot.irq);
  w.propU32('interrupt-parent', ctx.plicPhandle);
  w.propU64('reg', BigInt(slot.base), BigInt(slot.size ?? VIRTIO_MMIO_SIZE));
  w.propString('compatible', 'virtio,mmio');
  w.endNode();
}
