// Opening a FIFO (man 7 fifo) without blocking rvisor. Linux's open(2) of a FIFO for reading
// only waits until a writer opens it, for writing only until a reader does; the peer may be a
// thread of this run, another guest process or any host process, so the rendezvous must happen
// in the host kernel. A blocking host open would stop every guest thread (they all run on
// rvisor's one host thread), so such an open is made by a worker thread instead, while only the
// calling guest thread waits (a retry wait; the worker bumps host-input's event word when the
// open returns). The path is first opened with O_PATH on the main thread (path errors come at
// once, and the worker reopens exactly that inode through /proc/self/fd/N, which checks the
// permissions). Opens that never wait keep the synchronous path: O_RDWR, O_NONBLOCK (reading:
// at once; writing: ENXIO without a reader — a guest thread waiting here counts, as its
// worker's open is already in the kernel), O_PATH. The descriptor that results is an ordinary
// host FIFO descriptor (host-input.ts reads it, host-output.ts writes it: EOF when all writers
// closed, EPIPE/SIGPIPE when all readers did, poll readiness).
//
// A wait that ends without the open (a signal: EINTR or SA_RESTART's new attempt; the thread or
// its process ending) releases the worker by opening the FIFO O_RDWR|O_NONBLOCK itself, which
// completes any open of it, and closes both. Difference from Linux: a peer opening the same
// FIFO at that moment may be completed by that short-lived end too.
import { closeSync, lstatSync, openSync, statSync, constants as C } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ERRNO } from './errno.js';
import { O_ACCMODE, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDWR } from './fd-table.js';
import { addHostEventSource, hostEventBuffer } from './host-input.js';
import type { Process } from './process.js';
import type { Thread, Wait } from './thread.js';
import { BLOCKED, type SysResult } from './syscalls/abi.js';

/** O_PATH on a Linux host (not in Node's fs.constants). */
const HOST_O_PATH = 0o10000000;

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const os = require('node:os');
const ev = new Int32Array(workerData.evBuf);
process.on('uncaughtException', () => {});
parentPort.on('message', (m) => {
  const ctl = new Int32Array(m.ctl);
  try { ctl[1] = fs.openSync(m.path, m.flags); ctl[2] = 0; }
  catch (e) { ctl[1] = -1; ctl[2] = (e && os.constants.errno[e.code]) || os.constants.errno.EIO; }
  Atomics.store(ctl, 0, 1);
  Atomics.add(ev, 0, 1);
  Atomics.notify(ev, 0);
});
`;

/** ctl[0]: 1 once the worker's open returned; ctl[1]: the fd or -1; ctl[2]: the host errno. */
interface PendingOpen {
  p: Process;
  t: Thread;
  path: string;
  hflags: number;
  opath: number;
  ctl: Int32Array;
  worker: Worker;
  wait: Wait | null;
  /** The O_RDWR end that released a cancelled open. */
  releaser: number | null;
}

const idle: Worker[] = [];
const pending = new Map<Thread, PendingOpen>();
const cancelled = new Set<PendingOpen>();
let registered = false;

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

function guestErrno(hostErrno: number): number {
  const n = (ERRNO as Record<string, number>)[errnoNames.get(hostErrno) ?? ''];
  return n ?? ERRNO.EIO;
}

/** Whether opening host path `path` with guest `flags` can wait for a FIFO's other end. */
export function fifoOpenWaits(path: string, flags: number): boolean {
  if (flags & (O_NONBLOCK | O_PATH | O_DIRECTORY)) return false;
  const acc = flags & O_ACCMODE;
  if (acc === O_RDWR || acc === O_ACCMODE) return false;
  if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return false;
  try {
    const st = flags & O_NOFOLLOW ? lstatSync(path, { throwIfNoEntry: false }) : statSync(path, { throwIfNoEntry: false });
    return st?.isFIFO() ?? false;
  } catch {
    return false;
  }
}

function newWorker(): Worker {
  // trackUnmanagedFds off (here and in every worker that opens or closes host fds): the fds it
  // opens are closed by the main thread, so Node's per-thread tracking warned "File descriptor N
  // opened in unmanaged mode twice" on the guest's stderr when a number came round again.
  const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { evBuf: hostEventBuffer() }, trackUnmanagedFds: false });
  w.unref();
  return w;
}

/** Opens FIFO `path` with host flags `hflags` for the calling thread: `install` gets the host fd
 *  once the other end is there; until then the thread waits (BLOCKED). */
export function openFifo(p: Process, path: string, hflags: number, install: (hostFd: number) => SysResult): SysResult {
  if (!registered) {
    registered = true;
    addHostEventSource({ status: fifoStatus, shutdown: shutdownFifoOpens });
  }
  const t = p.current!;
  let e = pending.get(t);
  if (e && (e.path !== path || e.hflags !== hflags)) {
    cancel(e);
    e = undefined;
  }
  if (!e) {
    let opath: number;
    try {
      opath = openSync(path, HOST_O_PATH | (hflags & C.O_NOFOLLOW));
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      return -((ERRNO as Record<string, number>)[code] ?? ERRNO.EIO);
    }
    const ctl = new Int32Array(new SharedArrayBuffer(12));
    const worker = idle.pop() ?? newWorker();
    worker.postMessage({ path: `/proc/self/fd/${opath}`, flags: hflags & ~(C.O_CREAT | C.O_EXCL | C.O_TRUNC | C.O_NOFOLLOW), ctl: ctl.buffer });
    e = { p, t, path, hflags, opath, ctl, worker, wait: null, releaser: null };
    pending.set(t, e);
  }
  if (Atomics.load(e.ctl, 0) === 1) {
    pending.delete(t);
    release(e);
    const fd = e.ctl[1]!;
    if (fd < 0) return -guestErrno(e.ctl[2]!);
    const r = install(fd);
    return r;
  }
  const entry = e;
  const w: Wait = { kind: 'retry', deadline: null, onInterrupt: () => cancel(entry) };
  e.wait = w;
  p.block(t, w);
  return BLOCKED;
}

/** The worker is done with `e`: its O_PATH fd closes, the worker waits for the next open. */
function release(e: PendingOpen): void {
  closeQuietly(e.opath);
  idle.push(e.worker);
}

/** Gives up the open of `e` (its thread no longer waits for it). */
function cancel(e: PendingOpen): void {
  if (pending.get(e.t) === e) pending.delete(e.t);
  if (cancelled.has(e)) return;
  if (Atomics.load(e.ctl, 0) !== 1) {
    try {
      e.releaser = openSync(`/proc/self/fd/${e.opath}`, C.O_RDWR | C.O_NONBLOCK);
    } catch {
      // it cannot be released now; the worker ends with the run
    }
    // The worker's open completes at once now: wait for it, so that no end of the FIFO is left
    // open behind the interrupted call (a peer's next open must not see one).
    Atomics.wait(e.ctl, 0, 0, 1000);
    if (Atomics.load(e.ctl, 0) !== 1) {
      cancelled.add(e);
      return;
    }
    if (e.releaser !== null) closeQuietly(e.releaser);
  }
  if (e.ctl[1]! >= 0) closeQuietly(e.ctl[1]!);
  release(e);
}

/** Cancels the opens whose thread went away, and finishes cancelled opens the workers ended. */
export function sweepFifoOpens(): void {
  if (pending.size === 0 && cancelled.size === 0) return;
  for (const e of [...pending.values()]) {
    const alive = e.p.exitStatus === null && e.p.threads.get(e.t.tid) === e.t && (e.t.wait === e.wait || e.t.retrying);
    if (!alive) cancel(e);
  }
  for (const e of [...cancelled]) {
    if (Atomics.load(e.ctl, 0) !== 1) continue;
    cancelled.delete(e);
    if (e.ctl[1]! >= 0) closeQuietly(e.ctl[1]!);
    if (e.releaser !== null) closeQuietly(e.releaser);
    release(e);
  }
}

function fifoStatus(): 'ready' | 'waiting' | 'none' {
  sweepFifoOpens();
  for (const e of pending.values()) if (Atomics.load(e.ctl, 0) !== 1) return 'waiting';
  return 'none';
}

function shutdownFifoOpens(): void {
  for (const e of [...pending.values()]) cancel(e);
  for (const w of idle) void w.terminate();
  idle.length = 0;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
