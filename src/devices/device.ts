// What every device of the virtual board is to the rest of the machine. The bus never names a
// device: it knows address ranges and these interfaces only (design: "a device is
// {read(offset, size), write(offset, value, size)} on an address range plus an IRQ line").

/** A memory-mapped register block. Offsets are relative to the device's base address; sizes are
 *  1, 2 or 4 bytes (the bus splits 8-byte accesses into two 4-byte ones, low half first). Values
 *  are unsigned 32-bit numbers. A guest access to an unimplemented offset reads 0 and ignores
 *  writes (never throws). */
export interface MmioDevice {
  read(offset: number, size: number): number;
  write(offset: number, value: number, size: number): void;
}

/** An interrupt line into the interrupt controller (the PLIC), level-triggered. */
export interface IrqLine {
  set(level: boolean): void;
}

/** Guest-physical RAM as devices see it (DMA). Every access is checked: an address range that is
 *  not entirely inside guest RAM returns false / undefined and touches nothing. */
export interface GuestMemory {
  /** Copies guest bytes [gpa, gpa + dst.length) into dst. */
  read(gpa: number, dst: Uint8Array): boolean;
  /** Copies src into guest RAM at gpa. Marks the pages dirty (for migration later). */
  write(gpa: number, src: Uint8Array): boolean;
  readU16(gpa: number): number | undefined;
  readU32(gpa: number): number | undefined;
  readU64(gpa: number): bigint | undefined;
  writeU16(gpa: number, v: number): boolean;
  writeU32(gpa: number, v: number): boolean;
  writeU64(gpa: number, v: bigint): boolean;
}

/** Minimal device-tree builder interface a device uses to describe itself (src/machine/fdt.ts). */
export interface FdtNodeWriter {
  beginNode(name: string): void;
  endNode(): void;
  propU32(name: string, ...values: number[]): void;
  propU64(name: string, ...values: bigint[]): void;
  propString(name: string, ...values: string[]): void;
  propBytes(name: string, data: Uint8Array): void;
  propEmpty(name: string): void;
  /** Allocates a phandle for a node about to be written (call before beginNode's props). */
  phandle(label: string): number;
}

/** Devices with state implement save()/restore() with a plain-data state type (design rule 1). */
export interface Stateful<S> {
  save(): S;
  restore(state: S): void;
}
