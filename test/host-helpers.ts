// Helpers for tests of the host (`rvisor serve`'s engine): a host on a temporary state dir that is
// always closed, console readers with bounded waits, and tiny bare-metal guests assembled from the
// instruction table (they boot in microseconds, so lifecycle tests need no Linux).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { RvisorError } from '../src/errors.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHost, type Host } from '../src/vmm/host.js';
import type { HostOptions, VmState } from '../src/vmm/types.js';
import { encode as I } from '../src/isa/encode.js';
import { RAM_BASE, UART0_BASE } from '../src/machine/memory-map.js';
import { ConsoleText } from './console-text.js';
import { li32, words, zext } from './asm.js';

/** The RvisorError code a verb fails with (undefined: it succeeded); anything else fails the test. */
export async function errorCode(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof RvisorError, `expected an RvisorError, got ${(e as Error).stack}`);
    return e.code;
  }
  return undefined;
}

export async function withHost<T>(opts: Omit<HostOptions, 'testHooks'>, fn: (host: Host, dir: string) => Promise<T>): Promise<T> {
  const dir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'rvisor-host-'));
  const host = await openHost({ ...opts, stateDir: dir, pcpus: opts.pcpus ?? 2, testHooks: true });
  try {
    return await fn(host, dir);
  } finally {
    await host.close();
    if (!opts.stateDir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits (bounded) until the VM is in `state`; returns whether it got there. */
export async function waitForState(host: Host, name: string, state: VmState, timeoutMs = 30000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (host.info(name).state !== state && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return host.info(name).state === state;
}

/** Reads one VM's console: its scrollback, then what follows. */
export class ConsoleReader {
  private readonly console = new ConsoleText();
  private readonly att;

  constructor(host: Host, readonly name: string) {
    this.att = host.attachConsole(name, (b) => this.console.add(Buffer.from(b).toString('latin1')));
    this.console.add(Buffer.from(this.att.scrollback).toString('latin1'));
  }

  get text(): string {
    return this.console.text;
  }

  /** Waits (at most timeoutMs) until `pattern` appears after the previous match. */
  waitFor(pattern: string, timeoutMs = 120000): Promise<string> {
    return this.console.waitFor(pattern, timeoutMs);
  }

  send(text: string): void {
    this.att.write(Buffer.from(text));
  }

  /** Types a command and returns what it printed (up to a marker the command echoes). */
  async run(cmd: string, timeoutMs = 60000): Promise<string> {
    const tag = Math.random().toString(36).slice(2, 8);
    this.send(`${cmd}; echo "@@${tag}""@@"\n`);
    const out = await this.waitFor(`@@${tag}@@`, timeoutMs);
    const echoed = out.lastIndexOf(`"@@${tag}""@@"`); // the terminal echoes the command line (twice if typed ahead)
    const body = out.slice(out.indexOf('\n', echoed) + 1, out.lastIndexOf(`@@${tag}@@`));
    return body.replace(/\r/g, '').replace(/\n$/, '');
  }

  detach(): void {
    this.att.detach();
  }
}

/** M-mode program that never stops computing (a CPU-bound guest). */
export function spinProgram(): Uint8Array {
  return words([I('addi', { rd: 5, rs1: 5, imm: 1 }), I('jal', { rd: 0, imm: -4 })]);
}

/** M-mode program: prints `msg` on the UART, then waits for interrupts forever (an idle guest). */
export function idleProgram(msg: string): Uint8Array {
  const code: number[] = [];
  li32(code, 6, UART0_BASE);
  for (const ch of Buffer.from(msg)) code.push(I('addi', { rd: 7, rs1: 0, imm: ch }), I('sb', { rs1: 6, rs2: 7, imm: 0 }));
  code.push(I('wfi'), I('jal', { rd: 0, imm: -4 }));
  return words(code);
}

/** Emits a loop over every 4 KiB page of [RAM_BASE + 64 KiB, RAM_BASE + bytes): x10 is the page,
 *  `body` the loop's body (x13 must hold 4096; x11 and x12 are used). */
function eachPage(code: number[], bytes: number, body: () => void): void {
  li32(code, 10, RAM_BASE + 65536); zext(code, 10);
  li32(code, 11, RAM_BASE); zext(code, 11); li32(code, 12, bytes / 4096);
  code.push(I('slli', { rd: 12, rs1: 12, imm: 12 }), I('add', { rd: 11, rs1: 11, rs2: 12 }));
  const loop = code.length;
  body();
  code.push(I('add', { rd: 10, rs1: 10, rs2: 13 }));
  code.push(I('bltu', { rs1: 10, rs2: 11, imm: (loop - code.length) * 4 }));
}

/** Emits: the UART (x6) prints `ch`. */
function putc(code: number[], ch: string): void {
  code.push(I('addi', { rd: 7, rs1: 0, imm: ch.charCodeAt(0) }), I('sb', { rs1: 6, rs2: 7, imm: 0 }));
}

/** Emits a check that every page holds the value in register `want` (one doubleword each); the
 *  returned fix-up points the failing branch at the given instruction index. */
function checkPages(code: number[], bytes: number, want: number): (fail: number) => void {
  let bad = -1;
  eachPage(code, bytes, () => {
    code.push(I('ld', { rd: 14, rs1: 10, imm: 0 }));
    bad = code.length;
    code.push(0); // bne x14, want, fail (patched)
  });
  return (fail) => { code[bad] = I('bne', { rs1: 14, rs2: want, imm: (fail - bad) * 4 }); };
}

/** Emits: print "X" and stop (WFI forever); returns where it starts. */
function failStop(code: number[]): number {
  const at = code.length;
  putc(code, 'X');
  code.push(I('wfi'), I('jal', { rd: 0, imm: -4 }));
  return at;
}

/** M-mode program: writes one doubleword (its own address) into every 4 KiB page of
 *  [RAM_BASE + 64 KiB, RAM_BASE + bytes), prints "W", then forever re-reads every page and prints
 *  "V" after each pass that found every value intact ("X" and stops if one was not). */
export function toucherProgram(bytes: number): Uint8Array {
  const code: number[] = [];
  li32(code, 6, UART0_BASE);
  li32(code, 13, 4096);
  eachPage(code, bytes, () => code.push(I('sd', { rs1: 10, rs2: 10, imm: 0 })));
  putc(code, 'W');
  const verify = code.length;
  const patch = checkPages(code, bytes, 10);
  putc(code, 'V');
  code.push(I('jal', { rd: 0, imm: (verify - code.length) * 4 }));
  patch(failStop(code));
  return words(code);
}

/** M-mode program that dirties memory as fast as it can: sweep k writes k into every 4 KiB page of
 *  [RAM_BASE + 64 KiB, RAM_BASE + bytes), then checks every page holds k ("X" and stops if one
 *  does not), and prints "V" every 64 sweeps. */
export function dirtierProgram(bytes: number): Uint8Array {
  const code: number[] = [];
  li32(code, 6, UART0_BASE);
  li32(code, 13, 4096);
  code.push(I('addi', { rd: 15, rs1: 0, imm: 1 }));
  const sweep = code.length;
  eachPage(code, bytes, () => code.push(I('sd', { rs1: 10, rs2: 15, imm: 0 })));
  const patch = checkPages(code, bytes, 15);
  code.push(I('andi', { rd: 16, rs1: 15, imm: 63 }));
  code.push(I('bne', { rs1: 16, rs2: 0, imm: 12 })); // skip the "V" below
  putc(code, 'V');
  code.push(I('addi', { rd: 15, rs1: 15, imm: 1 }));
  code.push(I('jal', { rd: 0, imm: (sweep - code.length) * 4 }));
  patch(failStop(code));
  return words(code);
}

/** Writes a program to a file in `dir` and returns a definition that boots it as firmware. */
export function bareMetalVm(dir: string, name: string, program: Uint8Array, memory = '32M'): { name: string; memory: string; kernel: null; initrd: null; bios: string } {
  const path = join(dir, `${name}.bin`);
  writeFileSync(path, program);
  return { name, memory, kernel: null, initrd: null, bios: path };
}
