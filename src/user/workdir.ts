// The working directory of a guest process on the host. The guest's chdir moves rvisor's own
// cwd, and the scheduler switches it back to each process's directory before running it, so a
// process's directory must be a path the host can chdir to. Linux allows a working directory of
// any length (chdir step by step below PATH_MAX), while a path over 4096 bytes can neither be
// read back (getcwd: ERANGE in Node) nor passed to chdir (ENAMETOOLONG). Such a directory is
// held open (O_PATH) by the process and named by its /proc/<rvisor pid>/fd/N magic link, which
// the host follows without spelling the path out (and which a spawned host program can use too).
import { closeSync, openSync, constants as C } from 'node:fs';
import type { Process } from './process.js';

/** O_PATH on a Linux host (not in Node's fs.constants). */
const HOST_O_PATH = 0o10000000;

/** Records the host cwd the process just moved to (after process.chdir) as its own, releasing
 *  the directory it held before. */
export function adoptHostCwd(p: Process): void {
  const old = p.cwdHold;
  p.cwdHold = null;
  try {
    p.cwd = process.cwd();
  } catch {
    // Longer than the host's getcwd buffer: hold the directory itself.
    try {
      holdDirectory(p, '.');
    } catch (e) {
      // Out of host fds: the chdir fails and the process stays where it was.
      p.cwdHold = old;
      process.chdir(p.cwd);
      throw e;
    }
  }
  if (old !== null) closeQuietly(old);
  p.kernel.hostCwd = p.cwd;
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
    child.cwd = parent.cwd; // out of host fds: name the parent's hold while it lasts
  }
}

/** Closes the directory the process holds (at its end). */
export function releaseCwd(p: Process): void {
  if (p.cwdHold !== null) closeQuietly(p.cwdHold);
  p.cwdHold = null;
}

/** Whether the working directory's path is too long to be named (getcwd: ENAMETOOLONG). */
export function cwdTooLong(p: Process): boolean {
  return p.cwdHold !== null;
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
