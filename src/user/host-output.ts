// Output to host pipes and FIFOs that can block. The scheduler runs every guest thread on this
// one host thread, so a write(2) that blocks in the host (a pipe nobody is reading yet) would
// stop them all: the main thread could never run its exit_group, and a parent waiting for the
// process would wait forever (issue #11). So, for a host pipe or FIFO, rvisor writes through its
// own non-blocking descriptor of the same pipe (opened on /proc/self/fd/N, so the guest's file
// description keeps its flags): what fits goes at once; the rest is handed to a worker thread
// (libuv's non-blocking streams, so it can always be stopped) and the guest thread blocks in a
// retry wait, which exit_group, a fatal signal or the process's end can end like any other.
// When the worker has written everything it bumps host-input's event word; the write is then
// executed again and returns the count. One write at a time per description: another thread's
// write waits until the first one's result has been taken (as a pipe keeps writes in order).
//
// A socket cannot be reopened: for rvisor's own stdout and stderr when they are sockets (Node
// and many harnesses give a child socketpairs), the worker takes the descriptor itself, which
// makes its file description non-blocking (as Node does to its own stdio pipes; libuv never
// closes descriptors 0-2), and the first write waits for that. Other sockets, terminals and
// regular files keep the synchronous path.
import { closeSync, constants as C, openSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ERRNO, hostErrno } from './errno.js';
import type { HostFile } from './fd-table.js';
import { blockingKind, hostEventWord, registerHostWaiter } from './host-input.js';

const IDLE = 0;
const BUSY = 1; // the worker is writing the rest of a write
const DONE = 2; // ctl[1]: bytes the worker wrote, or -(index of the error code + 1)

const ERR_CODES = ['EPIPE', 'EIO', 'EBADF', 'EINVAL', 'ENOSPC', 'EAGAIN'];

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { path, sockFd, ctlBuf, evBuf, codes } = workerData;
const ctl = new Int32Array(ctlBuf);
const ev = new Int32Array(evBuf);
let s = null;
let pending = false;
function done(v) { pending = false; ctl[1] = v; Atomics.store(ctl, 0, 2); Atomics.add(ev, 0, 1); Atomics.notify(ev, 0); }
function fail(e) { if (pending) done(-(Math.max(0, codes.indexOf(e && e.code)) + 1)); }
parentPort.on('message', (m) => {
  if (m === 'close') { if (s) s.destroy(); parentPort.close(); return; }
  if (!s) {
    try {
      const fd = sockFd >= 0 ? sockFd : fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      s = new (require('node:net').Socket)({ fd, readable: false, writable: true });
      s.on('error', fail);
      Atomics.store(ctl, 2, 1); // the descriptor is non-blocking now
    } catch (e) { pending = true; fail(e); return; }
  }
  if (m.length === 0) return; // only asked to take the descriptor
  pending = true;
  s.write(m, (err) => { if (!pending) return; if (err) fail(err); else done(m.length); });
});
`;

export class HostOutput {
  /** state, result, and (socket mode) 1 once the worker made the description non-blocking. */
  private readonly ctl = new Int32Array(new SharedArrayBuffer(12));
  private worker: Worker | null = null;
  /** The thread whose write is in the worker, its length and what was written before. */
  private owner = 0;
  private ownerLen = 0;
  private already = 0;
  /** Another thread waits for the current write to be taken (wake retriers when it is). */
  private contended = false;

  /** `fd`: rvisor's non-blocking descriptor of the pipe (reopened at `hostPath`), or, with
   *  `socket`, the guest's own descriptor (0-2), non-blocking once the worker has taken it. */
  constructor(private readonly fd: number, private readonly hostPath: string, private readonly socket = false) {
    live.add(this);
  }

  /** True while the worker is writing (the scheduler must wait for it, not call a deadlock). */
  get busy(): boolean {
    return Atomics.load(this.ctl, 0) === BUSY;
  }

  /** A write of `data` by thread `tid`: the count, -errno, or null (the thread must wait in a
   *  retry wait; the write is executed again when the worker is done). `alive(tid)` says
   *  whether a thread still exists (a finished write of a thread that is gone is dropped). */
  write(tid: number, data: Uint8Array, nonblock: boolean, alive: (tid: number) => boolean): number | null {
    const st = Atomics.load(this.ctl, 0);
    if (st === BUSY && this.owner !== tid) this.contended = true;
    if (st === BUSY) return nonblock ? -ERRNO.EAGAIN : null;
    if (st === DONE) {
      if (this.owner === tid && this.ownerLen === data.length) {
        Atomics.store(this.ctl, 0, IDLE);
        const v = this.ctl[1]!;
        if (v >= 0) return this.already + v;
        if (this.already > 0) return this.already;
        return -(ERRNO[ERR_CODES[-v - 1] as keyof typeof ERRNO] ?? ERRNO.EIO);
      }
      if (this.owner !== tid && alive(this.owner)) {
        this.contended = true;
        return nonblock ? -ERRNO.EAGAIN : null;
      }
      // Its thread is gone, or it made another call since (a signal ended its wait): dropped.
      Atomics.store(this.ctl, 0, IDLE);
    }
    let n = 0;
    if (!this.socket || Atomics.load(this.ctl, 2) === 1) {
      try {
        n = writeSync(this.fd, data, 0, data.length);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') return hostErrno(e);
      }
    } else if (nonblock) {
      // Not yet non-blocking: start the worker and let the caller try again.
      this.worker ??= this.startWorker();
      this.worker.postMessage(new Uint8Array(0));
      return -ERRNO.EAGAIN;
    }
    if (n === data.length || nonblock) return n > 0 || data.length === 0 ? n : -ERRNO.EAGAIN;
    this.owner = tid;
    this.ownerLen = data.length;
    this.already = n;
    Atomics.store(this.ctl, 0, BUSY);
    this.worker ??= this.startWorker();
    this.worker.postMessage(data.slice(n));
    return null;
  }

  /** True (once) if other threads waited for the write whose result was just taken. */
  takeContended(): boolean {
    const c = this.contended;
    this.contended = false;
    return c;
  }

  private startWorker(): Worker {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: this.hostPath, sockFd: this.socket ? this.fd : -1, ctlBuf: this.ctl.buffer, evBuf: hostEventWord().buffer, codes: ERR_CODES },
      stdout: false,
      stderr: false,
      trackUnmanagedFds: false,
    });
    w.unref();
    return w;
  }

  /** The guest closed the description: rvisor's descriptors of the pipe are closed (a write
   *  still in the worker is abandoned, as a killed writer's would be). */
  close(): void {
    if (!live.delete(this)) return;
    if (!this.socket) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
    }
    if (this.worker) this.worker.postMessage('close');
  }

  /** Stops the worker at once (the run is over). */
  terminate(): void {
    live.delete(this);
    if (!this.socket) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
    }
    if (this.worker) void this.worker.terminate();
  }
}

const live = new Set<HostOutput>();
const outputs = new WeakMap<HostFile, HostOutput | null>();

registerHostWaiter({
  busy: () => {
    for (const o of live) if (o.busy) return true;
    return false;
  },
  shutdown: () => {
    for (const o of [...live]) o.terminate();
  },
});

/** The non-blocking writer of a host pipe or FIFO open for writing, or null (not one, or it
 *  could not be reopened: writes stay synchronous). */
export function hostOutput(f: HostFile): HostOutput | null {
  const have = outputs.get(f);
  if (have !== undefined) return have;
  let out: HostOutput | null = null;
  const kind = !f.seekable && !f.isDir && (f.flags & 3) !== 0 ? blockingKind(f.hostFd) : null;
  if (kind?.fifo) {
    const path = `/proc/self/fd/${f.hostFd}`;
    try {
      const fd = openSync(path, C.O_WRONLY | C.O_NONBLOCK);
      out = new HostOutput(fd, `/proc/self/fd/${fd}`);
    } catch {
      out = null;
    }
  } else if (kind && !kind.tty && f.keepOpen && f.hostFd <= 2) {
    out = new HostOutput(f.hostFd, '', true);
  }
  outputs.set(f, out);
  return out;
}

/** The guest's last descriptor of `f` is closed. */
export function closeHostOutput(f: HostFile): void {
  const o = outputs.get(f);
  if (o) o.close();
  outputs.delete(f);
}
