// The SBI implemented by the VMM (RISC-V Supervisor Binary Interface spec 2.0): when the VM boots
// without M-mode firmware, a supervisor `ecall` stops the hart (STOP_TRAP, cause 9) and lands
// here — a hypercall. Extensions: Base, legacy v0.1 calls, TIME, IPI, RFENCE, HSM, SRST, DBCN,
// STA (steal-time accounting: the host reports time a runnable hart was kept from running).
// Every guest argument is hostile: a call that fails returns an SBI error and changes nothing.
import type { Hart } from '../cpu/hart.js';
import { HART_STIMECMP, HART_MIP } from '../cpu/layout.js';

export const SBI_SUCCESS = 0n;
export const SBI_ERR_FAILED = -1n;
export const SBI_ERR_NOT_SUPPORTED = -2n;
export const SBI_ERR_INVALID_PARAM = -3n;
export const SBI_ERR_DENIED = -4n;
export const SBI_ERR_INVALID_ADDRESS = -5n;
export const SBI_ERR_ALREADY_AVAILABLE = -6n;

/** Extension ids (SBI spec 2.0 chapters 4-16). */
export const EXT_BASE = 0x10;
export const EXT_TIME = 0x54494d45;
export const EXT_IPI = 0x735049;
export const EXT_RFENCE = 0x52464e43;
export const EXT_HSM = 0x48534d;
export const EXT_SRST = 0x53525354;
export const EXT_DBCN = 0x4442434e;
export const EXT_STA = 0x535441;
const LEGACY_MAX = 0x08;

/** HSM hart states (SBI spec section 9.1). */
export const HSM_STARTED = 0;
export const HSM_STOPPED = 1;
export const HSM_START_PENDING = 2;
export const HSM_SUSPENDED = 4;

/** STA shared memory (SBI spec 2.0 §16.1, table 76): 64 bytes, 64-byte aligned. */
export const STA_SHMEM_SIZE = 64;
export const STA_SEQUENCE = 0; // u32: odd while the SBI writes `steal`
export const STA_FLAGS = 4; // u32: always 0
export const STA_STEAL = 8; // u64: nanoseconds the hart was runnable but not running
export const STA_PREEMPTED = 16; // u8

/** The SBI's own state (design rule 1: plain data): per hart, the guest-physical address of its
 *  STA shared memory, or null when steal-time reporting is off for it. */
export interface SbiState {
  staShmem: (number | null)[];
}

/** What the SBI needs from the board. */
export interface SbiBoard {
  readonly harts: readonly Hart[];
  hsmState(hart: number): number;
  /** Starts a stopped hart in S-mode at addr with a0 = hartid, a1 = opaque. */
  startHart(hart: number, addr: bigint, opaque: bigint): void;
  stopHart(hart: number): void;
  suspendHart(hart: number): void;
  consoleWrite(bytes: Uint8Array): void;
  /** One byte of console input, or -1. */
  consoleRead(): number;
  /** Guest-physical memory for the DBCN and STA calls (false, touching nothing, when any part of
   *  the range is outside RAM). */
  readPhys(pa: number, dst: Uint8Array): boolean;
  writePhys(pa: number, src: Uint8Array): boolean;
  flushTlb(hart: number): void;
  reset(kind: 'shutdown' | 'reboot', reason: number): void;
}

const SSIP = 1n << 1n;
const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;

export class Sbi {
  /** Calls seen per extension (for --stats). */
  readonly calls = new Map<number, number>();
  /** Per hart: where its STA shared memory is (guest-physical), or null. */
  private staShmem: (number | null)[];

  constructor(private readonly board: SbiBoard) {
    this.staShmem = board.harts.map(() => null);
  }

  save(): SbiState {
    return { staShmem: [...this.staShmem] };
  }
  restore(s: SbiState): void {
    this.staShmem = this.board.harts.map((_, h) => {
      const a = s.staShmem[h];
      return typeof a === 'number' && Number.isSafeInteger(a) && a % STA_SHMEM_SIZE === 0 ? a : null;
    });
  }

  /** Host side of STA: hart `hart` was runnable but kept from running for `ns` nanoseconds.
   *  Adds them to the steal field of the hart's shared memory with the sequence protocol
   *  (sequence odd while steal is written, even after). Returns false, writing nothing, when the
   *  hart has registered no shared memory (the guest does not use STA, or turned it off). */
  addSteal(hart: number, ns: bigint): boolean {
    const pa = this.staShmem[hart];
    if (pa === null || pa === undefined || ns < 0n) return false;
    const seq = new Uint8Array(4), steal = new Uint8Array(8);
    if (!this.board.readPhys(pa + STA_SEQUENCE, seq) || !this.board.readPhys(pa + STA_STEAL, steal)) return false;
    const sv = new DataView(seq.buffer), tv = new DataView(steal.buffer);
    // The guest may have scribbled on the sequence (the spec allows inconsistent data then, not
    // misbehaviour): force it odd for the update and even after.
    const odd = (sv.getUint32(0, true) | 1) >>> 0;
    sv.setUint32(0, odd, true);
    this.board.writePhys(pa + STA_SEQUENCE, seq);
    tv.setBigUint64(0, (tv.getBigUint64(0, true) + ns) & M64, true);
    this.board.writePhys(pa + STA_STEAL, steal);
    sv.setUint32(0, (odd + 1) >>> 0, true);
    this.board.writePhys(pa + STA_SEQUENCE, seq);
    return true;
  }

  /** The steal time hart `hart`'s shared memory shows (ns), or undefined when it has none. */
  stealOf(hart: number): bigint | undefined {
    const pa = this.staShmem[hart];
    if (pa === null || pa === undefined) return undefined;
    const b = new Uint8Array(8);
    return this.board.readPhys(pa + STA_STEAL, b) ? new DataView(b.buffer).getBigUint64(0, true) : undefined;
  }

  /** Handles the ecall of hart `index`: reads a7/a6/a0..a5, writes a0/a1 and advances pc. */
  handle(index: number): void {
    const hart = this.board.harts[index]!;
    const eid = Number(hart.x(17)), fid = Number(hart.x(16));
    const a = [0, 1, 2, 3, 4, 5].map((i) => hart.x(10 + i));
    this.calls.set(eid, (this.calls.get(eid) ?? 0) + 1);
    hart.pc += 4n;
    if (eid <= LEGACY_MAX) {
      const v = this.legacy(index, eid, a);
      if (v !== undefined) hart.setX(10, v);
      return;
    }
    const [err, value] = this.call(index, eid, fid, a);
    hart.setX(10, err);
    hart.setX(11, value);
  }

  private legacy(index: number, eid: number, a: bigint[]): bigint | undefined {
    switch (eid) {
      case 0x00: this.setTimer(index, a[0]!); return 0n;
      case 0x01: this.board.consoleWrite(Uint8Array.of(Number(a[0]! & 0xffn))); return 0n;
      case 0x02: return BigInt(this.board.consoleRead());
      case 0x03: this.clearSoftware(index); return 0n;
      case 0x04: case 0x05: case 0x06: case 0x07: {
        // hart_mask is a pointer to an unsigned long in guest memory (legacy extension)
        const buf = new Uint8Array(8);
        const mask = a[0] === 0n ? M64 : this.board.readPhys(Number(a[0]!), buf) ? new DataView(buf.buffer).getBigUint64(0, true) : 0n;
        if (eid === 0x04) this.forHarts(mask, 0n, (h) => this.raiseSoftware(h));
        else this.forHarts(mask, 0n, (h) => this.board.flushTlb(h));
        return 0n;
      }
      case 0x08: this.board.reset('shutdown', 0); return undefined;
      default: return SBI_ERR_NOT_SUPPORTED;
    }
  }

  private call(index: number, eid: number, fid: number, a: bigint[]): [bigint, bigint] {
    switch (eid) {
      case EXT_BASE:
        switch (fid) {
          case 0: return [SBI_SUCCESS, 0x02000000n]; // spec version 2.0
          case 1: return [SBI_SUCCESS, 0x52564953n]; // implementation id: "RVIS" (not a registered id)
          case 2: return [SBI_SUCCESS, 1n];
          case 3: return [SBI_SUCCESS, this.probe(Number(a[0]!)) ? 1n : 0n];
          case 4: case 5: case 6: return [SBI_SUCCESS, 0n]; // mvendorid, marchid, mimpid
          default: return [SBI_ERR_NOT_SUPPORTED, 0n];
        }
      case EXT_TIME:
        if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, 0n];
        this.setTimer(index, a[0]!);
        return [SBI_SUCCESS, 0n];
      case EXT_IPI:
        if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, 0n];
        return this.forHarts(a[0]!, a[1]!, (h) => this.raiseSoftware(h));
      case EXT_RFENCE:
        if (fid > 2) return [SBI_ERR_NOT_SUPPORTED, 0n]; // hypervisor fences: no H extension
        return this.forHarts(a[0]!, a[1]!, (h) => this.board.flushTlb(h));
      case EXT_HSM: return this.hsm(index, fid, a);
      case EXT_SRST: return this.srst(fid, a);
      case EXT_DBCN: return this.dbcn(fid, a);
      case EXT_STA: return this.sta(index, fid, a);
      default: return [SBI_ERR_NOT_SUPPORTED, 0n];
    }
  }

  private probe(eid: number): boolean {
    return [EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN, EXT_STA].includes(eid) || (eid >= 0 && eid <= LEGACY_MAX);
  }

  /** Timer: the VMM runs its harts with Sstc, so the S-mode timer is stimecmp (mip.STIP follows
   *  time >= stimecmp); setting it also clears a pending timer interrupt. */
  private setTimer(index: number, when: bigint): void {
    this.board.harts[index]!.setField(HART_STIMECMP, when);
  }

  private raiseSoftware(h: number): void {
    const hart = this.board.harts[h]!;
    hart.setField(HART_MIP, hart.field(HART_MIP) | SSIP);
  }

  private clearSoftware(h: number): void {
    const hart = this.board.harts[h]!;
    hart.setField(HART_MIP, hart.field(HART_MIP) & ~SSIP);
  }

  /** Applies fn to the harts of an SBI hart mask (mask_base = -1 means every hart). A mask that
   *  names an absent hart is refused before any hart is touched. */
  private forHarts(mask: bigint, base: bigint, fn: (hart: number) => void): [bigint, bigint] {
    const n = this.board.harts.length;
    const targets: number[] = [];
    if (base === M64) {
      for (let h = 0; h < n; h++) targets.push(h);
    } else {
      for (let bit = 0n; bit < 64n; bit++) {
        if (((mask >> bit) & 1n) === 0n) continue;
        const h = base + bit;
        if (h >= BigInt(n)) return [SBI_ERR_INVALID_PARAM, 0n];
        targets.push(Number(h));
      }
    }
    for (const h of targets) fn(h);
    return [SBI_SUCCESS, 0n];
  }

  private hsm(index: number, fid: number, a: bigint[]): [bigint, bigint] {
    const n = this.board.harts.length;
    switch (fid) {
      case 0: { // hart_start
        const h = a[0]!;
        if (h >= BigInt(n)) return [SBI_ERR_INVALID_PARAM, 0n];
        // start_addr must be somewhere the hart can execute: in RAM
        if (a[1]! > BigInt(Number.MAX_SAFE_INTEGER) || !this.board.readPhys(Number(a[1]!), new Uint8Array(2))) return [SBI_ERR_INVALID_ADDRESS, 0n];
        if (this.board.hsmState(Number(h)) !== HSM_STOPPED) return [SBI_ERR_ALREADY_AVAILABLE, 0n];
        this.staShmem[Number(h)] = null; // a started hart begins with its SBI state reset
        this.board.startHart(Number(h), a[1]!, a[2]!);
        return [SBI_SUCCESS, 0n];
      }
      case 1: // hart_stop: a stopped hart is not runnable, so its steal-time memory is left alone
        this.staShmem[index] = null;
        this.board.stopHart(index);
        return [SBI_SUCCESS, 0n];
      case 2: {
        const h = a[0]!;
        if (h >= BigInt(n)) return [SBI_ERR_INVALID_PARAM, 0n];
        return [SBI_SUCCESS, BigInt(this.board.hsmState(Number(h)))];
      }
      case 3: { // hart_suspend: default retentive suspend behaves like WFI
        const type = a[0]!;
        if (type === 0n) {
          this.board.suspendHart(index);
          return [SBI_SUCCESS, 0n];
        }
        // §9.4 table: 0x1-0x0fffffff and 0x80000001-0x8fffffff are reserved; the default
        // non-retentive type and the platform-specific ranges exist but are not implemented.
        const reserved = type > M32 || (type >= 1n && type <= 0x0fffffffn) || (type >= 0x80000001n && type <= 0x8fffffffn);
        return [reserved ? SBI_ERR_INVALID_PARAM : SBI_ERR_NOT_SUPPORTED, 0n];
      }
      default: return [SBI_ERR_NOT_SUPPORTED, 0n];
    }
  }

  /** System reset (chapter 10): reserved types and reasons are refused, vendor ones unsupported. */
  private srst(fid: number, a: bigint[]): [bigint, bigint] {
    if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, 0n];
    const type = a[0]!, reason = a[1]!;
    // types: 0 shutdown, 1 cold reboot, 2 warm reboot, 3-0xefffffff reserved, 0xf0000000+ vendor;
    // reasons: 0 none, 1 system failure, 2-0xdfffffff reserved, 0xe0000000+ SBI/vendor specific
    if (type > M32 || reason > M32 || (type >= 3n && type < 0xf0000000n) || (reason >= 2n && reason < 0xe0000000n)) return [SBI_ERR_INVALID_PARAM, 0n];
    if (type >= 0xf0000000n) return [SBI_ERR_NOT_SUPPORTED, 0n];
    this.board.reset(type === 0n ? 'shutdown' : 'reboot', Number(reason));
    return [SBI_SUCCESS, 0n];
  }

  /** A physical address given as (lo, hi) XLEN halves (§3.2 shared memory ranges): on RV64 a
   *  non-zero hi is above 2^64, so nowhere in RAM. Returns -1 for "not an address we have". */
  private static physAddr(lo: bigint, hi: bigint): number {
    return hi !== 0n || lo > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(lo);
  }

  /** Debug console (chapter 12): guest buffers are checked against RAM. */
  private dbcn(fid: number, a: bigint[]): [bigint, bigint] {
    const len = Number(a[0]! > 0x100000n ? 0x100000n : a[0]!);
    const pa = Sbi.physAddr(a[1]!, a[2]!);
    if ((fid === 0 || fid === 1) && pa < 0) return [SBI_ERR_INVALID_PARAM, 0n];
    switch (fid) {
      case 0: {
        const buf = new Uint8Array(len);
        if (!this.board.readPhys(pa, buf)) return [SBI_ERR_INVALID_PARAM, 0n];
        this.board.consoleWrite(buf);
        return [SBI_SUCCESS, BigInt(len)];
      }
      case 1: {
        const got: number[] = [];
        while (got.length < len) {
          const c = this.board.consoleRead();
          if (c < 0) break;
          got.push(c);
        }
        if (!this.board.writePhys(pa, Uint8Array.from(got))) return [SBI_ERR_INVALID_PARAM, 0n];
        return [SBI_SUCCESS, BigInt(got.length)];
      }
      case 2: this.board.consoleWrite(Uint8Array.of(Number(a[0]! & 0xffn))); return [SBI_SUCCESS, 0n];
      default: return [SBI_ERR_NOT_SUPPORTED, 0n];
    }
  }

  /** Steal-time accounting (chapter 16): FID 0 sbi_steal_time_set_shmem(lo, hi, flags). */
  private sta(index: number, fid: number, a: bigint[]): [bigint, bigint] {
    if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, 0n];
    const [lo, hi, flags] = [a[0]!, a[1]!, a[2]!];
    if (lo === M64 && hi === M64) { // all ones: stop reporting for this hart
      this.staShmem[index] = null;
      return [SBI_SUCCESS, 0n];
    }
    if (flags !== 0n || lo % BigInt(STA_SHMEM_SIZE) !== 0n) return [SBI_ERR_INVALID_PARAM, 0n];
    const pa = Sbi.physAddr(lo, hi);
    // the whole 64 bytes must be guest RAM; zeroing them is the check (all or nothing)
    if (pa < 0 || !this.board.writePhys(pa, new Uint8Array(STA_SHMEM_SIZE))) return [SBI_ERR_INVALID_ADDRESS, 0n];
    this.staShmem[index] = pa;
    return [SBI_SUCCESS, 0n];
  }
}
