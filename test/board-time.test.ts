// The time CSR is a read-only shadow of the CLINT's memory-mapped mtime (RISC-V privileged spec,
// "Machine Timer Registers" and the `time` CSR): a guest that writes mtime sees the time CSR jump
// with it, and timers compared against it (mtimecmp) follow the same value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostMemory } from '../src/memory/host-memory.js';
import { VirtBoard } from '../src/machine/board.js';
import { encode as I } from '../src/isa/encode.js';
import { li32, words } from './asm.js';
import { CLINT_BASE, SYSCON_BASE } from '../src/machine/memory-map.js';

/** M-mode: mtime := 0x0000_0100_0000_0000 (high half written last), then reads the time CSR;
 *  powers off with 0 if time >= that value and < that value + 2^32, else fails with code 1. */
function program(): Uint8Array {
  const code: number[] = [];
  li32(code, 5, CLINT_BASE + 0xbff8);
  code.push(I('sw', { rs1: 5, rs2: 0, imm: 0 })); // mtime low = 0
  code.push(I('addi', { rd: 6, rs1: 0, imm: 0x100 }), I('sw', { rs1: 5, rs2: 6, imm: 4 })); // high = 0x100
  code.push(I('csrrs', { rd: 10, csr: 0xc01, rs1: 0 })); // a0 = time
  code.push(I('srli', { rd: 11, rs1: 10, imm: 32 })); // a1 = time >> 32
  li32(code, 7, SYSCON_BASE);
  const branch = code.length;
  code.push(0); // bne a1, t1, fail
  li32(code, 28, 0x5555);
  code.push(I('sw', { rs1: 7, rs2: 28, imm: 0 }), I('jal', { rd: 0, imm: 0 }));
  const fail = code.length;
  li32(code, 28, 0x13333);
  code.push(I('sw', { rs1: 7, rs2: 28, imm: 0 }), I('jal', { rd: 0, imm: 0 }));
  code[branch] = I('bne', { rs1: 11, rs2: 6, imm: (fail - branch) * 4 });
  return words(code);
}

test('a guest write to CLINT mtime moves the time CSR with it', () => {
  const board = new VirtBoard({
    harts: 1, memBytes: 32 * 1048576, kernel: undefined, kernelName: '', append: '', firmware: program(), disks: [],
    entropy: (b) => b.fill(1), consoleOut: () => {}, hostNowMs: () => performance.now(), wallNs: () => 0n,
  }, new HostMemory());
  let r = board.step(50);
  for (let i = 0; i < 100 && r.kind === 'running'; i++) r = board.step(50);
  assert.deepEqual(r, { kind: 'poweroff', code: 0 }, 'time did not follow the write to mtime');
  board.destroy();
});
