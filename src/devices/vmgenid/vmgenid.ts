// VM generation ID ("vmgenid"): a 128-bit identifier that changes whenever the machine is cloned
// or resumed from a snapshot, so the guest can tell it is a new instance (Microsoft's "Virtual
// Machine Generation ID" specification). Linux (≥ 6.10, drivers/virt/vmgenid.c, CONFIG_VMGENID)
// finds it in the device tree (binding Documentation/devicetree/bindings/rng/microsoft,vmgenid.yaml:
// compatible "microsoft,vmgenid", `reg` holding the 16-byte ID, `interrupts` announcing a change):
// at probe it maps the region, copies the 16 bytes and mixes them into the RNG
// (add_device_randomness); on each interrupt it copies them again and, when they differ from the
// ID it saw last, calls add_vmfork_randomness(), which reseeds the RNG at once ("random: crng
// reseeded due to virtual machine fork"). The driver writes nothing to the device and acks
// nothing: the interrupt is a pulse.
//
//   0x000 .. 0x00f   the generation ID, byte i at offset i (read-only)
//   0x010 .. 0xfff   read 0
// Reads of 1, 2 or 4 bytes at any offset (also unaligned: memcpy_fromio may use any width; the bus
// splits 8-byte loads into two 4-byte ones) return the bytes there, little-endian; writes are
// ignored.
//
// Interrupt: regenerate() raises and lowers the line at once. The PLIC's gateway latches the
// request (level-sensitive, a request stays pending until claimed), so the guest gets exactly one
// interrupt per new ID and the line is never left high: no interrupt storm, nothing for the guest
// to acknowledge. A request pending in the PLIC when the machine is saved is in the PLIC's state.

import type { FdtNodeWriter, IrqLine, MmioDevice, Stateful } from '../device.js';
import { RvisorError } from '../../errors.js';
import type { VmGenIdState } from './state.js';

export type { VmGenIdState } from './state.js';

/** Bytes of the generation ID. */
export const VMGENID_BYTES = 16;

export interface VmGenIdOptions {
  /** The interrupt line announcing a new ID (from the PLIC). */
  irq: IrqLine;
  /** The initial ID (16 bytes), e.g. randomVmGenId(entropy). */
  guid: Uint8Array;
}

export class VmGenId implements MmioDevice, Stateful<VmGenIdState> {
  private readonly irq: IrqLine;
  private readonly id = new Uint8Array(VMGENID_BYTES);
  /** Guest reads that returned at least one byte of the ID, since this object was made (a
   *  diagnostic for tests and statistics, not machine state: not saved). */
  guidReads = 0;
  /** Interrupts raised by regenerate() since this object was made (diagnostic, not saved). */
  notifications = 0;

  constructor(opts: VmGenIdOptions) {
    this.irq = opts.irq;
    this.id.set(checkId(opts.guid));
  }

  /** A copy of the current generation ID. */
  get guid(): Uint8Array {
    return this.id.slice();
  }

  /** Sets a new generation ID and interrupts the guest once so that its driver reads it. */
  regenerate(guid: Uint8Array): void {
    this.id.set(checkId(guid));
    this.notifications++;
    this.irq.set(true);
    this.irq.set(false);
  }

  read(offset: number, size: number): number {
    if ((size !== 1 && size !== 2 && size !== 4) || !Number.isInteger(offset) || offset < 0 || offset >= VMGENID_BYTES) return 0;
    let v = 0;
    for (let i = 0; i < size && offset + i < VMGENID_BYTES; i++) v |= this.id[offset + i]! << (8 * i);
    this.guidReads++;
    return v >>> 0;
  }

  write(_offset: number, _value: number, _size: number): void {
    // read-only
  }

  save(): VmGenIdState {
    return { guid: Array.from(this.id) };
  }

  /** Restores the ID; the line stays low (a notification not yet claimed is in the PLIC's state). */
  restore(state: VmGenIdState): void {
    const ok = state !== null && typeof state === 'object' && Array.isArray(state.guid) && state.guid.length === VMGENID_BYTES &&
      state.guid.every((b) => Number.isInteger(b) && b >= 0 && b <= 255);
    if (!ok) throw new RvisorError('INTERNAL', 'vmgenid: saved state is malformed');
    this.id.set(state.guid);
  }
}

function checkId(guid: Uint8Array): Uint8Array {
  if (!(guid instanceof Uint8Array) || guid.length !== VMGENID_BYTES) {
    throw new RvisorError('INTERNAL', `vmgenid: a generation ID is ${VMGENID_BYTES} bytes, not ${(guid as Uint8Array | undefined)?.length}`);
  }
  return guid;
}

/** A fresh random generation ID from `entropy`: a version-4 UUID (RFC 9562 section 5.4) in its
 *  usual byte order (byte 6's high nibble 4, byte 8's top bits 10). */
export function randomVmGenId(entropy: (buf: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(VMGENID_BYTES);
  entropy(b);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b;
}

export interface VmGenIdFdtOptions {
  base: number;
  size: number;
  irq: number;
}

/** The device's node under /soc (binding microsoft,vmgenid.yaml; QEMU's virt has none). */
export function vmgenidFdtNode(opts: VmGenIdFdtOptions): { fdtNode(w: FdtNodeWriter, ctx: { readonly irqParent: number }): void } {
  return {
    fdtNode(w, ctx) {
      w.beginNode(`vmgenid@${opts.base.toString(16)}`);
      w.propU32('interrupts', opts.irq);
      w.propU32('interrupt-parent', ctx.irqParent);
      w.propU64('reg', BigInt(opts.base), BigInt(opts.size));
      w.propString('compatible', 'microsoft,vmgenid');
      w.endNode();
    },
  };
}
