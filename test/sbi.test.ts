// The SBI implemented by the VMM is the hypercall surface of a guest kernel: every call, including
// hostile ones (addresses outside RAM, harts that do not exist, reserved types), gets an SBI error
// code and changes nothing it should not (SBI spec 2.0, chapters 3-16).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostMemory } from '../src/memory/host-memory.js';
import { Core } from '../src/cpu/core.js';
import type { Hart } from '../src/cpu/hart.js';
import { HART_STIMECMP, HART_MIP } from '../src/cpu/layout.js';
import {
  Sbi, type SbiBoard, EXT_BASE, EXT_TIME, EXT_IPI, EXT_HSM, EXT_SRST, EXT_DBCN, EXT_RFENCE, EXT_STA, HSM_STARTED, HSM_STOPPED,
  SBI_SUCCESS, SBI_ERR_NOT_SUPPORTED, SBI_ERR_INVALID_PARAM, SBI_ERR_ALREADY_AVAILABLE, SBI_ERR_INVALID_ADDRESS,
} from '../src/machine/sbi.js';

const RAM_BASE = 0x8000_0000, RAM_SIZE = 1 << 20;

function fixture(n = 2) {
  const core = new Core(new HostMemory());
  const harts: Hart[] = Array.from({ length: n }, () => core.newHart());
  const ram = new Uint8Array(RAM_SIZE);
  const state = harts.map((_, i) => (i === 0 ? HSM_STARTED : HSM_STOPPED));
  const log = {
    out: [] as number[], input: [0x41, 0x42], resets: [] as string[], flushed: [] as number[], started: [] as bigint[],
    /** Every guest-memory write: address and bytes, and the STA sequence word at that moment. */
    writes: [] as { pa: number; bytes: number[] }[],
  };
  const inRam = (pa: number, len: number) => pa >= RAM_BASE && pa + len <= RAM_BASE + RAM_SIZE;
  const board: SbiBoard = {
    harts,
    hsmState: (h) => state[h]!,
    startHart: (h, addr) => { state[h] = HSM_STARTED; log.started.push(addr); },
    stopHart: (h) => { state[h] = HSM_STOPPED; },
    suspendHart: () => {},
    consoleWrite: (b) => log.out.push(...b),
    consoleRead: () => log.input.shift() ?? -1,
    readPhys: (pa, dst) => { if (!inRam(pa, dst.length)) return false; dst.set(ram.subarray(pa - RAM_BASE, pa - RAM_BASE + dst.length)); return true; },
    writePhys: (pa, src) => { if (!inRam(pa, src.length)) return false; log.writes.push({ pa, bytes: [...src] }); ram.set(src, pa - RAM_BASE); return true; },
    flushTlb: (h) => log.flushed.push(h),
    reset: (kind) => log.resets.push(kind),
  };
  const sbi = new Sbi(board);
  const callOn = (hart: number, eid: number, fid: number, ...args: bigint[]): [bigint, bigint] => {
    const h = harts[hart]!;
    h.setX(17, BigInt(eid));
    h.setX(16, BigInt(fid));
    args.forEach((v, i) => h.setX(10 + i, v));
    const pc = h.pc;
    sbi.handle(hart);
    assert.equal(h.pc, pc + 4n, 'the ecall is stepped over');
    return [h.xs(10), h.x(11)];
  };
  const call = (eid: number, fid: number, ...args: bigint[]) => callOn(0, eid, fid, ...args);
  return { harts, ram, state, log, call, callOn, sbi, board };
}

test('base extension: version, probe, unknown extensions', () => {
  const { call } = fixture();
  assert.deepEqual(call(EXT_BASE, 0), [SBI_SUCCESS, 0x02000000n]);
  for (const eid of [EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN, EXT_STA]) assert.deepEqual(call(EXT_BASE, 3, BigInt(eid)), [SBI_SUCCESS, 1n]);
  assert.deepEqual(call(EXT_BASE, 3, 0x12345678n), [SBI_SUCCESS, 0n]);
  assert.equal(call(0x0a000000, 0)[0], SBI_ERR_NOT_SUPPORTED);
  assert.equal(call(EXT_BASE, 99)[0], SBI_ERR_NOT_SUPPORTED);
});

test('timer and IPIs; hart masks naming absent harts are refused', () => {
  const { call, harts, log } = fixture(2);
  assert.deepEqual(call(EXT_TIME, 0, 123456n), [SBI_SUCCESS, 0n]);
  assert.equal(harts[0]!.field(HART_STIMECMP), 123456n);
  assert.deepEqual(call(EXT_IPI, 0, 0b10n, 0n), [SBI_SUCCESS, 0n]);
  assert.equal(harts[1]!.field(HART_MIP) & 2n, 2n, 'SSIP raised on hart 1');
  assert.equal(harts[0]!.field(HART_MIP) & 2n, 0n);
  harts[1]!.setField(HART_MIP, 0n);
  assert.equal(call(EXT_IPI, 0, 0b110n, 0n)[0], SBI_ERR_INVALID_PARAM);
  assert.equal(harts[1]!.field(HART_MIP) & 2n, 0n, 'a mask naming an absent hart reaches no hart');
  assert.equal(call(EXT_IPI, 0, 1n, 1000n)[0], SBI_ERR_INVALID_PARAM);
  assert.deepEqual(call(EXT_RFENCE, 1, 0n, (1n << 64n) - 1n, 0n, 0n), [SBI_SUCCESS, 0n]);
  assert.deepEqual(log.flushed, [0, 1], 'mask_base = -1 means every hart');
});

test('HSM: start, status, double start, absent harts, start addresses outside RAM, suspend types', () => {
  const { call, log, state } = fixture(2);
  assert.deepEqual(call(EXT_HSM, 2, 1n), [SBI_SUCCESS, BigInt(HSM_STOPPED)]);
  for (const bad of [0x1000n, BigInt(RAM_BASE + RAM_SIZE), 1n << 60n]) {
    assert.equal(call(EXT_HSM, 0, 1n, bad, 7n)[0], SBI_ERR_INVALID_ADDRESS, `start at 0x${bad.toString(16)}`);
  }
  assert.equal(state[1], HSM_STOPPED, 'refused starts left the hart stopped');
  assert.deepEqual(call(EXT_HSM, 0, 1n, 0x80020000n, 7n), [SBI_SUCCESS, 0n]);
  assert.deepEqual(log.started, [0x80020000n]);
  assert.equal(call(EXT_HSM, 0, 1n, 0x80020000n, 7n)[0], SBI_ERR_ALREADY_AVAILABLE);
  assert.equal(call(EXT_HSM, 0, 9n, 0x80020000n, 7n)[0], SBI_ERR_INVALID_PARAM);
  assert.equal(call(EXT_HSM, 2, 1n << 40n)[0], SBI_ERR_INVALID_PARAM);
  // hart_suspend: reserved types are invalid, existing but unimplemented ones unsupported
  for (const t of [1n, 0x0fffffffn, 0x80000001n, 0x8fffffffn, 1n << 32n]) assert.equal(call(EXT_HSM, 3, t, 0n, 0n)[0], SBI_ERR_INVALID_PARAM);
  for (const t of [0x80000000n, 0x10000000n, 0x90000000n]) assert.equal(call(EXT_HSM, 3, t, 0n, 0n)[0], SBI_ERR_NOT_SUPPORTED);
  assert.deepEqual(call(EXT_HSM, 3, 0n, 0n, 0n), [SBI_SUCCESS, 0n]);
});

test('debug console: buffers outside RAM fail without side effects', () => {
  const { call, ram, log } = fixture();
  ram.set(new TextEncoder().encode('hi!'), 0x100);
  assert.deepEqual(call(EXT_DBCN, 0, 3n, BigInt(RAM_BASE + 0x100), 0n), [SBI_SUCCESS, 3n]);
  assert.equal(String.fromCharCode(...log.out), 'hi!');
  assert.equal(call(EXT_DBCN, 0, 16n, BigInt(RAM_BASE + RAM_SIZE - 8), 0n)[0], SBI_ERR_INVALID_PARAM, 'runs past the end of RAM');
  assert.equal(call(EXT_DBCN, 0, 4n, 0x1000n, 0n)[0], SBI_ERR_INVALID_PARAM, 'below RAM');
  assert.equal(call(EXT_DBCN, 0, 4n, 0n, 1n)[0], SBI_ERR_INVALID_PARAM, 'high half of the address');
  assert.equal(call(EXT_DBCN, 0, 3n, BigInt(RAM_BASE + 0x100), 1n)[0], SBI_ERR_INVALID_PARAM, 'RV64: a non-zero high half is above 2^64, even with the low half in RAM');
  assert.equal(log.out.length, 3, 'nothing more was printed');
  assert.deepEqual(call(EXT_DBCN, 1, 4n, BigInt(RAM_BASE + 0x200), 0n), [SBI_SUCCESS, 2n]);
  assert.deepEqual([...ram.subarray(0x200, 0x202)], [0x41, 0x42]);
  assert.equal(call(EXT_DBCN, 1, 4n, BigInt(RAM_BASE - 2), 0n)[0], SBI_ERR_INVALID_PARAM);
  assert.deepEqual(call(EXT_DBCN, 2, 0x21n), [SBI_SUCCESS, 0n]);
});

test('system reset: shutdown, reboot; reserved types and reasons refused', () => {
  const { call, log } = fixture();
  assert.equal(call(EXT_SRST, 0, 7n, 0n)[0], SBI_ERR_INVALID_PARAM);
  assert.equal(call(EXT_SRST, 0, 0n, 2n)[0], SBI_ERR_INVALID_PARAM, 'reserved reason');
  assert.equal(call(EXT_SRST, 0, 1n << 32n, 0n)[0], SBI_ERR_INVALID_PARAM);
  assert.equal(call(EXT_SRST, 0, 0xf0000000n, 0n)[0], SBI_ERR_NOT_SUPPORTED, 'vendor type');
  assert.deepEqual(log.resets, []);
  call(EXT_SRST, 0, 1n, 0n);
  call(EXT_SRST, 0, 0n, 0n);
  assert.deepEqual(log.resets, ['reboot', 'shutdown']);
});

test('legacy calls: putchar, getchar, an IPI mask pointer outside RAM', () => {
  const { call, log, harts } = fixture(2);
  call(0x01, 0, 0x5an);
  assert.equal(log.out.at(-1), 0x5a);
  assert.equal(call(0x02, 0)[0], 0x41n);
  call(0x04, 0, 0x10n); // mask pointer outside RAM: read as an empty mask
  assert.equal(harts[1]!.field(HART_MIP) & 2n, 0n);
});

const M64 = (1n << 64n) - 1n;

test('steal-time accounting: shared memory set, zeroed, updated with the sequence protocol, turned off', () => {
  const { call, callOn, ram, log, sbi } = fixture(2);
  const dv = new DataView(ram.buffer);
  const SHM = 0x4000, SHM1 = 0x4040;
  const seq = (off: number) => dv.getUint32(off, true);
  const steal = (off: number) => dv.getBigUint64(off + 8, true);
  ram.fill(0xaa, SHM, SHM + 128);
  assert.equal(sbi.addSteal(0, 1000n), false, 'no shared memory registered yet');
  assert.equal(log.writes.length, 0);

  assert.deepEqual(call(EXT_STA, 0, BigInt(RAM_BASE + SHM), 0n, 0n), [SBI_SUCCESS, 0n]);
  assert.deepEqual([...ram.subarray(SHM, SHM + 64)], new Array(64).fill(0), 'the SBI zeroes the 64 bytes');
  assert.equal(ram[SHM + 64], 0xaa, 'and nothing past them');
  log.writes.length = 0;

  assert.equal(sbi.addSteal(0, 1500n), true);
  assert.equal(seq(SHM), 2);
  assert.equal(steal(SHM), 1500n);
  // while steal was written, the sequence in guest memory was odd
  assert.deepEqual(log.writes.map((w) => [w.pa - RAM_BASE, w.bytes.length]), [[SHM, 4], [SHM + 8, 8], [SHM, 4]]);
  assert.equal(log.writes[0]!.bytes[0]! & 1, 1);
  assert.equal(log.writes[2]!.bytes[0]! & 1, 0);
  sbi.addSteal(0, 2500n);
  assert.equal(seq(SHM), 4);
  assert.equal(steal(SHM), 4000n);
  assert.equal(sbi.stealOf(0), 4000n);

  // a guest that scribbles an odd sequence still sees odd-then-even around the update
  dv.setUint32(SHM, 7, true);
  sbi.addSteal(0, 1n);
  assert.equal(seq(SHM), 8);
  // the counter wraps at 2^64 as a u64 does
  dv.setBigUint64(SHM + 8, M64, true);
  sbi.addSteal(0, 2n);
  assert.equal(steal(SHM), 1n);

  // each hart has its own area; hart 1 has none until it registers one
  assert.equal(sbi.addSteal(1, 5n), false);
  assert.deepEqual(callOn(1, EXT_STA, 0, BigInt(RAM_BASE + SHM1), 0n, 0n), [SBI_SUCCESS, 0n]);
  sbi.addSteal(1, 5n);
  assert.equal(steal(SHM1), 5n);
  assert.equal(steal(SHM), 1n);

  // save/restore carries the registrations
  const state = JSON.parse(JSON.stringify(sbi.save()));
  assert.deepEqual(state, { staShmem: [RAM_BASE + SHM, RAM_BASE + SHM1] });
  const again = fixture(2);
  again.ram.set(ram);
  again.sbi.restore(state);
  again.sbi.addSteal(1, 10n);
  assert.equal(new DataView(again.ram.buffer).getBigUint64(SHM1 + 8, true), 15n);

  // all-ones turns reporting off: later steal is not written
  assert.deepEqual(call(EXT_STA, 0, M64, M64, 0n), [SBI_SUCCESS, 0n]);
  const before = ram.slice(SHM, SHM + 64);
  assert.equal(sbi.addSteal(0, 99n), false);
  assert.deepEqual(ram.subarray(SHM, SHM + 64), before);
});

test('steal-time accounting: hostile arguments fail with SBI errors and touch nothing', () => {
  const { call, ram, log, sbi } = fixture(2);
  ram.fill(0x55);
  const cases: [bigint, bigint, bigint, bigint, string][] = [
    [BigInt(RAM_BASE + 0x4008), 0n, 0n, SBI_ERR_INVALID_PARAM, 'not 64-byte aligned'],
    [BigInt(RAM_BASE + 0x4000), 0n, 1n, SBI_ERR_INVALID_PARAM, 'flags not zero'],
    [M64, 0n, 0n, SBI_ERR_INVALID_PARAM, 'lo all ones but hi not: an unaligned address'],
    [0x1000n, 0n, 0n, SBI_ERR_INVALID_ADDRESS, 'below RAM'],
    [BigInt(RAM_BASE + RAM_SIZE), 0n, 0n, SBI_ERR_INVALID_ADDRESS, 'just past RAM'],
    [BigInt(RAM_BASE + 0x4000), 1n, 0n, SBI_ERR_INVALID_ADDRESS, 'high half set (above 2^64 on RV64)'],
    [1n << 62n, 0n, 0n, SBI_ERR_INVALID_ADDRESS, 'far above RAM'],
    [BigInt(0x10001000), 0n, 0n, SBI_ERR_INVALID_ADDRESS, 'a device, not RAM'],
  ];
  for (const [lo, hi, flags, err, what] of cases) assert.deepEqual(call(EXT_STA, 0, lo, hi, flags), [err, 0n], what);
  assert.equal(call(EXT_STA, 1, 0n, 0n, 0n)[0], SBI_ERR_NOT_SUPPORTED, 'unknown function');
  assert.equal(log.writes.length, 0, 'no failed call wrote guest memory');
  assert.ok(ram.every((b) => b === 0x55));
  assert.equal(sbi.addSteal(0, 1n), false, 'no failed call registered anything');
  assert.equal(sbi.addSteal(5, 1n), false, 'absent hart');
  assert.equal(sbi.addSteal(-1, 1n), false);
  // a negative amount is refused
  call(EXT_STA, 0, BigInt(RAM_BASE + 0x4000), 0n, 0n);
  assert.equal(sbi.addSteal(0, -5n), false);
  assert.equal(sbi.stealOf(0), 0n);
  // restoring a state with nonsense addresses registers nothing
  sbi.restore({ staShmem: [RAM_BASE + 3, 1e300] as number[] });
  assert.equal(sbi.addSteal(0, 1n), false);
  assert.equal(sbi.addSteal(1, 1n), false);
});

test('steal-time accounting: a stopped hart is not written to; a (re)started one starts with reporting off', () => {
  const { call, callOn, sbi, state } = fixture(2);
  state[1] = HSM_STARTED;
  callOn(1, EXT_STA, 0, BigInt(RAM_BASE + 0x4000), 0n, 0n);
  assert.equal(sbi.addSteal(1, 1n), true);
  assert.deepEqual(callOn(1, EXT_HSM, 1), [SBI_SUCCESS, 0n]); // hart_stop
  assert.equal(state[1], HSM_STOPPED);
  assert.equal(sbi.addSteal(1, 1n), false, 'stopped: not runnable, nothing written');
  assert.deepEqual(call(EXT_HSM, 0, 1n, 0x80020000n, 0n), [SBI_SUCCESS, 0n]);
  assert.equal(sbi.addSteal(1, 1n), false, 'started again: it must register again');
  callOn(1, EXT_STA, 0, BigInt(RAM_BASE + 0x4000), 0n, 0n);
  assert.equal(sbi.addSteal(1, 1n), true);
});
