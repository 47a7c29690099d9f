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

// ---- when the host hands input over (`receiving`): a driver with ERBFI, or a polling reader ----

/** The host side as the board does it: queued input goes in while the guest reads (receiving),
 *  as far as the FIFO has room, whenever the UART asks (onRxSpace), input arrives, or a round of
 *  the harts ends (roundEnd). */
function withHost() {
  const queue: number[] = [];
  const out: number[] = [];
  const irq = { level: false, set(l: boolean) { this.level = l; } };
  const feed = (): void => {
    if (!queue.length || !u.receiving) return;
    u.pushInput(queue.splice(0, Math.min(u.rxSpace, queue.length)));
  };
  const u: Uart16550 = new Uart16550({ onOutput: (b) => out.push(b), irq, onRxSpace: feed });
  const type = (text: string): void => {
    for (const c of Buffer.from(text)) queue.push(c);
    feed();
  };
  return { u, queue, out, irq, type, roundEnd: feed, r: (o: number) => u.read(o, 1), w: (o: number, v: number) => u.write(o, v, 1) };
}

/** A getchar loop as firmware writes it: poll LSR.DR, then read RBR (at most `polls` polls). */
function getchar(r: (o: number) => number, polls = 100): number {
  for (let i = 0; i < polls; i++) if (r(LSR) & 0x01) return r(RBR);
  return -1;
}

test('a polling reader gets input without ever enabling the receive interrupt (LSR.DR, RBR)', () => {
  const h = withHost();
  h.w(LCR, 0x03);
  h.w(FCR, 0x01); // OpenSBI's uart8250_init: FIFO on, interrupts off
  h.w(IER, 0x00);
  h.type('hi!');
  assert.equal(h.u.receiving, false, 'nobody read yet: the input waits with the host');
  assert.equal(h.queue.length, 3);
  // the reader polls: the fourth empty LSR read in a row lets the input in, and that read sees it
  assert.equal(h.r(LSR) & 0x01, 0);
  assert.equal(h.r(LSR) & 0x01, 0);
  assert.equal(h.r(LSR) & 0x01, 0);
  assert.equal(h.r(LSR) & 0x01, 1);
  assert.equal(h.u.receiving, true);
  assert.equal(h.r(RBR), 0x68);
  assert.equal(String.fromCharCode(getchar(h.r), getchar(h.r)), 'i!');
  assert.equal(h.irq.level, false, 'no interrupt: ERBFI is clear');
  // input typed while the reader keeps polling (and echoing) arrives too
  h.type('ok');
  for (const want of 'ok') {
    const c = getchar(h.r);
    assert.equal(String.fromCharCode(c), want);
    h.w(THR, c);
  }
  assert.deepEqual(Buffer.from(h.out).toString(), 'ok');
  assert.equal(getchar(h.r), -1, 'nothing more');
  // without the FIFO (16450 mode) too, one byte at a time
  h.w(FCR, 0x00);
  h.type('xyz');
  assert.equal(String.fromCharCode(getchar(h.r), getchar(h.r), getchar(h.r)), 'xyz');
});

test("Linux's 8250 driver does not count as polling: input typed ahead of it survives its FIFO reset", () => {
  const h = withHost();
  h.type('echo hi\n');
  // console writes while the port is closed (serial8250_console_write: IER saved and cleared,
  // then per character LSR for THRE and a THR write, LSR for BOTH_EMPTY, IER restored)
  for (let line = 0; line < 50; line++) {
    const ier = h.r(IER);
    h.w(IER, 0);
    for (const c of Buffer.from('[    0.123456] some kernel message\r\n')) {
      h.r(LSR);
      h.w(THR, c);
    }
    h.r(LSR);
    h.w(IER, ier);
  }
  // serial8250_do_startup: clear FIFOs, clear interrupts (LSR, RX, IIR, MSR), LSR safety check,
  // THRE test (LSR then IER/IIR), LCR, MCR, TX enable test, clear interrupts again; then
  // set_termios: IER = RLSI|RDI, FCR = ENABLE, FCR = fcr
  h.w(FCR, 0x01); h.w(FCR, 0x07); h.w(FCR, 0x00);
  h.r(LSR); h.r(RBR); h.r(IIR); h.r(MSR);
  h.r(LSR);
  h.r(LSR); h.w(IER, 0x02); h.r(IIR); h.w(IER, 0); h.w(IER, 0x02); h.r(IIR); h.w(IER, 0);
  h.w(LCR, 0x03); h.w(MCR, 0x0b);
  h.w(IER, 0x02); h.r(LSR); h.r(IIR); h.w(IER, 0);
  h.r(LSR); h.r(RBR); h.r(IIR); h.r(MSR);
  assert.equal(h.u.receiving, false);
  assert.equal(h.queue.length, 8, 'nothing was handed over, so nothing was lost');
  h.w(IER, 0x05);
  h.w(FCR, 0x01);
  h.w(FCR, 0x81);
  assert.equal(h.u.receiving, true);
  h.roundEnd();
  assert.equal(h.irq.level, true, 'the driver gets its receive interrupt');
  // the driver's interrupt handler: read while LSR.DR (the host refills the FIFO as it empties)
  const got: number[] = [];
  while (h.r(LSR) & 0x01) got.push(h.r(RBR));
  assert.equal(Buffer.from(got).toString(), 'echo hi\n');
});

test('polling state: any other register access restarts the count; save/restore keeps it; old states restore', () => {
  const h = withHost();
  h.type('a');
  h.r(LSR); h.r(LSR); h.r(LSR);
  h.r(SCR); // breaks the run
  h.r(LSR); h.r(LSR); h.r(LSR);
  assert.equal(h.u.receiving, false);
  const mid = JSON.parse(JSON.stringify(h.u.save())) as UartState;
  assert.equal(mid.rxPolls, 3);
  const b = withHost();
  b.u.restore(mid);
  b.type('b');
  assert.equal(b.r(LSR) & 0x01, 1, 'the restored count goes on: the fourth empty read lets input in');
  const { rxPolls: _gone, ...older } = mid;
  const c = withHost();
  c.u.restore(older as UartState);
  assert.equal(c.u.save().rxPolls, 0);
  assert.throws(() => c.u.restore({ ...mid, rxPolls: 99 }), { code: 'INTERNAL' });
});
