// VM generation ID: the 16-byte ID read at every width the guest may use (also through the board's
// bus, from a bare-metal program), a new generation raises exactly one PLIC interrupt, the ID
// survives save/restore (device and board), and a board state saved before the device existed
// still restores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VmGenId, randomVmGenId, type VmGenIdState } from '../src/devices/vmgenid/vmgenid.js';
import { Plic } from '../src/devices/plic/plic.js';
import { HostMemory } from '../src/memory/host-memory.js';
import { VirtBoard, type BoardConfig } from '../src/machine/board.js';
import { encode as I } from '../src/isa/encode.js';
import { li32, words } from './asm.js';
import { SYSCON_BASE, VMGENID_BASE, VMGENID_IRQ } from '../src/machine/memory-map.js';

const ID = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i * 0x11); // 10 21 32 ... ff
const le = (bytes: Uint8Array, at: number, n: number) => {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(at + i < 16 ? bytes[at + i]! : 0);
  return v;
};

function withPlic() {
  const plic = new Plic({ contexts: 1, onContextChange: () => {} });
  plic.write(4 * VMGENID_IRQ, 1, 4); // priority 1
  plic.write(0x2000, 1 << VMGENID_IRQ, 4); // enabled for context 0 (threshold 0)
  const claim = () => plic.read(0x200004, 4);
  const complete = (s: number) => plic.write(0x200004, s, 4);
  const d = new VmGenId({ irq: plic.irqLine(VMGENID_IRQ), guid: ID });
  return { plic, d, claim, complete };
}

test('the ID reads back at offsets 0..15 with 1-, 2- and 4-byte accesses, aligned or not; the rest of the page reads 0', () => {
  const { d } = withPlic();
  for (const size of [1, 2, 4]) {
    for (let off = 0; off < 16; off++) {
      assert.equal(BigInt(d.read(off, size)), le(ID, off, size), `offset ${off} size ${size}`);
    }
  }
  assert.equal(d.read(16, 4), 0);
  assert.equal(d.read(0xffc, 4), 0);
  assert.equal(d.read(0, 8), 0, 'the bus never hands a device 8 bytes');
  assert.equal(d.read(-1, 4), 0);
  assert.equal(d.read(NaN, 4), 0);
  d.write(0, 0xffffffff, 4); // read-only
  d.write(4, 0, 1);
  assert.deepEqual(d.guid, ID);
  assert.ok(d.guidReads > 0);
});

test('regenerate: new ID, exactly one interrupt (a pulse latched by the PLIC, no storm after complete)', () => {
  const { d, claim, complete, plic } = withPlic();
  assert.equal(claim(), 0, 'no interrupt before a new generation');
  const next = randomVmGenId((b) => b.fill(0xab));
  d.regenerate(next);
  assert.deepEqual(d.guid, next);
  assert.equal(plic.contextPending(0), true);
  assert.equal(claim(), VMGENID_IRQ);
  assert.equal(BigInt(d.read(0, 4)), le(next, 0, 4), 'the handler reads the new ID');
  complete(VMGENID_IRQ);
  assert.equal(plic.contextPending(0), false, 'the line is low: nothing pending after complete');
  assert.equal(claim(), 0);
  assert.equal(d.notifications, 1);
  // two generations before the guest claims: one interrupt, the handler sees the latest ID
  d.regenerate(ID);
  d.regenerate(next);
  assert.equal(claim(), VMGENID_IRQ);
  complete(VMGENID_IRQ);
  assert.equal(claim(), 0);
  assert.deepEqual(d.guid, next);
  assert.throws(() => d.regenerate(new Uint8Array(15)), { code: 'INTERNAL' });
});

test('randomVmGenId is a version-4 UUID from the entropy source', () => {
  const a = randomVmGenId((b) => b.fill(0xff));
  assert.equal(a[6]! >> 4, 4);
  assert.equal(a[8]! >> 6, 2);
  const b = randomVmGenId((x) => x.fill(0));
  assert.equal(b[6], 0x40);
  assert.equal(b[8], 0x80);
  assert.equal(b.filter((x) => x !== 0).length, 2);
});

test('save/restore keeps the ID; a malformed state is refused', () => {
  const { d } = withPlic();
  const s = JSON.parse(JSON.stringify(d.save())) as VmGenIdState;
  assert.deepEqual(s, { guid: Array.from(ID) });
  const other = new VmGenId({ irq: { set() {} }, guid: new Uint8Array(16) });
  other.restore(s);
  assert.deepEqual(other.guid, ID);
  for (const bad of [null, {}, { guid: [1, 2] }, { guid: Array(16).fill(256) }, { guid: Array(16).fill(-1) }, { guid: Array(16).fill(0.5) }]) {
    assert.throws(() => other.restore(bad as unknown as VmGenIdState), { code: 'INTERNAL' }, JSON.stringify(bad));
  }
});

// ---- on the board ----

/** M-mode: reads the ID with ld (split by the bus), lw, lhu and lbu into a0..a5, then powers off. */
function reader(): Uint8Array {
  const code: number[] = [];
  li32(code, 5, VMGENID_BASE);
  code.push(
    I('ld', { rd: 10, rs1: 5, imm: 0 }),
    I('ld', { rd: 11, rs1: 5, imm: 8 }),
    I('lwu', { rd: 12, rs1: 5, imm: 4 }),
    I('lhu', { rd: 13, rs1: 5, imm: 6 }),
    I('lbu', { rd: 14, rs1: 5, imm: 15 }),
    I('ld', { rd: 15, rs1: 5, imm: 16 }),
  );
  li32(code, 7, SYSCON_BASE);
  li32(code, 28, 0x5555);
  code.push(I('sw', { rs1: 7, rs2: 28, imm: 0 }), I('jal', { rd: 0, imm: 0 }));
  return words(code);
}

function boardConfig(entropy: (b: Uint8Array) => void): BoardConfig {
  return {
    harts: 1, memBytes: 32 << 20, kernel: undefined, kernelName: '', append: '', firmware: reader(), disks: [],
    entropy, consoleOut: () => {}, hostNowMs: () => performance.now(), wallNs: () => 0n,
  };
}

test('board: a guest reads the ID through the bus (ld, lwu, lhu, lbu); newGeneration() interrupts once and save/restore keeps the ID', () => {
  let seed = 1;
  const entropy = (b: Uint8Array) => { for (let i = 0; i < b.length; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24; };
  const host = new HostMemory();
  const board = new VirtBoard(boardConfig(entropy), host);
  const boards = [board];
  try {
    const id = board.vmgenid.guid;
    assert.equal(id[6]! >> 4, 4, 'the first ID is a v4 UUID from the entropy source');
    let r = board.step(50);
    for (let i = 0; i < 100 && r.kind === 'running'; i++) r = board.step(50);
    assert.deepEqual(r, { kind: 'poweroff', code: 0 });
    const h = board.harts[0]!;
    assert.equal(h.x(10), le(id, 0, 8));
    assert.equal(h.x(11), le(id, 8, 8));
    assert.equal(h.x(12), le(id, 4, 4));
    assert.equal(h.x(13), le(id, 6, 2));
    assert.equal(h.x(14), BigInt(id[15]!));
    assert.equal(h.x(15), 0n);

    const pending = () => (board.plic.read(0x1000, 4) >>> VMGENID_IRQ) & 1;
    assert.equal(pending(), 0);
    const next = board.newGeneration();
    assert.notDeepEqual(next, id);
    assert.deepEqual(board.vmgenid.guid, next);
    assert.equal(pending(), 1, 'the notification is pending in the PLIC');

    // the state (JSON, as in a snapshot file) keeps the ID and the pending notification
    const state = JSON.parse(JSON.stringify(board.save()));
    assert.deepEqual(state.devices.vmgenid, { guid: Array.from(next) });
    const copy = new VirtBoard(boardConfig(entropy), host, { restore: state });
    boards.push(copy);
    assert.deepEqual(copy.vmgenid.guid, next);
    assert.equal((copy.plic.read(0x1000, 4) >>> VMGENID_IRQ) & 1, 1);

    // restored with newGeneration: another ID at once
    const clone = new VirtBoard(boardConfig(entropy), host, { restore: JSON.parse(JSON.stringify(board.save())), newGeneration: true });
    boards.push(clone);
    assert.notDeepEqual(clone.vmgenid.guid, next);

    // a state saved before the device existed restores, with a fresh ID
    const old = JSON.parse(JSON.stringify(board.save()));
    delete old.devices.vmgenid;
    const legacy = new VirtBoard(boardConfig(entropy), host, { restore: old });
    boards.push(legacy);
    assert.equal(legacy.vmgenid.guid.length, 16);
    assert.notDeepEqual(legacy.vmgenid.guid, next);
  } finally {
    // restored boards share the saved board's RAM and harts: free those once, and each board's core
    for (const b of boards.slice(1)) b.core.destroy();
    boards[0]!.destroy();
  }
});
