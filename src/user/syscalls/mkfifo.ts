// mknod(S_IFIFO) / mkfifo for the guest. Node has no mkfifo, so rvisor runs the host's
// mkfifo(1) with the exact mode (the process's umask already applied). The errors Linux gives
// for the path (EEXIST, ENOENT, ENOTDIR, EACCES, ELOOP...) are found first with host calls, so the
// guest sees them as Linux reports them; a failure of the tool itself is EIO.
import { spawnSync } from 'node:child_process';
import { accessSync, constants as C, lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ERRNO, hostErrno } from '../errno.js';
import { hostTool } from '../host-tools.js';

/** The errors Linux gives before creating node `path` (a host path): EEXIST, and what the
 *  parent directory's lookup and write permission give; 0 when the node may be created. */
export function newNodeCheck(path: string): number {
  try {
    lstatSync(path);
    return -ERRNO.EEXIST;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ENOENT') return hostErrno(e);
  }
  try {
    const parent = dirname(path.replace(/\/+$/, '') || '/');
    if (!statSync(parent).isDirectory()) return -ERRNO.ENOTDIR;
    accessSync(parent, C.W_OK | C.X_OK);
  } catch (e) {
    return hostErrno(e);
  }
  return 0;
}

/** `path` as a host tool started by rvisor must see it: /proc/self/ is rvisor's own. */
export function toolPath(path: string): string {
  return path.startsWith('/proc/self/') ? `/proc/${process.pid}/${path.slice('/proc/self/'.length)}` : path;
}

/** Creates FIFO `path` (a host path) with permission bits `mode`; 0 or -errno. */
export function makeFifo(path: string, mode: number): number {
  const err = newNodeCheck(path);
  if (err !== 0) return err;
  const target = toolPath(path);
  const r = spawnSync(hostTool('mkfifo'), ['-m', (mode & 0o777).toString(8), '--', target], { stdio: 'ignore' });
  return r.status === 0 ? 0 : -ERRNO.EIO;
}
