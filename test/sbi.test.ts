// The SBI implemented by the VMM is the hypercall surface of a guest kernel: every call, including
// hostile ones (addresses outside RAM, harts that do not exist, reserved types), gets an SBI error
// code and changes nothing it should not (SBI spec 2.0, chapters 3-12).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostMemory } from '../src/memory/host-memory.js';
import { Core } from '../src/cpu/core.js';
import type { Hart } from '../src/cpu/hart.js';
import { HART_STIMECMP, HART_MIP } from '../src/cpu/layout.js';
import {
  Sbi, type SbiBoard, EXT_BASE, EXT_TIME, EXT_IPI, EXT_HSM, EXT_SRST, EXT_DBCN, EXT_RFENCE, HSM_STARTED, HSM_STOPPED,
  SBI_SUCCESS, SBI_ERR_NOT_SUPPORTED, SBI_ERR_INVALID_PARAM, SBI_ERR_ALREADY_AVAILABLE,
} from '../src/machine/sbi.js';

const RAM_BASE = 0x8000_0000, RAM_SIZE = 1 << 20;

function fixture(n = 2) {
  const core = new Core(new HostMemory());
  const harts: Hart[] = Array.from({ length: n }, () => core.newHart());
  const ram = new Uint8Array(RAM_SIZE);
  const state = harts.map((_, i) => (i === 0 ? HSM_STARTED : HSM_STOPPED));
  const log = { out: [] as number[], input: [0x41, 0x42], resets: [] as string[], flushed: [] as number[], started: [] as bigint[] };
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
    writePhys: (pa, src) => { if (!inRam(pa, src.length)) return false; ram.set(src, pa - RAM_BASE); return true; },
    flushTlb: (h) => log.flushed.push(h),
    reset: (kind) => log.resets.push(kind),
  };
  const sbi = new Sbi(board);
  const call = (eid: number, fid: number, ...args: bigint[]): [bigint, bigint] => {
    const h = harts[0]!;
    h.setX(17, BigInt(eid));
    h.setX(16, BigInt(fid));
    args.forEach((v, i) => h.setX(10 + i, v));
    const pc = h.pc;
    sbi.handle(0);
    assert.equal(h.pc, pc + 4n, 'the ecall is stepped over');
    return [h.xs(10), h.x(11)];
  };
  return { harts, ram, state, log, call };
}

test('base extension: version, probe, unknown extensions', () => {
  const { call } = fixture();
  assert.deepEqual(call(EXT_BASE, 0), [SBI_SUCCESS, 0x02000000n]);
  for (const eid of [EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN]) assert.deepEqual(call(EXT_BASE, 3, BigInt(eid)), [SBI_SUCCESS, 1n]);
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
  assert.equal(call(EXT_IPI, 0, 0b100n, 0n)[0], SBI_ERR_INVALID_PARAM);
  assert.equal(call(EXT_IPI, 0, 1n, 1000n)[0], SBI_ERR_INVALID_PARAM);
  assert.deepEqual(call(EXT_RFENCE, 1, 0n, (1n << 64n) - 1n, 0n, 0n), [SBI_SUCCESS, 0n]);
  assert.deepEqual(log.flushed, [0, 1], 'mask_base = -1 means every hart');
});

test('HSM: start, status, double start, absent harts', () => {
  const { call, log } = fixture(2);
  assert.deepEqual(call(EXT_HSM, 2, 1n), [SBI_SUCCESS, BigInt(HSM_STOPPED)]);
  assert.deepEqual(call(EXT_HSM, 0, 1n, 0x80200000n, 7n), [SBI_SUCCESS, 0n]);
  assert.deepEqual(log.started, [0x80200000n]);
  assert.equal(call(EXT_HSM, 0, 1n, 0x80200000n, 7n)[0], SBI_ERR_ALREADY_AVAILABLE);
  assert.equal(call(EXT_HSM, 0, 9n, 0x80200000n, 7n)[0], SBI_ERR_INVALID_PARAM);
  assert.equal(call(EXT_HSM, 2, 1n << 40n)[0], SBI_ERR_INVALID_PARAM);
});

test('debug console: buffers outside RAM fail without side effects', () => {
  const { call, ram, log } = fixture();
  ram.set(new TextEncoder().encode('hi!'), 0x100);
  assert.deepEqual(call(EXT_DBCN, 0, 3n, BigInt(RAM_BASE + 0x100), 0n), [SBI_SUCCESS, 3n]);
  assert.equal(String.fromCharCode(...log.out), 'hi!');
  assert.equal(call(EXT_DBCN, 0, 16n, BigInt(RAM_BASE + RAM_SIZE - 8), 0n)[0], SBI_ERR_INVALID_PARAM, 'runs past the end of RAM');
  assert.equal(call(EXT_DBCN, 0, 4n, 0x1000n, 0n)[0], SBI_ERR_INVALID_PARAM, 'below RAM');
  assert.equal(call(EXT_DBCN, 0, 4n, 0n, 1n)[0], SBI_ERR_INVALID_PARAM, 'high half of the address');
  assert.equal(log.out.length, 3, 'nothing more was printed');
  assert.deepEqual(call(EXT_DBCN, 1, 4n, BigInt(RAM_BASE + 0x200), 0n), [SBI_SUCCESS, 2n]);
  assert.deepEqual([...ram.subarray(0x200, 0x202)], [0x41, 0x42]);
  assert.equal(call(EXT_DBCN, 1, 4n, BigInt(RAM_BASE - 2), 0n)[0], SBI_ERR_INVALID_PARAM);
  assert.deepEqual(call(EXT_DBCN, 2, 0x21n), [SBI_SUCCESS, 0n]);
});

test('system reset: shutdown, reboot; reserved types refused', () => {
  const { call, log } = fixture();
  assert.equal(call(EXT_SRST, 0, 7n, 0n)[0], SBI_ERR_INVALID_PARAM);
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
