// The comm (command name) of a guest thread: what prctl PR_SET_NAME sets and PR_GET_NAME,
// /proc/PID/comm, /proc/PID/status (Name) and /proc/PID/stat show. A write to a thread's
// /proc/.../comm file lands in the /proc mirror (procfs.ts); it is picked up here the next time
// the name is read, with Linux's rule: the first 15 bytes written (up to a NUL) become the name,
// a trailing newline included.
import { readFileSync } from 'node:fs';
import type { Process } from './process.js';

/** Mirror files of comm, with the contents rvisor last wrote there. */
const mirrored = new Map<string, { q: Process; tid: number; wrote: string }>();

/** Records that the mirror file `hostPath` was written with `text` as thread `tid`'s comm. */
export function noteCommFile(hostPath: string, q: Process, tid: number, text: string): void {
  for (const [path, m] of mirrored) if (m.q.finished) mirrored.delete(path);
  mirrored.set(hostPath, { q, tid, wrote: text });
}

/** Applies what the guest wrote into mirror comm files of `q` since rvisor last wrote them. */
function syncWrites(q: Process): void {
  for (const [path, m] of mirrored) {
    if (m.q !== q) continue;
    let now: Buffer;
    try {
      now = readFileSync(path);
    } catch {
      mirrored.delete(path);
      continue;
    }
    if (now.length === 0 || now.toString('latin1') === m.wrote) continue;
    setThreadName(q, m.tid, new Uint8Array(now));
    m.wrote = now.toString('latin1');
  }
}

/** The comm of thread `tid` of `p`: the name it set, else the main thread's, else the first 15
 *  bytes of the file name execve was given. */
export function threadName(p: Process, tid: number): string {
  if (mirrored.size > 0) syncWrites(p);
  const n = p.threadNames.get(tid) ?? p.threadNames.get(p.pid);
  if (n !== undefined) return n;
  if (p.config.image) return p.config.image.comm;
  const base = new TextEncoder().encode(p.config.exePath.split('/').pop() ?? '');
  return new TextDecoder().decode(base.subarray(0, 15));
}

/** Sets the comm of thread `tid` from raw bytes (up to the first NUL, at most 15 bytes). */
export function setThreadName(p: Process, tid: number, bytes: Uint8Array): void {
  let n = bytes.indexOf(0);
  if (n < 0) n = bytes.length;
  p.threadNames.set(tid, new TextDecoder().decode(bytes.subarray(0, Math.min(n, 15))));
}
