// Deterministic mode (issue #8, as QEMU's -icount): the machine takes nothing from the host that
// the guest can see. Its clock is a function of the instructions retired (summed over all harts,
// which run in a fixed interleaving), with virtual time skipped forward when every hart waits;
// the RTC shows a fixed epoch plus that clock; every byte of entropy (virtio-rng, the VM
// generation ID) comes from a PRNG seeded by the configuration, whose state is part of the
// board's saved state. Two runs of the same machine with the same seed and the same console
// input at the same instruction counts retire the same instructions and print the same bytes,
// and a run saved and restored continues exactly as if it had not stopped.
//
// Rates (documented in docs/architecture.md, "Deterministic mode"):
//   mtime = warp + floor(instructions / DET_INSNS_PER_TICK): with the 10 MHz timebase, one
//   instruction is 10 ns of virtual time (a 100 MIPS machine; QEMU's -icount shift=N is 2^N ns).
//   Harts run in quanta that end at every multiple of DET_QUANTUM instructions (board total),
//   so those instants are points of every run's schedule: a run stopped or saved there and
//   continued is indistinguishable from one that was not.
//   RTC wall time = DET_EPOCH_NS + mtime * 100 ns (plus whatever the guest set it to).
// Platform-neutral: no host clock, no host randomness.
import { VirtualClock } from './clock.js';
import type { EntropySource } from '../devices/virtio/rng/rng.js';
import { RvisorError } from '../errors.js';

/** Retired instructions per mtime tick (10 MHz timebase: 10 ns per instruction). */
export const DET_INSNS_PER_TICK = 10n;
/** Harts are switched and every run ends at each multiple of this many instructions (board total). */
export const DET_QUANTUM = 10000;
/** The guest's wall clock at mtime 0: 2025-01-01T00:00:00Z. */
export const DET_EPOCH_NS = 1735689600n * 1000000000n;
const NS_PER_TICK = 100n;
const U64 = (1n << 64n) - 1n;

/** The deterministic-mode setting of a machine (BoardConfig, MachineSpec, snapshot CONF). */
export interface DeterministicConfig {
  /** Seed of the entropy PRNG: an unsigned 64-bit integer, as a decimal string. */
  seed: string;
}

/** Deterministic mode's part of BoardState (plain data). */
export interface DeterministicState {
  seed: string;
  /** The PRNG's state (xoshiro128**: four unsigned 32-bit words). */
  rng: number[];
  /** Virtual ticks skipped while every hart waited (decimal string). */
  warpTicks: string;
  /** The hart whose quantum it is. */
  cursor: number;
}

/** Parses a seed given by a user: decimal or 0x-hex, 0 .. 2^64-1; returns it as a decimal string. */
export function parseSeed(text: string, what = '--seed'): string {
  const t = text.trim();
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) throw new RvisorError('USAGE', `${what} ${text}: expected an unsigned integer (decimal or 0x hex)`);
  const v = BigInt(t);
  if (v > U64) throw new RvisorError('USAGE', `${what} ${text}: at most 2^64-1`);
  return v.toString();
}

/** xoshiro128** 1.0 (Blackman and Vigna), seeded by SplitMix64 from a 64-bit seed. Not
 *  cryptographic: deterministic mode is for reproducing runs, not for secrets. */
export class SeededEntropy {
  private s = new Uint32Array(4);

  constructor(seed: string) {
    let x = BigInt(seed) & U64;
    for (let i = 0; i < 2; i++) {
      x = (x + 0x9e3779b97f4a7c15n) & U64;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & U64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & U64;
      z ^= z >> 31n;
      this.s[2 * i] = Number(z & 0xffffffffn);
      this.s[2 * i + 1] = Number(z >> 32n);
    }
    if (!(this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!)) this.s[0] = 1; // never all zero
  }

  next(): number {
    const s = this.s;
    let s0 = s[0]!, s1 = s[1]!, s2 = s[2]!, s3 = s[3]!;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3; // Uint32Array: stored mod 2^32
    return r;
  }

  /** Fills buf (an EntropySource). */
  readonly fill: EntropySource = (buf) => {
    for (let i = 0; i < buf.length; i += 4) {
      const r = this.next();
      for (let j = 0; j < 4 && i + j < buf.length; j++) buf[i + j] = (r >>> (8 * j)) & 0xff;
    }
  };

  save(): number[] {
    return [...this.s];
  }

  restore(s: number[]): void {
    if (!Array.isArray(s) || s.length !== 4 || !s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) || !s.some((w) => w !== 0)) {
      throw new RvisorError('SNAPSHOT_CORRUPT', 'deterministic mode: the saved PRNG state is malformed');
    }
    this.s.set(s);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The clock of deterministic mode: warp + floor(instructions / DET_INSNS_PER_TICK), where
 *  `instructions` is the board's count of retired instructions (read when asked: during a hart's
 *  run it is the count at the run's start, so time is constant within a run). Pausing means
 *  nothing to it (no instruction retires while the VM is paused), and a saved clock never
 *  catches up with the host. */
export class DeterministicClock extends VirtualClock {
  warp = 0n;

  constructor(hz: number, private readonly instructions: () => bigint) {
    super(hz, () => 0);
  }

  override ticks(): bigint {
    return this.warp + this.instructions() / DET_INSNS_PER_TICK;
  }
  override running(): boolean {
    return true;
  }
  override resume(): void {}
  override pause(): void {}
  override save(): { ticks: string; running: false } {
    return { ticks: this.ticks().toString(), running: false };
  }
  /** The ticks come from the deterministic state (Deterministic.restore), not from the clock's. */
  override restore(): void {}

  /** Instructions still to retire (board total) before the clock reads `ticks`; 0 if it does. */
  instructionsUntil(ticks: bigint): bigint {
    const need = (ticks - this.warp) * DET_INSNS_PER_TICK - this.instructions();
    return need > 0n ? need : 0n;
  }
}

/** A board's deterministic mode: its clock, its entropy, its hart schedule. */
export class Deterministic {
  readonly clock: DeterministicClock;
  readonly entropy: SeededEntropy;
  readonly seed: string;
  /** The hart whose quantum it is (the board's step loop moves it). */
  cursor = 0;

  constructor(seed: string, hz: number, instructions: () => bigint) {
    this.seed = parseSeed(seed, 'deterministic seed');
    this.clock = new DeterministicClock(hz, instructions);
    this.entropy = new SeededEntropy(this.seed);
  }

  /** Guest wall time (the RTC's wallNs): the fixed epoch plus virtual time. */
  readonly wallNs = (): bigint => DET_EPOCH_NS + this.clock.ticks() * NS_PER_TICK;

  /** The mtime tick at which the RTC reads `wallNs` (rounded up). */
  ticksAtWall(wallNs: bigint): bigint {
    const d = wallNs - DET_EPOCH_NS;
    return d <= 0n ? 0n : (d + NS_PER_TICK - 1n) / NS_PER_TICK;
  }

  save(): DeterministicState {
    return { seed: this.seed, rng: this.entropy.save(), warpTicks: this.clock.warp.toString(), cursor: this.cursor };
  }

  restore(s: DeterministicState, harts: number): void {
    if (s?.seed !== this.seed || typeof s.warpTicks !== 'string' || !/^\d+$/.test(s.warpTicks) ||
        !Number.isInteger(s.cursor) || s.cursor < 0 || s.cursor >= harts) {
      throw new RvisorError('SNAPSHOT_CORRUPT', 'deterministic mode: the saved state is malformed');
    }
    this.entropy.restore(s.rng);
    this.clock.warp = BigInt(s.warpTicks);
    this.cursor = s.cursor;
  }
}
