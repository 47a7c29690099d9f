// Flattened device tree (FDT, "DTB") writer, per the Devicetree Specification v0.4, chapter 5
// ("Flattened Devicetree (DTB) Format"), and the board's tree, laid out as QEMU's virt machine
// writes its own (hw/riscv/virt.c, create_fdt*) so OpenSBI's generic platform and Linux 6.1 accept
// it unchanged.
//
// Blob layout (spec 5.1): header (40 bytes) | memory reservation block (8-byte aligned, pairs of
// big-endian u64 address/size ending with 0/0) | structure block (FDT_BEGIN_NODE, FDT_PROP,
// FDT_END_NODE, ending with FDT_END; 4-byte tokens) | strings block (NUL-terminated property names,
// each stored once). All integers big-endian; every block starts 8-byte aligned here (the spec
// asks 8 for the reservation block and 4 for the structure block).

import type { FdtNodeWriter } from '../devices/device.js';
import { RvisorError } from '../errors.js';

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;
const HEADER_SIZE = 40;

/** Node names (spec 2.2.1): node-name of 1..31 characters from [0-9a-zA-Z,._+-], optionally
 *  @unit-address from the same set. */
const NODE_NAME = /^[0-9a-zA-Z,._+-]{1,31}(@[0-9a-zA-Z,._+-]+)?$/;
/** Property names (spec 2.2.4): 1..31 characters from [0-9a-zA-Z,._+?#-]. */
const PROP_NAME = /^[0-9a-zA-Z,._+?#-]{1,31}$/;

const bug = (msg: string): RvisorError => new RvisorError('INTERNAL', `fdt: ${msg}`);

/** A growable big-endian byte buffer. */
class Bytes {
  buf = new Uint8Array(4096);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  u32(v: number): void {
    this.room(4);
    const b = this.buf;
    const o = this.len;
    b[o] = (v >>> 24) & 0xff;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
    this.len += 4;
  }

  bytes(d: Uint8Array): void {
    this.room(d.length);
    this.buf.set(d, this.len);
    this.len += d.length;
  }

  /** Zero bytes up to a multiple of n. */
  align(n: number): void {
    const pad = (n - (this.len % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
  }
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

interface OpenNode {
  name: string;
  props: Set<string>;
  children: Set<string>;
}

export interface FdtWriterOptions {
  /** Physical ID of the boot CPU (header field boot_cpuid_phys; default 0). */
  bootCpuidPhys?: number;
}

/** Writes a DTB. Use: beginNode('') for the root, properties and child nodes, endNode() for each
 *  node, then finish(). Misuse (a property after a child node, a duplicate property or child name,
 *  a bad name, unbalanced nodes, a phandle that no node declares) throws an INTERNAL error: it is a
 *  bug in the caller, never guest input. */
export class FdtWriter implements FdtNodeWriter {
  private readonly struct = new Bytes();
  private readonly strings = new Bytes();
  private readonly stringOffsets = new Map<string, number>();
  private readonly reservations: Array<{ address: bigint; size: bigint }> = [];
  private readonly stack: OpenNode[] = [];
  private readonly phandles = new Map<string, number>();
  private readonly declared = new Set<number>();
  private rootDone = false;
  private finished = false;
  private readonly bootCpuidPhys: number;

  constructor(opts: FdtWriterOptions = {}) {
    this.bootCpuidPhys = opts.bootCpuidPhys ?? 0;
  }

  /** Adds a memory reservation block entry (memory the OS must not use). */
  addReservation(address: bigint, size: bigint): void {
    if (address < 0n || size < 0n || address >= 1n << 64n || size >= 1n << 64n) throw bug('reservation outside 64 bits');
    this.reservations.push({ address, size });
  }

  beginNode(name: string): void {
    this.check();
    if (this.stack.length === 0) {
      if (this.rootDone) throw bug('a second root node');
      if (name !== '') throw bug(`the root node's name must be empty, not "${name}"`);
    } else {
      if (!NODE_NAME.test(name)) throw bug(`bad node name "${name}"`);
      const parent = this.stack[this.stack.length - 1]!;
      if (parent.children.has(name)) throw bug(`duplicate node "${name}" in ${this.path()}`);
      parent.children.add(name);
    }
    this.struct.u32(FDT_BEGIN_NODE);
    this.struct.bytes(utf8(name));
    this.struct.bytes(new Uint8Array(1));
    this.struct.align(4);
    this.stack.push({ name, props: new Set(), children: new Set() });
  }

  endNode(): void {
    this.check();
    if (this.stack.length === 0) throw bug('endNode() without an open node');
    this.stack.pop();
    this.struct.u32(FDT_END_NODE);
    if (this.stack.length === 0) this.rootDone = true;
  }

  propU32(name: string, ...values: number[]): void {
    const d = new Uint8Array(values.length * 4);
    const dv = new DataView(d.buffer);
    values.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw bug(`property ${name}: ${v} is not a u32`);
      dv.setUint32(i * 4, v);
    });
    if (name === 'phandle') {
      if (values.length !== 1 || values[0] === 0 || values[0] === 0xffffffff) throw bug(`bad phandle in ${this.path()}`);
      if (this.declared.has(values[0]!)) throw bug(`phandle ${values[0]} declared twice`);
      this.prop(name, d);
      this.declared.add(values[0]!);
      return;
    }
    this.prop(name, d);
  }

  propU64(name: string, ...values: bigint[]): void {
    const d = new Uint8Array(values.length * 8);
    const dv = new DataView(d.buffer);
    values.forEach((v, i) => {
      if (v < 0n || v >= 1n << 64n) throw bug(`property ${name}: ${v} is not a u64`);
      dv.setBigUint64(i * 8, v);
    });
    this.prop(name, d);
  }

  /** A string, or a stringlist when given several (each NUL-terminated, spec 2.2.4.1). */
  propString(name: string, ...values: string[]): void {
    if (values.length === 0) throw bug(`property ${name}: no strings`);
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const v of values) {
      if (v.includes('\0')) throw bug(`property ${name}: a string holds NUL`);
      const b = utf8(v);
      parts.push(b);
      n += b.length + 1;
    }
    const d = new Uint8Array(n);
    let o = 0;
    for (const b of parts) {
      d.set(b, o);
      o += b.length + 1;
    }
    this.prop(name, d);
  }

  propBytes(name: string, data: Uint8Array): void {
    this.prop(name, data);
  }

  propEmpty(name: string): void {
    this.prop(name, new Uint8Array(0));
  }

  /** The phandle for `label`: allocated (1, 2, ...) on first use, the same number afterwards. The
   *  node it stands for declares it with propU32('phandle', w.phandle(label)); other nodes may
   *  name it before or after that. finish() fails if a phandle was handed out but never declared. */
  phandle(label: string): number {
    let p = this.phandles.get(label);
    if (p === undefined) {
      p = this.phandles.size + 1;
      this.phandles.set(label, p);
    }
    return p;
  }

  /** The finished blob. The writer cannot be used afterwards. */
  finish(): Uint8Array {
    this.check();
    if (!this.rootDone) throw bug(this.stack.length ? `node ${this.path()} is still open` : 'no root node');
    for (const [label, p] of this.phandles) {
      if (!this.declared.has(p)) throw bug(`phandle ${p} ("${label}") is referenced but no node declares it`);
    }
    this.finished = true;
    this.struct.u32(FDT_END);

    const out = new Bytes();
    out.bytes(new Uint8Array(HEADER_SIZE));
    out.align(8);
    const offRsv = out.len;
    for (const r of this.reservations) {
      out.u32(Number(r.address >> 32n));
      out.u32(Number(r.address & 0xffffffffn));
      out.u32(Number(r.size >> 32n));
      out.u32(Number(r.size & 0xffffffffn));
    }
    for (let i = 0; i < 4; i++) out.u32(0);
    out.align(8);
    const offStruct = out.len;
    out.bytes(this.struct.buf.subarray(0, this.struct.len));
    out.align(8);
    const offStrings = out.len;
    out.bytes(this.strings.buf.subarray(0, this.strings.len));
    out.align(8);
    const blob = out.buf.slice(0, out.len);
    const h = new DataView(blob.buffer);
    h.setUint32(0, FDT_MAGIC);
    h.setUint32(4, blob.length); // totalsize
    h.setUint32(8, offStruct);
    h.setUint32(12, offStrings);
    h.setUint32(16, offRsv);
    h.setUint32(20, FDT_VERSION);
    h.setUint32(24, FDT_LAST_COMP_VERSION);
    h.setUint32(28, this.bootCpuidPhys);
    h.setUint32(32, this.strings.len); // size_dt_strings
    h.setUint32(36, this.struct.len); // size_dt_struct
    return blob;
  }

  private prop(name: string, data: Uint8Array): void {
    this.check();
    const node = this.stack[this.stack.length - 1];
    if (node === undefined) throw bug(`property ${name} outside any node`);
    if (!PROP_NAME.test(name)) throw bug(`bad property name "${name}"`);
    if (node.children.size > 0) throw bug(`property ${name} of ${this.path()} comes after a child node`);
    if (node.props.has(name)) throw bug(`duplicate property ${name} in ${this.path()}`);
    node.props.add(name);
    this.struct.u32(FDT_PROP);
    this.struct.u32(data.length);
    this.struct.u32(this.stringOffset(name));
    this.struct.bytes(data);
    this.struct.align(4);
  }

  private stringOffset(name: string): number {
    let off = this.stringOffsets.get(name);
    if (off === undefined) {
      off = this.strings.len;
      this.strings.bytes(utf8(name));
      this.strings.bytes(new Uint8Array(1));
      this.stringOffsets.set(name, off);
    }
    return off;
  }

  private path(): string {
    return '/' + this.stack.slice(1).map((n) => n.name).join('/');
  }

  private check(): void {
    if (this.finished) throw bug('writer used after finish()');
  }
}

// ---- the board's tree ----

/** What a device's node may ask of the tree being built. */
export interface FdtContext {
  /** Number of harts (cpu@0 .. cpu@harts-1). */
  readonly harts: number;
  /** phandle of /cpus/cpu@h/interrupt-controller (the hart's local interrupt controller). */
  cpuIntcPhandle(hart: number): number;
  /** phandle of the board's external interrupt controller: the node of that controller (the PLIC)
   *  declares it, every device with an interrupt names it in interrupt-parent. */
  readonly irqParent: number;
}

/** A device's contribution to the tree: its node(s) under /soc, and optionally nodes at the root
 *  (e.g. the syscon's poweroff/reboot nodes). The bus writes these without knowing the device. */
export interface DeviceNode {
  fdtNode(w: FdtNodeWriter, ctx: FdtContext): void;
  fdtRootNode?(w: FdtNodeWriter, ctx: FdtContext): void;
}

export interface VirtFdtConfig {
  harts: number;
  /** Base ISA string for riscv,isa, e.g. 'rv64imafdc'. */
  isa: string;
  /** Full riscv,isa value when the harts implement multi-letter extensions, e.g.
   *  'rv64imafdc_zicsr_zifencei_sstc' (Linux 6.1 parses them); replaces `isa` when given. */
  isaString?: string;
  /** mmu-type, e.g. 'riscv,sv39'. */
  mmuType: string;
  ramBase: bigint;
  ramSize: bigint;
  /** Kernel command line (/chosen/bootargs; omitted when empty). */
  bootargs: string;
  /** Where the loader put an initramfs: [start, end). */
  initrd?: { start: bigint; end: bigint };
  /** mtime ticks per second (/cpus/timebase-frequency). */
  timebaseFrequency: number;
  /** Devices under /soc, in this order. */
  devices: DeviceNode[];
  /** /chosen/stdout-path (default "/soc/serial@10000000", UART0 of this board). */
  stdoutPath?: string;
  /** Root compatible and model (default "riscv-virtio" and "riscv-virtio,qemu", the strings QEMU's
   *  virt board uses, so boot logs match the oracle's). */
  compatible?: string;
  model?: string;
  /** /chosen/rng-seed bytes, if the VMM provides entropy (reproducible runs leave it out). */
  rngSeed?: Uint8Array;
  /** Memory reservation block entries. */
  reservations?: Array<{ address: bigint; size: bigint }>;
}

/** Builds the board's device tree blob. */
export function buildVirtFdt(cfg: VirtFdtConfig): Uint8Array {
  if (!Number.isInteger(cfg.harts) || cfg.harts < 1 || cfg.harts > 4095) {
    throw new RvisorError('USAGE', `the number of harts must be 1..4095, not ${cfg.harts}`);
  }
  if (cfg.ramSize <= 0n || cfg.ramBase < 0n || cfg.ramBase + cfg.ramSize > 1n << 64n) {
    throw new RvisorError('USAGE', `bad RAM range: base 0x${cfg.ramBase.toString(16)}, size 0x${cfg.ramSize.toString(16)}`);
  }
  if (cfg.initrd && (cfg.initrd.start < 0n || cfg.initrd.end < cfg.initrd.start || cfg.initrd.end >= 1n << 64n)) {
    throw new RvisorError('USAGE', `bad initrd range 0x${cfg.initrd.start.toString(16)}..0x${cfg.initrd.end.toString(16)}`);
  }
  const w = new FdtWriter();
  for (const r of cfg.reservations ?? []) w.addReservation(r.address, r.size);
  const cpuPhandle = (h: number): number => w.phandle(`cpu@${h}`);
  const ctx: FdtContext = {
    harts: cfg.harts,
    cpuIntcPhandle: (h: number) => {
      if (!Number.isInteger(h) || h < 0 || h >= cfg.harts) throw bug(`no hart ${h}`);
      return w.phandle(`cpu@${h}/interrupt-controller`);
    },
    get irqParent(): number {
      return w.phandle('irq-parent');
    },
  };

  w.beginNode('');
  w.propU32('#address-cells', 2);
  w.propU32('#size-cells', 2);
  w.propString('compatible', cfg.compatible ?? 'riscv-virtio');
  w.propString('model', cfg.model ?? 'riscv-virtio,qemu');

  w.beginNode('chosen');
  if (cfg.bootargs !== '') w.propString('bootargs', cfg.bootargs);
  w.propString('stdout-path', cfg.stdoutPath ?? '/soc/serial@10000000');
  if (cfg.initrd) {
    w.propU64('linux,initrd-start', cfg.initrd.start);
    w.propU64('linux,initrd-end', cfg.initrd.end);
  }
  if (cfg.rngSeed) w.propBytes('rng-seed', cfg.rngSeed);
  w.endNode();

  w.beginNode(`memory@${cfg.ramBase.toString(16)}`);
  w.propString('device_type', 'memory');
  w.propU64('reg', cfg.ramBase, cfg.ramSize);
  w.endNode();

  w.beginNode('cpus');
  w.propU32('#address-cells', 1);
  w.propU32('#size-cells', 0);
  w.propU32('timebase-frequency', cfg.timebaseFrequency);
  for (let h = 0; h < cfg.harts; h++) {
    w.beginNode(`cpu@${h.toString(16)}`);
    w.propU32('phandle', cpuPhandle(h));
    w.propString('device_type', 'cpu');
    w.propU32('reg', h);
    w.propString('status', 'okay');
    w.propString('compatible', 'riscv');
    w.propString('riscv,isa', cfg.isaString ?? cfg.isa);
    w.propString('mmu-type', cfg.mmuType);
    w.beginNode('interrupt-controller');
    w.propU32('#interrupt-cells', 1);
    w.propEmpty('interrupt-controller');
    w.propString('compatible', 'riscv,cpu-intc');
    w.propU32('phandle', ctx.cpuIntcPhandle(h));
    w.endNode();
    w.endNode();
  }
  w.beginNode('cpu-map');
  w.beginNode('cluster0');
  for (let h = 0; h < cfg.harts; h++) {
    w.beginNode(`core${h}`);
    w.propU32('cpu', cpuPhandle(h));
    w.endNode();
  }
  w.endNode();
  w.endNode();
  w.endNode(); // cpus

  w.beginNode('soc');
  w.propU32('#address-cells', 2);
  w.propU32('#size-cells', 2);
  w.propString('compatible', 'simple-bus');
  w.propEmpty('ranges');
  for (const d of cfg.devices) d.fdtNode(w, ctx);
  w.endNode();

  for (const d of cfg.devices) d.fdtRootNode?.(w, ctx);
  w.endNode(); // root
  return w.finish();
}
