// The physical address decoder of the board. It knows address ranges and MmioDevice objects,
// never what a device is (design: "the bus never names a device").
import type { MmioDevice } from '../devices/device.js';

interface Region {
  base: number;
  size: number;
  device: MmioDevice;
}

export class Bus {
  private readonly regions: Region[] = [];
  /** Accesses to addresses no device claims (the guest probed something absent). */
  unclaimed = 0;

  map(base: number, size: number, device: MmioDevice): void {
    for (const r of this.regions) {
      if (base < r.base + r.size && r.base < base + size) {
        throw new Error(`bus: region 0x${base.toString(16)}+0x${size.toString(16)} overlaps 0x${r.base.toString(16)}`);
      }
    }
    this.regions.push({ base, size, device });
    this.regions.sort((a, b) => a.base - b.base);
  }

  private find(pa: number): Region | undefined {
    for (const r of this.regions) if (pa >= r.base && pa < r.base + r.size) return r;
    return undefined;
  }

  /** Whether a device answers at physical address pa. */
  claims(pa: bigint): boolean {
    return this.find(Number(pa)) !== undefined;
  }

  /** A device read of 1, 2, 4 or 8 bytes (8 = two 4-byte reads, low half first). */
  read(pa: bigint, size: number): bigint {
    const addr = Number(pa);
    const r = this.find(addr);
    if (!r) {
      this.unclaimed++;
      return 0n;
    }
    const off = addr - r.base;
    if (size === 8) {
      const lo = r.device.read(off, 4) >>> 0;
      const hi = r.device.read(off + 4, 4) >>> 0;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    return BigInt(r.device.read(off, size) >>> 0);
  }

  write(pa: bigint, value: bigint, size: number): void {
    const addr = Number(pa);
    const r = this.find(addr);
    if (!r) {
      this.unclaimed++;
      return;
    }
    const off = addr - r.base;
    if (size === 8) {
      r.device.write(off, Number(value & 0xffffffffn), 4);
      r.device.write(off + 4, Number((value >> 32n) & 0xffffffffn), 4);
      return;
    }
    r.device.write(off, Number(value & ((1n << BigInt(size * 8)) - 1n)), size);
  }
}
