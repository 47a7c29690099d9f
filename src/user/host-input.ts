// Input from host descriptors that can block (a terminal, a host pipe or FIFO, a socket). The
// scheduler runs every guest thread on this one host thread, so a blocking host read would stop
// them all. Instead each such descriptor gets, on its first read or poll, a worker thread that
// reads it with libuv's non-blocking streams (never a blocking system call, so the worker can
// always be stopped, and the rvisor process can exit while the host has sent nothing) and hands
// one chunk at a time to the guest side through a SharedArrayBuffer, only when a guest read or
// poll asked for data (so rvisor reads ahead at most one chunk of the host's input).
//
// The guest side never waits here: a read that finds no data blocks the guest thread (a retry
// wait, like an empty in-emulator pipe), and every worker bumps one shared event word when
// something arrives; the scheduler wakes the retrying threads when the word changes and, when
// every guest thread is blocked, sleeps on that word (Atomics.wait) until input or the earliest
// guest deadline. Regular files and other devices (/dev/null, /dev/zero) never block and stay
// synchronous.
import { fstatSync } from 'node:fs';
import { isatty } from 'node:tty';
import { Worker } from 'node:worker_threads';
import { ERRNO } from './errno.js';

/** Bumped (and notified) by a worker whenever a chunk, EOF or an error is ready. */
const events = new Int32Array(new SharedArrayBuffer(4));
/** The value of `events` the scheduler last acted on. */
let seen = 0;

/** The event word, for other host waiters (host-output.ts) to bump. */
export function hostEventWord(): Int32Array {
  return events;
}

/** Other host work the scheduler may wait for (host-output.ts): `busy` while it is under way
 *  (it bumps the event word when done); `shutdown` at the end of the run. */
interface HostWaiter {
  busy(): boolean;
  shutdown(): void;
}
const waiters: HostWaiter[] = [];

export function registerHostWaiter(w: HostWaiter): void {
  waiters.push(w);
}

const CHUNK = 65536;

/** ctl[0]: the state of the exchange. */
const IDLE = 0; // nothing asked for, nothing held
const WANT = 1; // the guest side asked for a chunk; the worker fills buf and moves on
const DATA = 2; // buf holds ctl[1] bytes for the guest side
const EOF = 3; // the host input ended (stays so)
const ERROR = 4; // a read failed with the Node error code ctl[2] (stays so)

const ERR_CODES = ['EIO', 'EBADF', 'EINVAL', 'EISDIR', 'ECONNRESET', 'EAGAIN', 'ENXIO'];

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { fd, tty, keep, ctlBuf, dataBuf, evBuf, codes } = workerData;
const ctl = new Int32Array(ctlBuf);
const buf = new Uint8Array(dataBuf);
const ev = new Int32Array(evBuf);
let pending = null;
let ended = false;
let failed = -1;
function signal() { Atomics.add(ev, 0, 1); Atomics.notify(ev, 0); }
function deliver() {
  if (Atomics.load(ctl, 0) !== 1) return;
  if (pending) {
    const n = Math.min(pending.length, buf.length);
    buf.set(pending.subarray(0, n));
    pending = n < pending.length ? pending.subarray(n) : null;
    ctl[1] = n;
    Atomics.add(ctl, 3, 1);
    Atomics.store(ctl, 0, 2);
  } else if (failed >= 0) {
    ctl[2] = failed;
    Atomics.add(ctl, 3, 1);
    Atomics.store(ctl, 0, 4);
  } else if (ended) {
    Atomics.add(ctl, 3, 1);
    Atomics.store(ctl, 0, 3);
  } else {
    s.resume();
    return;
  }
  signal();
}
let s;
try {
  s = tty ? new (require('node:tty').ReadStream)(fd) : new (require('node:net').Socket)({ fd, readable: true, writable: false, allowHalfOpen: true, pauseOnCreate: true });
} catch (e) {
  failed = Math.max(0, codes.indexOf(e && e.code));
}
if (s) {
  s.on('data', (c) => { s.pause(); pending = pending ? Buffer.concat([pending, c]) : c; deliver(); });
  s.on('end', () => { ended = true; deliver(); });
  s.on('error', (e) => { failed = Math.max(0, codes.indexOf(e && e.code)); deliver(); });
  s.pause();
}
parentPort.on('message', (m) => {
  if (m === 'want') deliver();
  else if (m === 'close') {
    const closed = () => { Atomics.store(ctl, 4, 1); Atomics.notify(ctl, 4); };
    if (s && !keep) {
      const own = s._handle && typeof s._handle.fd === 'number' ? s._handle.fd : fd;
      s.once('close', closed);
      s.destroy();
      if (own !== fd) { try { require('node:fs').closeSync(fd); } catch {} }
    }
    else { if (s) s.pause(); closed(); }
    parentPort.close();
  }
});
`;

/** What a read of a host input can get now. */
export type Take = Uint8Array | number | null;

export class HostInput {
  /** state, chunk length, error code, a count of ready transitions (bumped before each state
   *  change to DATA, EOF or ERROR), and 1 once the worker closed the host fd. */
  readonly ctl = new Int32Array(new SharedArrayBuffer(20));
  /** The transition count last offered to blocked readers (see hostInputStatus). */
  offered = 0;
  private readonly buf = new Uint8Array(new SharedArrayBuffer(CHUNK));
  private readonly worker: Worker;
  /** Bytes of the current chunk already taken. */
  private off = 0;
  /** Bytes given back (a host program did not read them: host-exec.ts), read before the rest. */
  private back: Uint8Array[] = [];

  constructor(readonly hostFd: number, readonly tty: boolean, readonly fifo: boolean, keepOpen: boolean) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { fd: hostFd, tty, keep: keepOpen, ctlBuf: this.ctl.buffer, dataBuf: this.buf.buffer, evBuf: events.buffer, codes: ERR_CODES },
      stdout: false,
      stderr: false,
      trackUnmanagedFds: false,
    });
    this.worker.unref();
    live.add(this);
  }

  /** Asks the worker for a chunk if none is held or coming. */
  private request(): void {
    if (Atomics.load(this.ctl, 0) !== IDLE) return;
    Atomics.store(this.ctl, 0, WANT);
    this.worker.postMessage('want');
  }

  /** True while the guest side waits for the worker. */
  get waiting(): boolean {
    return Atomics.load(this.ctl, 0) === WANT;
  }

  /** Up to n bytes if some are here, 0 at EOF, -errno on an error, or null: nothing yet (a
   *  chunk has been asked for; the scheduler's event word changes when it comes). */
  take(n: number): Take {
    const b = this.back[0];
    if (b) {
      if (b.length > n) this.back[0] = b.subarray(n);
      else this.back.shift();
      return b.slice(0, n);
    }
    const st = Atomics.load(this.ctl, 0);
    if (st === DATA) {
      const len = this.ctl[1]!;
      const k = Math.min(n, len - this.off);
      const out = this.buf.slice(this.off, this.off + k);
      this.off += k;
      if (this.off >= len) {
        this.off = 0;
        Atomics.store(this.ctl, 0, IDLE);
      }
      return out;
    }
    if (st === EOF) return 0;
    if (st === ERROR) return -(ERRNO[ERR_CODES[this.ctl[2]!] as keyof typeof ERRNO] ?? ERRNO.EIO);
    this.request();
    return null;
  }

  /** Readiness for poll: 'in' (data or an error to read), 'eof', or null (a chunk is asked for). */
  poll(): 'in' | 'eof' | null {
    if (this.back.length) return 'in';
    const st = Atomics.load(this.ctl, 0);
    if (st === DATA || st === ERROR) return 'in';
    if (st === EOF) return 'eof';
    this.request();
    return null;
  }

  /** True if bytes were read from the host but not yet by the guest. */
  get holding(): boolean {
    return this.back.length > 0 || Atomics.load(this.ctl, 0) === DATA;
  }

  /** Gives bytes back: the next reads return them first, in order. */
  unread(parts: Uint8Array[]): void {
    this.back.unshift(...parts.filter((x) => x.length > 0));
  }

  /** The guest closed its last descriptor of this file: the worker closes the host fd (unless
   *  it is rvisor's own stdio) and ends. */
  close(): void {
    if (!live.delete(this)) return;
    this.worker.postMessage('close');
    // A FIFO's reader must be gone when close(2) returns: a writer opening it next must wait
    // for a new reader (fifo-open.ts), and one writing must see EPIPE.
    if (this.fifo) Atomics.wait(this.ctl, 4, 0, 500);
  }

  /** Stops the worker at once (the run is over). */
  terminate(): void {
    live.delete(this);
    void this.worker.terminate();
  }
}

const live = new Set<HostInput>();

/** Whether reads of this host fd can block: a terminal, a FIFO or pipe, a socket. */
export function blockingKind(hostFd: number): { tty: boolean; fifo: boolean } | null {
  try {
    const st = fstatSync(hostFd);
    if (st.isFIFO()) return { tty: false, fifo: true };
    if (st.isSocket()) return { tty: false, fifo: false };
    if (st.isCharacterDevice() && isatty(hostFd)) return { tty: true, fifo: false };
  } catch {
    // a bad fd: reads fail synchronously
  }
  return null;
}

/** The shared event word's buffer, for other workers that wake the scheduler (host-bridge.ts). */
export function hostEventBuffer(): SharedArrayBuffer {
  return events.buffer as SharedArrayBuffer;
}

/** True (and resets) if some host input arrived since the last call. */
export function hostEventsChanged(): boolean {
  const v = Atomics.load(events, 0);
  if (v === seen) return false;
  seen = v;
  return true;
}

/** What host input can do for a run whose threads are all blocked, from one read of each
 *  input's state (so a worker's state change can never fall between two checks):
 *  'ready'   — some input has data, EOF or an error not yet offered to blocked readers (it is now
 *              marked offered: each transition is offered once, so an input nobody reads cannot
 *              make the scheduler spin), even if the worker's wake-up signal is still on its way;
 *  'waiting' — a worker is fetching input (or a signal came): sleep until it arrives;
 *  'none'    — nothing will come from the host. */
export function hostInputStatus(): 'ready' | 'waiting' | 'none' {
  let ready = false, waiting = false;
  for (const src of sources) {
    const st = src.status();
    if (st === 'ready') ready = true;
    else if (st === 'waiting') waiting = true;
  }
  for (const h of live) {
    const st = Atomics.load(h.ctl, 0);
    if (st === WANT) waiting = true;
    else if (st >= DATA) {
      const seq = Atomics.load(h.ctl, 3); // bumped before the state: current for this state
      if (seq !== h.offered) {
        h.offered = seq;
        ready = true;
      }
    }
  }
  if (ready) return 'ready';
  if (!waiting) waiting = waiters.some((w) => w.busy());
  return waiting || Atomics.load(events, 0) !== seen ? 'waiting' : 'none';
}

/** The host inputs' states, for a deadlock report. */
export function describeHostInputs(): string {
  const names = ['idle', 'want', 'data', 'eof', 'error'];
  return [...live].map((h) => `fd ${h.hostFd}: ${names[Atomics.load(h.ctl, 0)] ?? '?'} #${Atomics.load(h.ctl, 3)}/${h.offered}`).join(', ') || 'none';
}

/** Sleeps the host until some host input arrives or `ns` nanoseconds pass (null: no limit). */
export function waitHostEvents(ns: bigint | null): void {
  if (ns !== null && ns <= 0n) return;
  const ms = ns === null ? undefined : Math.max(Number(ns) / 1e6, 0.001);
  Atomics.wait(events, 0, seen, ms);
}

/** Ends every worker (the run is over: nothing must keep rvisor alive). */
export function shutdownHostInput(): void {
  for (const h of [...live]) h.terminate();
  for (const w of waiters) w.shutdown();
  for (const src of sources) src.shutdown();
}

/** Another source of host events (the host network, host-net.ts): its workers bump the shared
 *  event word (hostEventWord) when something arrives; status() says, like hostInputStatus, whether
 *  something arrived ('ready'), may still arrive ('waiting') or nothing will ('none'). */
export interface HostEventSource {
  status(): 'ready' | 'waiting' | 'none';
  shutdown(): void;
}

const sources: HostEventSource[] = [];

export function addHostEventSource(src: HostEventSource): void {
  sources.push(src);
}
