// The host's state dir: where it is by default, and the lock that keeps two hosts (two `rvisor
// serve`, or programs calling openHost) from driving the same VMs' folders at once. Light on
// purpose: clients (the CLI) import it without loading the host.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RvisorError } from '../errors.js';

/** `$XDG_DATA_HOME/rvisor`, else `~/.local/share/rvisor` (relative XDG paths are ignored, as the
 *  XDG spec asks). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_DATA_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'share'), 'rvisor');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<stateDir>/host.lock` for this process (a lock left by a process that is gone, e.g.
 *  after kill -9, is taken over). Returns the release function. */
export function lockStateDir(stateDir: string): () => void {
  const path = join(stateDir, 'host.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (Number(readFileSync(path, 'utf8')) === process.pid) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let pid = NaN;
    try {
      pid = Number(readFileSync(path, 'utf8').trim());
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      throw new RvisorError('USAGE', `another rvisor host (pid ${pid}) is using the state dir ${stateDir}`);
    }
    try {
      unlinkSync(path); // stale: its process is gone
    } catch {
      // someone else took it over first: the next attempt sees theirs
    }
  }
  throw new RvisorError('USAGE', `cannot lock the state dir ${stateDir} (${path})`);
}
