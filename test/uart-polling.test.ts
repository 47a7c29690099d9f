// A bare-metal program on the virtual board that reads the console by polling the 16550A (LSR.DR,
// then RBR) and never enables its receive interrupt, as firmware and bare-metal code do: input
// typed before it starts and while it runs reaches it, and its echo comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostMemory } from '../src/memory/host-memory.js';
import { VirtBoard, type BoardConfig } from '../src/machine/board.js';
import { encode as I } from '../src/isa/encode.js';
import { SYSCON_BASE, UART0_BASE } from '../src/machine/memory-map.js';

/** M-mode program: for N bytes, poll LSR until DR, read RBR, echo it to THR; then power off. */
function echoProgram(n: number): Uint8Array {
  const code: number[] = [];
  const li32 = (rd: number, v: number): void => {
    const hi = (v + 0x800) & ~0xfff;
    code.push(I('lui', { rd, imm: hi | 0 }), I('addi', { rd, rs1: rd, imm: v - hi }));
  };
  li32(5, UART0_BASE); // t0: the UART
  code.push(I('addi', { rd: 7, rs1: 0, imm: n })); // t2: bytes left
  const poll = code.length;
  code.push(I('lbu', { rd: 6, rs1: 5, imm: 5 }), I('andi', { rd: 6, rs1: 6, imm: 1 })); // t1 = LSR & DR
  code.push(I('beq', { rs1: 6, rs2: 0, imm: (poll - code.length) * 4 }));
  code.push(I('lbu', { rd: 28, rs1: 5, imm: 0 }), I('sb', { rs1: 5, rs2: 28, imm: 0 })); // RBR -> THR
  code.push(I('addi', { rd: 7, rs1: 7, imm: -1 }));
  code.push(I('bne', { rs1: 7, rs2: 0, imm: (poll - code.length) * 4 }));
  li32(5, SYSCON_BASE);
  li32(6, 0x5555); // sifive,test: power off, pass
  code.push(I('sw', { rs1: 5, rs2: 6, imm: 0 }), I('jal', { rd: 0, imm: 0 }));
  return new Uint8Array(Uint32Array.from(code).buffer);
}

test('a polling reader on the board gets typed-ahead and later input without IER.ERBFI', () => {
  const out: number[] = [];
  const cfg: BoardConfig = {
    harts: 1, memBytes: 32 * 1048576, kernel: undefined, kernelName: '', append: '', firmware: echoProgram(11), disks: [],
    entropy: (b) => b.fill(7), consoleOut: (bytes) => out.push(...bytes), hostNowMs: () => performance.now(), wallNs: () => 0n,
  };
  const board = new VirtBoard(cfg, new HostMemory());
  try {
    board.pushInput(Buffer.from('typed-')); // before the program runs
    let r = board.step(50);
    for (let i = 0; i < 20 && r.kind === 'running'; i++) r = board.step(50);
    assert.equal(Buffer.from(out).toString(), 'typed-', 'the typed-ahead input was read and echoed');
    assert.deepEqual(r, { kind: 'running' }, 'still polling for the rest');
    board.pushInput(Buffer.from('ahead')); // while it polls
    for (let i = 0; i < 20 && r.kind === 'running'; i++) r = board.step(50);
    assert.deepEqual(r, { kind: 'poweroff', code: 0 });
    assert.equal(Buffer.from(out).toString(), 'typed-ahead');
    assert.equal(board.uart.read(1, 1) & 0x01, 0, 'IER.ERBFI was never set');
  } finally {
    board.destroy();
  }
});
