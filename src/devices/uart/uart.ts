// A National Semiconductor / TI PC16550D ("16550A") UART, as QEMU's virt board has at 0x1000_0000
// (compatible "ns16550a"). Register behaviour follows the PC16550D datasheet (TI SNLS378): section
// numbers below refer to its "Registers" chapter (8.6.x in the current TI revision).
//
// Registers (one byte each, reg-shift 0; wider accesses read the byte zero-extended and write its
// low byte, so OpenSBI/Linux with reg-io-width 1 or 4 both work):
//   0  RBR (read) / THR (write)            DLL when LCR.DLAB = 1
//   1  IER                                 DLM when LCR.DLAB = 1
//   2  IIR (read) / FCR (write)
//   3  LCR   4 MCR   5 LSR   6 MSR   7 SCR
//
// Modelling choices (the line is virtual, so time on the wire is not modelled):
// - Transmission is instantaneous: a THR write hands the byte to `onOutput` at once, so THR and the
//   transmitter are always empty (LSR.THRE = LSR.TEMT = 1) and the THRE interrupt re-arms right
//   after each write. Divisor and line settings are stored and read back but do not pace output.
// - The RX character-timeout interrupt (IIR = 0xC) is reported as soon as the FIFO holds fewer bytes
//   than the trigger level (datasheet: after 4 idle character times; with no wire, that wait is
//   zero). At or above the trigger level the "received data available" id (0x4) is reported.
// - Modem inputs when not in loopback: CTS, DSR and DCD asserted, RI not (a null-modem console);
//   in loopback they follow RTS, DTR, OUT1, OUT2 (datasheet, MCR bit 4).
// - OUT2 does not gate the interrupt line (it does on PCs; on the virt board, as in QEMU, it
//   does not).
// - When received data arrives is the host's choice (flow control on a virtual line): the device
//   tells the host whether the guest is reading (`receiving`) and calls `onRxSpace` when that may
//   let more in. The guest is reading when its driver enabled the receive interrupt (IER.ERBFI),
//   or when it polls: POLLING_READS reads of LSR in a row (no other register access between) that
//   find the receiver empty, as a getchar loop does (firmware, bare-metal code, kgdb). Linux's 8250
//   driver never reads LSR more than twice in a row (its transmitter waits end at once here), and
//   it resets the FIFO and discards RBR while opening the port with ERBFI clear: input typed ahead
//   of it therefore waits with the host instead of being lost to that reset.

import type { FdtNodeWriter, IrqLine, MmioDevice, Stateful } from '../device.js';
import { RvisorError } from '../../errors.js';
import type { UartState } from './state.js';

export type { UartState } from './state.js';

/** FIFO depth of the 16550A. */
export const UART_FIFO_SIZE = 16;

// Register offsets.
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

// Bits.
const IER_ERBFI = 0x01; // received data available
const IER_ETBEI = 0x02; // THR empty
const IER_ELSI = 0x04; // receiver line status
const IER_EDSSI = 0x08; // modem status
const IIR_NO_INT = 0x01;
const IIR_RLS = 0x06;
const IIR_RDA = 0x04;
const IIR_TIMEOUT = 0x0c;
const IIR_THRE = 0x02;
const IIR_MS = 0x00;
const IIR_FIFO_ENABLED = 0xc0;
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const FCR_KEEP = 0xc9; // trigger level, DMA mode, enable
const LCR_DLAB = 0x80;
const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_ERRORS = 0x1e; // OE, PE, FE, BI
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const LSR_FIFO_ERR = 0x80;
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
const MSR_DCTS = 0x01;
const MSR_DDSR = 0x02;
const MSR_TERI = 0x04;
const MSR_DDCD = 0x08;
/** RX trigger levels selected by FCR bits 7:6 (datasheet table "FIFO Control Register"). */
const RX_TRIGGER = [1, 4, 8, 14];
/** Consecutive LSR reads finding the receiver empty that make a polling reader (see the header). */
export const POLLING_READS = 4;

export interface UartOptions {
  /** Receives every byte the guest transmits (not called in loopback mode). */
  onOutput(byte: number): void;
  /** The interrupt line (from the PLIC). */
  irq: IrqLine;
  /** Optional: called when the host may push more input: the guest emptied the RX FIFO, or it
   *  started polling the receiver. */
  onRxSpace?(): void;
}

export class Uart16550 implements MmioDevice, Stateful<UartState> {
  private readonly onOutput: (byte: number) => void;
  private readonly irq: IrqLine;
  private readonly onRxSpace: (() => void) | undefined;
  private s: UartState = Uart16550.resetState();

  constructor(opts: UartOptions) {
    this.onOutput = opts.onOutput;
    this.irq = opts.irq;
    this.onRxSpace = opts.onRxSpace;
  }

  /** Power-on values (datasheet: "Reset" column of the register summary). */
  static resetState(): UartState {
    return { ier: 0, lcr: 0, mcr: 0, scr: 0, dll: 0, dlm: 0, fcr: 0, lsrErrors: 0, msrDelta: 0, rx: [], thrPending: false, irqLevel: false, rxPolls: 0 };
  }

  /** Back to power-on state (a board reset); drives the IRQ line low. */
  reset(): void {
    this.s = Uart16550.resetState();
    this.irq.set(false);
  }

  // ---- host side ----

  private get fifoEnabled(): boolean {
    return (this.s.fcr & FCR_ENABLE) !== 0;
  }

  private get rxCapacity(): number {
    return this.fifoEnabled ? UART_FIFO_SIZE : 1;
  }

  /** Whether the guest reads received data: its driver enabled the receive interrupt (IER.ERBFI),
   *  or it polls LSR for it (POLLING_READS empty reads in a row). Hosts hold input until then:
   *  input typed ahead of a driver would be lost to the FIFO reset the driver starts with. */
  get receiving(): boolean {
    return (this.s.ier & IER_ERBFI) !== 0 || this.s.rxPolls >= POLLING_READS;
  }

  /** How many bytes pushInput() accepts now (16 minus the FIFO level; 1 or 0 without FIFO). */
  get rxSpace(): number {
    return Math.max(0, this.rxCapacity - this.s.rx.length);
  }

  /** Host input (keyboard, socket): queues up to rxSpace bytes and returns how many were taken.
   *  The rest stays with the caller (flow control: nothing is dropped here). Ignored (returns 0)
   *  in loopback mode, where the receiver listens to the transmitter only. */
  pushInput(bytes: ArrayLike<number>): number {
    if (this.s.mcr & MCR_LOOP) return 0;
    const n = Math.min(bytes.length, this.rxSpace);
    for (let i = 0; i < n; i++) this.s.rx.push(bytes[i]! & 0xff);
    if (n > 0) this.update();
    return n;
  }

  /** Current baud rate divisor (0 until the guest programs it). */
  get divisor(): number {
    return (this.s.dlm << 8) | this.s.dll;
  }

  // ---- guest side ----

  read(offset: number, size: number): number {
    if (!validAccess(offset, size)) return 0;
    const s = this.s;
    if (offset === LSR && s.rx.length === 0) {
      // The receiver is polled: a reader waiting for data (see `receiving`) may get it at once.
      if (s.rxPolls < POLLING_READS && ++s.rxPolls === POLLING_READS && !(s.ier & IER_ERBFI)) this.onRxSpace?.();
    } else {
      s.rxPolls = 0;
    }
    switch (offset) {
      case RBR_THR_DLL: {
        if (s.lcr & LCR_DLAB) return s.dll;
        const byte = s.rx.shift();
        if (byte === undefined) return 0;
        this.update();
        if (s.rx.length === 0) this.onRxSpace?.();
        return byte;
      }
      case IER_DLM:
        return s.lcr & LCR_DLAB ? s.dlm : s.ier;
      case IIR_FCR: {
        const iir = this.iir();
        // Reading IIR while it reports THRE clears that interrupt (datasheet, IIR table, "Reset").
        if ((iir & 0x0f) === IIR_THRE) {
          s.thrPending = false;
          this.update();
        }
        return iir;
      }
      case LCR:
        return s.lcr;
      case MCR:
        return s.mcr;
      case LSR: {
        const lsr = this.lsr();
        if (s.lsrErrors) {
          s.lsrErrors = 0; // reading LSR clears OE, PE, FE, BI and the FIFO error bit
          this.update();
        }
        return lsr;
      }
      case MSR: {
        const msr = this.modemInputs() | s.msrDelta;
        if (s.msrDelta) {
          s.msrDelta = 0;
          this.update();
        }
        return msr;
      }
      case SCR:
        return s.scr;
      default:
        return 0;
    }
  }

  write(offset: number, value: number, size: number): void {
    if (!validAccess(offset, size)) return;
    const s = this.s;
    const v = value & 0xff;
    s.rxPolls = 0;
    switch (offset) {
      case RBR_THR_DLL:
        if (s.lcr & LCR_DLAB) {
          s.dll = v;
          return;
        }
        if (s.mcr & MCR_LOOP) this.receive(v);
        else this.onOutput(v);
        // The byte left at once: THR is empty again, so the THRE interrupt re-arms (if enabled).
        s.thrPending = (s.ier & IER_ETBEI) !== 0;
        this.update();
        return;
      case IER_DLM: {
        if (s.lcr & LCR_DLAB) {
          s.dlm = v;
          return;
        }
        const old = s.ier;
        s.ier = v & 0x0f;
        // Enabling ETBEI while THR is empty raises THRE at once; disabling it drops the request.
        // (Linux's 8250 driver probes exactly this: UART_BUG_THRE / UART_BUG_TXEN.)
        if (s.ier & IER_ETBEI) {
          if (!(old & IER_ETBEI)) s.thrPending = true;
        } else {
          s.thrPending = false;
        }
        this.update();
        return;
      }
      case IIR_FCR:
        this.writeFcr(v);
        return;
      case LCR:
        s.lcr = v;
        return;
      case MCR: {
        const before = this.modemInputs();
        s.mcr = v & 0x1f;
        this.modemInputsChanged(before);
        this.update();
        return;
      }
      case SCR:
        s.scr = v;
        return;
      default:
        return; // LSR and MSR writes (factory test) and unimplemented offsets are ignored
    }
  }

  // ---- state ----

  save(): UartState {
    const s = this.s;
    return { ...s, rx: [...s.rx] };
  }

  /** Restores a saved state and re-drives the IRQ line with the level that state implies
   *  (idempotent for a level-triggered PLIC restored from the same snapshot). */
  restore(state: UartState): void {
    const polls = (state as Partial<UartState> | null)?.rxPolls;
    const ok =
      state !== null && typeof state === 'object' && Array.isArray(state.rx) && state.rx.length <= UART_FIFO_SIZE &&
      [state.ier, state.lcr, state.mcr, state.scr, state.dll, state.dlm, state.fcr, state.lsrErrors, state.msrDelta].every(isByte) &&
      state.rx.every(isByte) && typeof state.thrPending === 'boolean' && typeof state.irqLevel === 'boolean' &&
      (polls === undefined || (Number.isInteger(polls) && polls >= 0 && polls <= POLLING_READS));
    if (!ok) throw new RvisorError('INTERNAL', 'uart: saved state is malformed');
    // (a state saved before rxPolls existed restores as "not polled")
    this.s = { ...state, rx: [...state.rx], rxPolls: polls ?? 0 };
    this.irq.set(this.s.irqLevel);
    this.update();
  }

  // ---- internals ----

  private receive(byte: number): void {
    const s = this.s;
    if (s.rx.length >= this.rxCapacity) {
      // Overrun: FIFO mode keeps the FIFO and loses the new character; 16450 mode overwrites the
      // holding register. Either way OE is flagged (datasheet, LSR bit 1).
      if (!this.fifoEnabled) s.rx[0] = byte;
      s.lsrErrors |= LSR_OE;
      return;
    }
    s.rx.push(byte);
  }

  private writeFcr(v: number): void {
    const s = this.s;
    const wasEnabled = this.fifoEnabled;
    if (!(v & FCR_ENABLE)) {
      // FIFOs off (16450 mode). "Resetting FCR0 will clear all bytes in both FIFOs."
      if (wasEnabled) this.clearRx();
      s.fcr = 0;
      this.update();
      return;
    }
    s.fcr = v & FCR_KEEP;
    if (!wasEnabled || v & FCR_CLEAR_RX) this.clearRx();
    // FCR bit 2 (clear TX FIFO) has nothing to do: the transmit FIFO is always empty here.
    this.update();
  }

  private clearRx(): void {
    const had = this.s.rx.length > 0;
    this.s.rx = [];
    if (had) this.onRxSpace?.();
  }

  private lsr(): number {
    const s = this.s;
    let lsr = LSR_THRE | LSR_TEMT | s.lsrErrors;
    if (s.rx.length > 0) lsr |= LSR_DR;
    if (this.fifoEnabled && s.lsrErrors & (LSR_ERRORS & ~LSR_OE)) lsr |= LSR_FIFO_ERR;
    return lsr;
  }

  /** The modem input lines (MSR bits 7:4). */
  private modemInputs(): number {
    const mcr = this.s.mcr;
    if (!(mcr & MCR_LOOP)) return MSR_CTS | MSR_DSR | MSR_DCD;
    return (mcr & MCR_RTS ? MSR_CTS : 0) | (mcr & MCR_DTR ? MSR_DSR : 0) | (mcr & MCR_OUT1 ? MSR_RI : 0) | (mcr & MCR_OUT2 ? MSR_DCD : 0);
  }

  private modemInputsChanged(before: number): void {
    const after = this.modemInputs();
    const diff = before ^ after;
    let d = 0;
    if (diff & MSR_CTS) d |= MSR_DCTS;
    if (diff & MSR_DSR) d |= MSR_DDSR;
    if (diff & MSR_DCD) d |= MSR_DDCD;
    if (before & MSR_RI && !(after & MSR_RI)) d |= MSR_TERI; // trailing edge of RI
    this.s.msrDelta |= d;
  }

  /** IIR value: the highest-priority pending interrupt (datasheet, IIR priority table). */
  private iir(): number {
    const s = this.s;
    const fifoBits = this.fifoEnabled ? IIR_FIFO_ENABLED : 0;
    if (s.ier & IER_ELSI && s.lsrErrors) return fifoBits | IIR_RLS;
    if (s.ier & IER_ERBFI && s.rx.length > 0) {
      if (!this.fifoEnabled) return fifoBits | IIR_RDA;
      return fifoBits | (s.rx.length >= RX_TRIGGER[s.fcr >> 6]! ? IIR_RDA : IIR_TIMEOUT);
    }
    if (s.ier & IER_ETBEI && s.thrPending) return fifoBits | IIR_THRE;
    if (s.ier & IER_EDSSI && s.msrDelta) return fifoBits | IIR_MS;
    return fifoBits | IIR_NO_INT;
  }

  private update(): void {
    const level = (this.iir() & IIR_NO_INT) === 0;
    if (level !== this.s.irqLevel) {
      this.s.irqLevel = level;
      this.irq.set(level);
    }
  }
}

function validAccess(offset: number, size: number): boolean {
  return (size === 1 || size === 2 || size === 4) && Number.isInteger(offset) && offset >= 0 && offset <= SCR && offset % size === 0;
}

function isByte(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff;
}

export interface UartFdtOptions {
  base: number;
  size: number;
  irq: number;
  clockHz: number;
}

/** The UART's device-tree node under /soc (as QEMU virt writes it):
 *  serial@<base> { compatible = "ns16550a"; reg; clock-frequency; interrupts; interrupt-parent }.
 *  ctx.irqParent is the phandle of the interrupt controller (the PLIC). */
export function uartFdtNode(opts: UartFdtOptions): { fdtNode(w: FdtNodeWriter, ctx: { readonly irqParent: number }): void } {
  return {
    fdtNode(w, ctx) {
      w.beginNode(`serial@${opts.base.toString(16)}`);
      w.propString('compatible', 'ns16550a');
      w.propU64('reg', BigInt(opts.base), BigInt(opts.size));
      w.propU32('clock-frequency', opts.clockHz);
      w.propU32('interrupts', opts.irq);
      w.propU32('interrupt-parent', ctx.irqParent);
      w.endNode();
    },
  };
}
