// The host side of running host-native programs (host-exec.ts): one worker thread that spawns
// them, reports their exit, and moves bytes between rvisor's in-emulator pipes and real host
// pipes (FIFOs) the host program holds. The scheduler runs every guest thread on the main
// thread, whose event loop does not run while guest code runs, so everything that waits for
// the host (a child's exit, a pipe becoming readable or writable) happens in the worker, which
// bumps the shared event word of host-input.ts to wake the scheduler.
//
// A bridge is a byte channel between the two threads: a single-producer single-consumer ring in
// a SharedArrayBuffer. 'out' channels carry what the host program writes (the worker reads the
// FIFO and fills the ring; the main thread empties it into the rvisor pipe when there is room);
// 'in' channels carry what the guest writes (the main thread fills the ring from the rvisor pipe;
// the worker writes it to the FIFO as the FIFO takes it). When the program ends, what it did not
// read (in the FIFO and the ring) goes back to the front of the rvisor pipe, so a guest reading
// the same pipe next (`while read l; do /bin/echo "$l"; done`) loses nothing. Each side only ever
// moves its own index, so the ring needs no lock.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { hostEventBuffer } from './host-input.js';
import { hostTool } from './host-tools.js';

export const RING = 65536;

/** Ring header words (Int32): read index, write index (free-running), flags. */
const R = 0, W = 1, F = 2;
/** The producer is done (after the bytes in the ring). */
export const EOF = 1;
/** The consumer is gone: the producer stops. */
export const CLOSED = 2;
/** The worker holds bytes that did not fit ('out'): tell it when there is room. */
export const WAITING = 4;
/** The main thread asks the worker to stop writing ('in'). */
export const STOP = 8;
/** The worker no longer touches the ring ('in'). */
export const STOPPED = 16;

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const ev = new Int32Array(workerData.evBuf);
const RING = ${RING};
function bump() { Atomics.add(ev, 0, 1); Atomics.notify(ev, 0); }
// Nobody could hear this worker die (the main thread's event loop does not run): it must not.
process.on('uncaughtException', () => {});
const chans = new Map();
function ringOf(buf) { return { h: new Int32Array(buf, 0, 4), d: new Uint8Array(buf, 16, RING) }; }
function used(r) { return (Atomics.load(r.h, 1) - Atomics.load(r.h, 0)) | 0; }
function put(r, b) { // returns how many bytes fitted
  const n = Math.min(b.length, RING - used(r));
  let w = Atomics.load(r.h, 1);
  for (let o = 0; o < n; ) {
    const at = (w >>> 0) % RING, k = Math.min(n - o, RING - at);
    r.d.set(b.subarray(o, o + k), at);
    o += k; w = (w + k) | 0;
  }
  Atomics.store(r.h, 1, w);
  return n;
}
function get(r) {
  const n = used(r);
  const out = Buffer.allocUnsafe(n);
  let rd = Atomics.load(r.h, 0);
  for (let o = 0; o < n; ) {
    const at = (rd >>> 0) % RING, k = Math.min(n - o, RING - at);
    out.set(r.d.subarray(at, at + k), o);
    o += k; rd = (rd + k) | 0;
  }
  Atomics.store(r.h, 0, rd);
  return out;
}
// ---- out: the host program writes, the guest reads
function flushOut(c) {
  for (;;) {
    while (c.pending.length) {
      const b = c.pending[0];
      const n = put(c.r, b);
      if (n < b.length) { c.pending[0] = b.subarray(n); break; }
      c.pending.shift();
    }
    if (!c.pending.length) break;
    Atomics.or(c.r.h, 2, 4); // WAITING; then look again: the main thread may have made room meanwhile
    if (used(c.r) >= RING) { c.s.pause(); bump(); return; }
  }
  if (c.ended) Atomics.or(c.r.h, 2, 1);
  else c.s.resume();
  bump();
}
function drainSync(c) { // the host program ended: take what it wrote before the exit, now
  if (c.ended) return;
  while (c.s.read() !== null) {} // what the paused stream buffered comes first ('data' takes it)
  const b = Buffer.allocUnsafe(65536);
  for (;;) {
    let n;
    try { n = fs.readSync(c.fd, b, 0, b.length, null); } catch { return; }
    if (n <= 0) return;
    c.pending.push(Buffer.from(b.subarray(0, n)));
  }
}
function openOut(m) {
  const c = { kind: 'out', fd: m.fd, r: ringOf(m.buf), pending: [], ended: false, owner: m.owner };
  c.s = new net.Socket({ fd: m.fd, readable: true, writable: false, allowHalfOpen: true });
  c.s.on('data', (b) => { c.pending.push(b); flushOut(c); });
  const end = () => { if (c.ended) return; c.ended = true; flushOut(c); };
  c.s.on('end', end);
  c.s.on('error', end);
  chans.set(m.id, c);
}
// ---- in: the guest writes, the host program reads. Plain non-blocking writes, so the ring keeps
// exactly the bytes not yet in the host pipe (the main thread takes them back when the program
// ends); a full pipe is retried on a timer that backs off to 50 ms.
function pumpIn(c) {
  clearTimeout(c.timer);
  c.timer = null;
  if (c.done) return;
  for (;;) {
    const fl = Atomics.load(c.r.h, 2);
    if (fl & 8) return stopIn(c, 0);
    const n = used(c.r);
    if (n === 0) {
      if (fl & 1) stopIn(c, 0);
      return;
    }
    const rd = Atomics.load(c.r.h, 0);
    const at = (rd >>> 0) % RING;
    let w;
    try {
      w = fs.writeSync(c.fd, c.r.d, at, Math.min(n, RING - at));
    } catch (e) {
      if (e && e.code === 'EAGAIN') {
        c.delay = Math.min(c.delay * 2, 50);
        c.timer = setTimeout(() => pumpIn(c), c.delay);
        return;
      }
      return stopIn(c, 2); // EPIPE: nobody reads the host end any more
    }
    c.delay = 0.5;
    Atomics.store(c.r.h, 0, (rd + w) | 0);
    bump();
  }
}
function stopIn(c, flag) { // the main thread closes the fd (it opened it) once it sees STOPPED
  c.done = true;
  chans.delete(c.id);
  Atomics.or(c.r.h, 2, flag | 16);
  Atomics.notify(c.r.h, 2);
  bump();
}
function openIn(m) {
  const c = { kind: 'in', id: m.id, fd: m.fd, r: ringOf(m.buf), done: false, timer: null, delay: 0.5 };
  chans.set(m.id, c);
  pumpIn(c);
}
function doSpawn(m) {
  const st = new Int32Array(m.st);
  const report = (state) => { Atomics.store(st, 0, state); Atomics.notify(st, 0); bump(); };
  let child;
  try {
    child = spawn(m.file, m.args, { argv0: m.argv0, env: Object.fromEntries(m.env), cwd: m.cwd, stdio: m.stdio });
  } catch (e) {
    st[1] = os.constants.errno[e && e.code] || 8;
    report(2);
    return;
  }
  child.on('error', (e) => { if (Atomics.load(st, 0) === 0) { st[1] = os.constants.errno[e && e.code] || 8; report(2); } });
  child.on('spawn', () => { st[1] = child.pid; report(1); });
  child.on('exit', (code, sig) => {
    for (const c of chans.values()) if (c.kind === 'out' && c.owner === m.owner) { drainSync(c); flushOut(c); }
    st[2] = code ?? 0;
    st[3] = sig ? (os.constants.signals[sig] || 0) : 0;
    report(3);
  });
}
parentPort.on('message', (m) => {
  const c = chans.get(m.id);
  switch (m.op) {
    case 'spawn': doSpawn(m); break;
    case 'out': openOut(m); break;
    case 'in': openIn(m); break;
    case 'space': if (c) flushOut(c); break;
    case 'data': if (c) pumpIn(c); break;
    case 'close': if (c && c.kind === 'out') { c.s.destroy(); chans.delete(m.id); } else if (c) stopIn(c, 0); break;
  }
});
`;

let worker: Worker | null = null;

function theWorker(): Worker {
  if (!worker) {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { evBuf: hostEventBuffer() }, stdout: false, stderr: false, trackUnmanagedFds: false });
    worker.unref();
  }
  return worker;
}

export function post(m: object): void {
  theWorker().postMessage(m);
}

/** The main thread's view of one ring. */
export class Ring {
  readonly buf = new SharedArrayBuffer(16 + RING);
  private readonly h = new Int32Array(this.buf, 0, 4);
  private readonly d = new Uint8Array(this.buf, 16, RING);

  used(): number {
    return (Atomics.load(this.h, W) - Atomics.load(this.h, R)) | 0;
  }
  space(): number {
    return RING - this.used();
  }
  flags(): number {
    return Atomics.load(this.h, F);
  }
  setFlag(f: number): void {
    Atomics.or(this.h, F, f);
  }
  /** Waits (at most `ms`) until flag `f` is set; true if it is. */
  waitFlag(f: number, ms: number): boolean {
    const end = Date.now() + ms;
    for (;;) {
      const v = Atomics.load(this.h, F);
      if (v & f) return true;
      const left = end - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.h, F, v, left);
    }
  }
  /** Clears `f`; true if it was set. */
  takeFlag(f: number): boolean {
    return (Atomics.and(this.h, F, ~f) & f) !== 0;
  }
  /** Appends all of `b` (the caller checked the space). */
  write(b: Uint8Array): void {
    let w = Atomics.load(this.h, W);
    for (let o = 0; o < b.length; ) {
      const at = (w >>> 0) % RING, k = Math.min(b.length - o, RING - at);
      this.d.set(b.subarray(o, o + k), at);
      o += k;
      w = (w + k) | 0;
    }
    Atomics.store(this.h, W, w);
  }
  /** Takes up to n bytes. */
  read(n: number): Uint8Array {
    const k0 = Math.min(n, this.used());
    const out = new Uint8Array(k0);
    let r = Atomics.load(this.h, R);
    for (let o = 0; o < k0; ) {
      const at = (r >>> 0) % RING, k = Math.min(k0 - o, RING - at);
      out.set(this.d.subarray(at, at + k), o);
      o += k;
      r = (r + k) | 0;
    }
    Atomics.store(this.h, R, r);
    return out;
  }
}

// ---- host pipes -------------------------------------------------------------------------------

let fifoDir: string | null = null;
let fifoSeq = 0;

/** Real host pipes, made as FIFOs in a private directory (Node has no pipe(2)) and unlinked at
 *  once. `dirs[i]` is 'out' (the host program writes) or 'in' (it reads). Each pipe has two
 *  open file descriptions: rvisor's end (non-blocking, for the worker) and the program's end
 *  (blocking, as a program expects). Throws if the host has no mkfifo. */
export function hostPipes(dirs: Array<'in' | 'out'>): Array<{ ours: number; theirs: number; back: number }> {
  if (dirs.length === 0) return [];
  fifoDir ??= mkdtempSync(join(tmpdir(), 'rvisor-fifo-'));
  const paths = dirs.map(() => join(fifoDir!, `p${fifoSeq++}`));
  execFileSync(hostTool('mkfifo'), ['-m', '600', ...paths], { stdio: 'ignore' });
  const out: Array<{ ours: number; theirs: number; back: number }> = [];
  const NB = constants.O_NONBLOCK;
  try {
    dirs.forEach((d, i) => {
      const path = paths[i]!;
      if (d === 'out') {
        const ours = openSync(path, constants.O_RDONLY | NB);
        out.push({ ours, theirs: openSync(path, constants.O_WRONLY), back: -1 });
      } else {
        // `back` reads what the program left unread when it ends (given back to the guest).
        const back = openSync(path, constants.O_RDONLY | NB);
        const ours = openSync(path, constants.O_WRONLY | NB);
        out.push({ ours, theirs: openSync(path, constants.O_RDONLY), back });
      }
    });
  } catch (e) {
    for (const p of out) for (const fd of [p.ours, p.theirs, p.back]) if (fd >= 0) closeSync(fd);
    throw e;
  } finally {
    for (const p of paths) {
      try {
        unlinkSync(p);
      } catch {
        // not made
      }
    }
  }
  return out;
}

/** The run is over: the worker ends (host programs still running go on, as orphans do). */
export function shutdownBridges(): void {
  if (worker) void worker.terminate();
  worker = null;
  if (fifoDir) {
    try {
      rmdirSync(fifoDir);
    } catch {
      // still in use or gone
    }
    fifoDir = null;
  }
}
