// The goldfish real-time clock (compatible "google,goldfish-rtc"), per Android's
// GOLDFISH-VIRTUAL-HARDWARE.TXT ("goldfish_rtc"), as QEMU's virt board has at 0x10_1000, IRQ 11.
// Linux 6.1 drives it with drivers/rtc/rtc-goldfish.c.
//
//   0x00 TIME_LOW         R: current time in ns since the epoch, low 32 bits; latches TIME_HIGH
//                         W: sets the low 32 bits of the current time (set_time)
//   0x04 TIME_HIGH        R: high 32 bits of the time latched by the last TIME_LOW read
//                         W: sets the high 32 bits of the current time
//   0x08 ALARM_LOW        W: low 32 bits of the alarm, then arms it     R: low 32 bits of the alarm
//   0x0c ALARM_HIGH       W: high 32 bits of the alarm                  R: high 32 bits
//   0x10 IRQ_ENABLED      RW: bit 0 enables the alarm interrupt
//   0x14 CLEAR_ALARM      W: disarms the alarm
//   0x18 ALARM_STATUS     R: 1 while an alarm is armed and has not fired
//   0x1c CLEAR_INTERRUPT  W: lowers the interrupt
// All registers are 32-bit; other sizes, unaligned or unknown offsets read 0 and ignore writes.
//
// Time: the device never reads a clock. Guest time is wallNs() + an offset, where wallNs() is given
// at construction (the VMM passes host time plus the VM's own offset; a test passes a counter).
// The alarm fires when guest time reaches it: at once when armed in the past, else on the first
// poll() at or after it (the machine calls poll() when nextAlarm() says so). The interrupt line is
// high while a fired alarm is uncleared and IRQ_ENABLED is set.

import type { FdtNodeWriter, IrqLine, MmioDevice, Stateful } from '../device.js';
import { RvisorError } from '../../errors.js';
import type { GoldfishRtcState } from './state.js';

export type { GoldfishRtcState } from './state.js';

const TIME_LOW = 0x00;
const TIME_HIGH = 0x04;
const ALARM_LOW = 0x08;
const ALARM_HIGH = 0x0c;
const IRQ_ENABLED = 0x10;
const CLEAR_ALARM = 0x14;
const ALARM_STATUS = 0x18;
const CLEAR_INTERRUPT = 0x1c;
const U64 = (1n << 64n) - 1n;
const LOW = 0xffffffffn;

export interface GoldfishRtcOptions {
  /** Wall-clock time in ns since the Unix epoch, as the VMM wants the guest to see it. */
  wallNs(): bigint;
  /** The interrupt line (from the PLIC). */
  irq: IrqLine;
}

export class GoldfishRtc implements MmioDevice, Stateful<GoldfishRtcState> {
  private readonly wallNs: () => bigint;
  private readonly irq: IrqLine;
  private offset = 0n;
  private timeHigh = 0;
  private alarm = 0n;
  private alarmRunning = false;
  private irqPending = false;
  private irqEnabled = false;
  private irqLevel = false;

  constructor(opts: GoldfishRtcOptions) {
    this.wallNs = opts.wallNs;
    this.irq = opts.irq;
  }

  /** The time the guest reads now (ns since the epoch, unsigned 64-bit). */
  guestNs(): bigint {
    return (this.wallNs() + this.offset) & U64;
  }

  /** The wallNs() value at which the armed alarm fires (possibly already past), or undefined when
   *  no alarm is armed. */
  nextAlarm(): bigint | undefined {
    return this.alarmRunning ? this.alarm - this.offset : undefined;
  }

  /** Fires the alarm if guest time has reached it. */
  poll(): void {
    if (this.alarmRunning && this.guestNs() >= this.alarm) this.fire();
  }

  read(offset: number, size: number): number {
    if (size !== 4 || !Number.isInteger(offset) || offset < 0 || offset & 3) return 0;
    switch (offset) {
      case TIME_LOW: {
        const t = this.guestNs();
        this.timeHigh = Number(t >> 32n);
        return Number(t & LOW);
      }
      case TIME_HIGH:
        return this.timeHigh;
      case ALARM_LOW:
        return Number(this.alarm & LOW);
      case ALARM_HIGH:
        return Number(this.alarm >> 32n);
      case IRQ_ENABLED:
        return this.irqEnabled ? 1 : 0;
      case ALARM_STATUS:
        return this.alarmRunning ? 1 : 0;
      default:
        return 0;
    }
  }

  write(offset: number, value: number, size: number): void {
    if (size !== 4 || !Number.isInteger(offset) || offset < 0 || offset & 3) return;
    const v = BigInt(value >>> 0);
    switch (offset) {
      case TIME_LOW:
      case TIME_HIGH: {
        const wall = this.wallNs();
        const cur = (wall + this.offset) & U64;
        const next = offset === TIME_LOW ? (cur & ~LOW) | v : (cur & LOW) | (v << 32n);
        this.offset = BigInt.asIntN(64, next - wall);
        // Moving the clock may make an armed alarm due.
        this.poll();
        return;
      }
      case ALARM_LOW:
        this.alarm = (this.alarm & ~LOW & U64) | v;
        this.alarmRunning = true;
        this.poll();
        return;
      case ALARM_HIGH:
        this.alarm = (this.alarm & LOW) | (v << 32n);
        return;
      case IRQ_ENABLED:
        this.irqEnabled = (value & 1) === 1;
        this.updateIrq();
        return;
      case CLEAR_ALARM:
        this.alarmRunning = false;
        return;
      case CLEAR_INTERRUPT:
        this.irqPending = false;
        this.updateIrq();
        return;
      default:
        return;
    }
  }

  save(): GoldfishRtcState {
    return {
      offsetNs: this.offset.toString(),
      timeHigh: this.timeHigh,
      alarmNs: this.alarm.toString(),
      alarmRunning: this.alarmRunning,
      irqPending: this.irqPending,
      irqEnabled: this.irqEnabled,
    };
  }

  /** Restores a saved state and re-drives the IRQ line with the level it implies. An alarm that
   *  came due while the VM was saved fires on the next poll(). */
  restore(state: GoldfishRtcState): void {
    const ok =
      state !== null && typeof state === 'object' &&
      typeof state.offsetNs === 'string' && /^-?(0|[1-9][0-9]*)$/.test(state.offsetNs) &&
      BigInt.asIntN(64, BigInt(state.offsetNs)) === BigInt(state.offsetNs) &&
      typeof state.alarmNs === 'string' && /^(0|[1-9][0-9]*)$/.test(state.alarmNs) && BigInt(state.alarmNs) <= U64 &&
      Number.isInteger(state.timeHigh) && state.timeHigh >= 0 && state.timeHigh <= 0xffffffff &&
      typeof state.alarmRunning === 'boolean' && typeof state.irqPending === 'boolean' && typeof state.irqEnabled === 'boolean';
    if (!ok) throw new RvisorError('INTERNAL', 'rtc: saved state is malformed');
    this.offset = BigInt(state.offsetNs);
    this.timeHigh = state.timeHigh;
    this.alarm = BigInt(state.alarmNs);
    this.alarmRunning = state.alarmRunning;
    this.irqPending = state.irqPending;
    this.irqEnabled = state.irqEnabled;
    this.irqLevel = this.irqPending && this.irqEnabled;
    this.irq.set(this.irqLevel);
  }

  private fire(): void {
    this.alarmRunning = false;
    this.irqPending = true;
    this.updateIrq();
  }

  private updateIrq(): void {
    const level = this.irqPending && this.irqEnabled;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }
}

export interface GoldfishRtcFdtOptions {
  base: number;
  size: number;
  irq: number;
}

/** The RTC's device-tree node under /soc (as QEMU virt writes it). */
export function goldfishRtcFdtNode(opts: GoldfishRtcFdtOptions): { fdtNode(w: FdtNodeWriter, ctx: { readonly irqParent: number }): void } {
  return {
    fdtNode(w, ctx) {
      w.beginNode(`rtc@${opts.base.toString(16)}`);
      w.propU32('interrupts', opts.irq);
      w.propU32('interrupt-parent', ctx.irqParent);
      w.propU64('reg', BigInt(opts.base), BigInt(opts.size));
      w.propString('compatible', 'google,goldfish-rtc');
      w.endNode();
    },
  };
}
