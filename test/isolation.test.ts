// Isolation between VMs on one host memory (design rule 2: a VM can only reach the frames its P2M
// names). A hostile bare-metal guest overwrites every byte of its RAM and then stores past its end;
// a second VM sharing the same HostMemory must keep its memory intact, and the store past the end
// must be an access fault, not a write somewhere in the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HostMemory } from '../src/memory/host-memory.js';
import { VirtBoard, type BoardConfig } from '../src/machine/board.js';
import { encode as I } from '../src/isa/encode.js';
import { RAM_BASE, SYSCON_BASE } from '../src/machine/memory-map.js';

const RAM = 32 * 1048576;

/** M-mode program: fill [RAM_BASE + 4 KiB, RAM end) with a pattern, then store one doubleword past
 *  the end. The trap handler powers off with success; reaching the line after the store fails. */
function hostileProgram(): Uint8Array {
  const code: number[] = [];
  const li32 = (rd: number, v: number) => { // lui + addi for a 32-bit constant
    const hi = (v + 0x800) & ~0xfff;
    code.push(I('lui', { rd, imm: hi | 0 }), I('addi', { rd, rs1: rd, imm: v - hi }));
  };
  // x5 = handler (auipc-relative, patched below), mtvec = x5
  const handlerFixup = code.length;
  code.push(I('auipc', { rd: 5, imm: 0 }), I('addi', { rd: 5, rs1: 5, imm: 0 }), I('csrrw', { rd: 0, csr: 0x305, rs1: 5 }));
  li32(10, RAM_BASE + 4096); // a0: first byte after the program's page
  code.push(I('slli', { rd: 10, rs1: 10, imm: 32 }), I('srli', { rd: 10, rs1: 10, imm: 32 })); // zero-extend
  code.push(I('lui', { rd: 11, imm: (RAM / 2) | 0 }), I('add', { rd: 11, rs1: 11, rs2: 11 }), I('add', { rd: 11, rs1: 11, rs2: 10 }));
  code.push(I('addi', { rd: 11, rs1: 11, imm: -4096 })); // a1: RAM end
  code.push(I('addi', { rd: 12, rs1: 0, imm: -0x56 })); // a2: pattern 0xffff...ffaa
  const loop = code.length;
  code.push(I('sd', { rs1: 10, rs2: 12, imm: 0 }), I('addi', { rd: 10, rs1: 10, imm: 8 }));
  code.push(I('bltu', { rs1: 10, rs2: 11, imm: (loop - code.length) * 4 }));
  code.push(I('sd', { rs1: 11, rs2: 12, imm: 0 })); // one past the end: must fault
  li32(6, SYSCON_BASE);
  li32(7, 0x13333); // reached only if the store did not fault: fail with code 1
  code.push(I('sw', { rs1: 6, rs2: 7, imm: 0 }), I('jal', { rd: 0, imm: 0 }));
  const handler = code.length;
  li32(6, SYSCON_BASE);
  li32(7, 0x5555);
  code.push(I('sw', { rs1: 6, rs2: 7, imm: 0 }), I('jal', { rd: 0, imm: 0 }));
  code[handlerFixup + 1] = I('addi', { rd: 5, rs1: 5, imm: (handler - handlerFixup) * 4 });
  return new Uint8Array(Uint32Array.from(code).buffer);
}

function board(host: HostMemory, firmware: Uint8Array): VirtBoard {
  const cfg: BoardConfig = {
    harts: 1, memBytes: RAM, kernel: undefined, kernelName: '', append: '', firmware, disks: [],
    entropy: (b) => b.fill(7), consoleOut: () => {}, hostNowMs: () => performance.now(), wallNs: () => 0n,
  };
  return new VirtBoard(cfg, host);
}

const digest = (b: VirtBoard): string => {
  const all = new Uint8Array(RAM);
  assert.ok(b.ram.read(RAM_BASE, all));
  return createHash('sha256').update(all).digest('hex');
};

test('a guest that overwrites all of its RAM and stores past its end cannot touch another VM', () => {
  const host = new HostMemory();
  const victim = board(host, Uint8Array.of(0x6f, 0, 0, 0)); // "j ." : never run
  const secret = new Uint8Array(RAM).fill(0x5a);
  assert.ok(victim.ram.write(RAM_BASE, secret)); // backs every page of the victim
  const before = digest(victim);

  const attacker = board(host, hostileProgram());
  let r = attacker.step(100);
  for (let i = 0; i < 200 && r.kind === 'running'; i++) r = attacker.step(100);
  assert.deepEqual(r, { kind: 'poweroff', code: 0 }, 'the store past the end of RAM must raise an access fault');

  assert.equal(digest(victim), before, "the victim's memory changed");
  const probe = new Uint8Array(8);
  assert.ok(attacker.ram.read(RAM_BASE + RAM - 4096 - 8, probe));
  assert.deepEqual([...probe], [0xaa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(attacker.ram.read(RAM_BASE + RAM, probe), false, 'DMA past the end of RAM is refused');

  // The two P2Ms name disjoint frames.
  const frames = (b: VirtBoard): Set<number> => {
    const s = new Set<number>();
    for (let i = 0; i < b.ram.pages; i++) {
      const f = host.view.getUint32(b.ram.p2m + i * 4, true);
      if (f) s.add(f);
    }
    return s;
  };
  const a = frames(attacker), v = frames(victim);
  assert.equal(v.size, RAM / 4096);
  for (const f of a) assert.ok(!v.has(f), `frame ${f} is mapped by both VMs`);
});
