// 16550A UART: register-level behaviour against the PC16550D datasheet, the probe sequences Linux's
// 8250 driver runs (autoconfig, THRE tests), hostile accesses, and save/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Uart16550, UART_FIFO_SIZE, type UartState } from '../src/devices/uart/uart.js';

const RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

function make() {
  const out: number[] = [];
  const irq = { level: false, calls: 0, set(l: boolean) { this.level = l; this.calls++; } };
  let space = 0;
  const u = new Uart16550({ onOutput: (b) => out.push(b), irq, onRxSpace: () => space++ });
  const r = (o: number) => u.read(o, 1);
  const w = (o: number, v: number) => u.write(o, v, 1);
  return { u, out, irq, r, w, spaceCalls: () => space };
}

test('reset values: LSR idle 0x60, IIR no interrupt, MSR null-modem lines', () => {
  const { r } = make();
  assert.equal(r(LSR), 0x60);
  assert.equal(r(IIR), 0x01);
  assert.equal(r(IER), 0);
  assert.equal(r(LCR), 0);
  assert.equal(r(MCR), 0);
  assert.equal(r(MSR) & 0xf0, 0xb0); // CTS, DSR, DCD
});

test('THR writes go to onOutput; LSR stays THRE|TEMT', () => {
  const { r, w, out } = make();
  for (const c of 'hi\n') w(THR, c.charCodeAt(0));
  w(THR, 0x1ff); // only the low byte goes out
  assert.deepEqual(out, [0x68, 0x69, 0x0a, 0xff]);
  assert.equal(r(LSR) & 0x60, 0x60);
});

test('DLAB: divisor latches shadow RBR/THR and IER', () => {
  const { u, r, w, out } = make();
  w(IER, 0x05);
  w(LCR, 0x83);
  w(DLL, 0x01);
  w(DLM, 0x02);
  assert.equal(r(DLL), 0x01);
  assert.equal(r(DLM), 0x02);
  assert.equal(u.divisor, 0x0201);
  assert.deepEqual(out, []); // the DLL write was not transmitted
  w(LCR, 0x03);
  assert.equal(r(IER), 0x05);
  assert.equal(r(LCR), 0x03);
  w(THR, 0x41);
  assert.deepEqual(out, [0x41]);
});

test('scratch register and IER mask to 4 bits', () => {
  const { r, w } = make();
  w(SCR, 0xa5);
  assert.equal(r(SCR), 0xa5);
  w(IER, 0xff);
  assert.equal(r(IER), 0x0f);
});

test('RX without FIFO: one holding byte, DR, RDA interrupt, rxSpace', () => {
  const { u, r, w, irq, spaceCalls } = make();
  assert.equal(u.rxSpace, 1);
  assert.equal(u.pushInput([0x31, 0x32]), 1);
  assert.equal(u.rxSpace, 0);
  assert.equal(r(LSR) & 1, 1);
  assert.equal(irq.level, false); // ERBFI off
  w(IER, 0x01);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), 0x04);
  assert.equal(r(RBR), 0x31);
  assert.equal(spaceCalls(), 1);
  assert.equal(irq.level, false);
  assert.equal(r(LSR) & 1, 0);
  assert.equal(r(IIR), 0x01);
  assert.equal(r(RBR), 0); // empty reads 0
});

test('RX FIFO: 16 bytes, trigger level vs timeout id, drained in order', () => {
  const { u, r, w, irq } = make();
  w(FCR, 0x81); // enable, trigger 8
  assert.equal(r(IIR) & 0xc0, 0xc0);
  assert.equal(u.rxSpace, UART_FIFO_SIZE);
  w(IER, 0x01);
  assert.equal(u.pushInput(new Uint8Array([1, 2, 3])), 3);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), 0xcc); // below trigger: character timeout
  const many = Array.from({ length: 20 }, (_, i) => 10 + i);
  assert.equal(u.pushInput(many), 13);
  assert.equal(u.rxSpace, 0);
  assert.equal(r(IIR), 0xc4); // at/above trigger: received data available
  const got: number[] = [];
  while (r(LSR) & 1) got.push(r(RBR));
  assert.deepEqual(got, [1, 2, 3, ...many.slice(0, 13)]);
  assert.equal(r(LSR) & 0x02, 0); // no overrun: pushInput never overfills
  assert.equal(irq.level, false);
  assert.equal(r(IIR), 0xc1);
});

test('FCR: clear RX FIFO, disable FIFO, trigger levels', () => {
  const { u, r, w } = make();
  w(FCR, 0x01);
  u.pushInput([1, 2, 3, 4]);
  w(FCR, 0x03); // clear RX
  assert.equal(r(LSR) & 1, 0);
  u.pushInput([5, 6, 7, 8]);
  w(FCR, 0x00); // FIFOs off: cleared, IIR bits 7:6 = 0
  assert.equal(r(LSR) & 1, 0);
  assert.equal(r(IIR), 0x01);
  assert.equal(u.rxSpace, 1);
  w(FCR, 0xc1); // trigger 14
  w(IER, 0x01);
  u.pushInput(new Array(13).fill(0x55));
  assert.equal(r(IIR), 0xcc);
  u.pushInput([0x55]);
  assert.equal(r(IIR), 0xc4);
});

test('THRE interrupt: raised on enabling ETBEI, cleared by reading IIR, re-armed by THR write', () => {
  const { r, w, irq, out } = make();
  w(IER, 0x02);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), 0x02);
  assert.equal(irq.level, false);
  assert.equal(r(IIR), 0x01); // reading IIR cleared it
  w(THR, 0x58);
  assert.deepEqual(out, [0x58]);
  assert.equal(irq.level, true);
  w(THR, 0x59); // writing THR clears and, the byte leaving at once, re-arms
  assert.equal(irq.level, true);
  w(IER, 0x00);
  assert.equal(irq.level, false);
  // Linux's UART_BUG_THRE probe: IER=THRI, read IIR, IER=0, IER=THRI, read IIR -> both show THRE.
  w(IER, 0x02);
  const iir1 = r(IIR);
  w(IER, 0x00);
  w(IER, 0x02);
  const iir2 = r(IIR);
  assert.equal(iir1 & 1, 0);
  assert.equal(iir2 & 1, 0);
});

test('IIR priorities: line status > RX data > THRE > modem status', () => {
  const { u, r, w } = make();
  w(FCR, 0x01);
  w(MCR, 0x10); // loopback: lets us overrun the FIFO from THR
  for (let i = 0; i < 17; i++) w(THR, i);
  w(MCR, 0x00); // leaving loopback changes CTS/DSR/DCD -> modem status deltas
  w(IER, 0x0f);
  assert.equal(r(IIR), 0xc6); // overrun error
  const lsr = r(LSR);
  assert.equal(lsr & 0x03, 0x03); // OE and DR
  assert.equal(r(LSR) & 0x02, 0); // OE cleared by the read
  assert.equal(r(IIR), 0xc4); // 16 bytes >= trigger 1
  while (r(LSR) & 1) r(RBR);
  // THRE was raised when ETBEI was enabled above.
  assert.equal(r(IIR), 0xc2);
  const msr = r(MSR);
  assert.equal(msr & 0x0b, 0x0b); // DCTS, DDSR, DDCD
  assert.equal(r(IIR), 0xc1);
  assert.equal(u.rxSpace, 16);
});

test('loopback: THR feeds RX, MSR follows MCR (Linux probe: MCR=0x1a -> MSR&0xf0 = 0x90)', () => {
  const { u, r, w, out } = make();
  w(MCR, 0x1a);
  assert.equal(r(MSR) & 0xf0, 0x90);
  w(MCR, 0x1f);
  assert.equal(r(MSR) & 0xf0, 0xf0);
  w(MCR, 0x10);
  const msr = r(MSR);
  assert.equal(msr & 0xf0, 0);
  assert.equal(msr & 0x04, 0x04); // TERI: RI went 1 -> 0
  w(THR, 0x7a);
  assert.deepEqual(out, []);
  assert.equal(r(RBR), 0x7a);
  assert.equal(u.pushInput([1]), 0); // the receiver hears only the transmitter
  w(MCR, 0x00);
  w(THR, 0x7b);
  assert.deepEqual(out, [0x7b]);
});

test("Linux 8250 autoconfig sees a 16550A", () => {
  const { r, w } = make();
  // scratch test on IER
  w(IER, 0);
  assert.equal(r(IER) & 0x0f, 0);
  w(IER, 0x0f);
  assert.equal(r(IER) & 0x0f, 0x0f);
  w(IER, 0);
  // FIFO probe: IIR bits 7:6 == 3 with FIFOs enabled
  w(FCR, 0x01);
  assert.equal(r(IIR) >> 6, 3);
  // no EFR: offset 2 in LCR=0x80 / 0xbf modes does not read 0
  w(LCR, 0x80);
  assert.notEqual(r(2), 0);
  w(LCR, 0xbf);
  assert.notEqual(r(2), 0);
  w(LCR, 0);
  // not a 16750: IIR bit 5 stays clear with FCR bit 5 set, in both DLAB states
  w(FCR, 0x21);
  assert.equal(r(IIR) >> 5, 6);
  w(LCR, 0x80);
  w(FCR, 0x21);
  assert.equal(r(IIR) >> 5, 6);
  w(LCR, 0);
  // not an XScale: IER bit 6 (UUE) does not stick
  w(IER, 0x40);
  assert.equal(r(IER) & 0x40, 0);
});

test('hostile accesses: unknown offsets, odd sizes and alignment read 0 and never throw', () => {
  const { u, r, w, out } = make();
  for (const off of [8, 9, 0xff, 0x100, -1, 1.5, 1e9, NaN]) {
    assert.equal(u.read(off, 1), 0);
    u.write(off, 0x41, 1);
  }
  for (const size of [0, 3, 8, -1]) {
    assert.equal(u.read(LSR, size), 0);
    u.write(THR, 0x41, size);
  }
  assert.equal(u.read(1, 2), 0); // misaligned
  assert.equal(u.read(5, 4), 0);
  assert.deepEqual(out, []);
  // 4-byte accesses at aligned offsets work (reg-io-width 4 with reg-shift 0)
  u.write(THR, 0xffffff42, 4);
  assert.deepEqual(out, [0x42]);
  assert.equal(u.read(4, 4), r(MCR));
  w(SCR, 7);
  assert.equal(u.pushInput([]), 0);
});

test('save/restore round-trips mid-operation (through JSON) and re-drives the IRQ', () => {
  const a = make();
  a.w(FCR, 0x41);
  a.w(IER, 0x07);
  a.w(LCR, 0x83);
  a.w(DLL, 0x0c);
  a.w(LCR, 0x03);
  a.w(SCR, 0x99);
  a.w(MCR, 0x0b);
  a.u.pushInput([0x61, 0x62, 0x63]);
  const saved = a.u.save();
  const json = JSON.parse(JSON.stringify(saved)) as UartState;
  const b = make();
  b.u.restore(json);
  assert.deepEqual(b.u.save(), saved);
  assert.equal(b.irq.level, a.irq.level);
  assert.equal(b.irq.level, true);
  // both continue identically
  for (const dev of [a, b]) {
    dev.w(IIR, 0); // FCR write of 0: FIFOs off, clears RX
  }
  const seq = (d: typeof a) => [d.r(IIR), d.r(LSR), d.r(RBR), d.r(IIR), d.r(MSR), d.r(IER), d.r(SCR)];
  assert.deepEqual(seq(b), seq(a));
  assert.deepEqual(b.u.save(), a.u.save());
  // the saved object is a copy
  saved.rx.push(1);
  assert.notDeepEqual(saved, b.u.save());
  // malformed state is refused
  assert.throws(() => b.u.restore({ ...json, rx: new Array(17).fill(0) }), { code: 'INTERNAL' });
  assert.throws(() => b.u.restore({ ...json, ier: 256 }), { code: 'INTERNAL' });
});
