// The working directory of a guest process on the host. The guest's chdir moves rvisor's own
// cwd, and the scheduler switches it back to each process's directory before running it, so
// relative paths reach the host as they are. Linux allows a working directory of any length
// (chdir step by step below PATH_MAX), while the host process cannot stay in one whose path is
// over 4096 bytes: Node cannot read it back (getcwd: ERANGE) and its worker threads, which read
// the cwd as they start, would fail. Such a directory is held open (O_PATH) by the process
// instead, the host cwd goes to "/", and relative guest paths are resolved under the hold's
// /proc/self/fd/N link (paths.ts), as for a directory fd; the process's `cwd` is then its
// /proc/<rvisor pid>/fd/N name (which a spawned host program can chdir to).
import { closeSync, openSync, constants as C } from 'node:fs';
import type { Process } from './process.js';

/** O_PATH on a Linux host (not in Node's fs.constants). */
const HOST_O_PATH = 0o10000000;

/** Where the host's cwd is while `p` runs. */
export function hostCwdOf(p: Process): string {
  return p.cwdHold === null ? p.cwd : '/';
}

/** The host directory relative guest paths of `p` start from when its cwd is held, or null
 *  (then the host cwd is the process's own). */
export function heldCwd(p: Process): string | null {
  return p.cwdHold === null ? null : `/proc/self/fd/${p.cwdHold}`;
}

/** Records the host cwd the process just moved to (after process.chdir) as its own, releasing
 *  the directory it held before. */
export function adoptHostCwd(p: Process): void {
  const old = p.cwdHold;
  const oldCwd = p.cwd;
  p.cwdHold = null;
  try {
    p.cwd = process.cwd();
  } catch {
    // Longer than the host's getcwd buffer: hold the directory itself and leave it.
    try {
      holdDirectory(p, '.');
    } catch (e) {
      // Out of host fds: the chdir fails and the process stays where it was.
      p.cwdHold = old;
      p.cwd = oldCwd;
      process.chdir(hostCwdOf(p));
      throw e;
    }
    process.chdir('/');
  }
  if (old !== null) closeQuietly(old);
  p.kernel.hostCwd = hostCwdOf(p);
}

/** Gives a forked child its own hold on the parent's directory when the parent holds one (the
 *  parent may move away and close its own). */
export function inheritCwd(child: Process, parent: Process): void {
  child.cwd = parent.cwd;
  child.cwdHold = null;
  if (parent.cwdHold === null) return;
  try {
    holdDirectory(child, `/proc/self/fd/${parent.cwdHold}`);
  } catch {
    child.cwd = '/'; // out of host fds: the child starts at the root
  }
}

/** Closes the directory the process holds (at its end). */
export function releaseCwd(p: Process): void {
  if (p.cwdHold !== null) closeQuietly(p.cwdHold);
  p.cwdHold = null;
}

function holdDirectory(p: Process, path: string): void {
  const fd = openSync(path, HOST_O_PATH | C.O_DIRECTORY);
  p.cwdHold = fd;
  p.cwd = `/proc/${process.pid}/fd/${fd}`;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already gone
  }
}
