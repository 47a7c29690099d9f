// mknod(S_IFCHR / S_IFBLK) for the guest: device special files. Linux lets only a caller with
// CAP_MKNOD create them (EPERM otherwise). rvisor's guest has that capability when its effective
// uid is 0 (creds.ts); the node itself is made on the host by the host's mknod(1) (Node has no
// mknod), which succeeds only when rvisor's own user may do it (root on the host). Either refusal
// is the EPERM an unprivileged Linux caller gets. The path's own errors (EEXIST, ENOENT, EACCES...)
// are found first with host calls, as for FIFOs (mkfifo.ts).
import { spawnSync } from 'node:child_process';
import { ERRNO } from '../errno.js';
import type { Creds } from '../creds.js';
import { newNodeCheck, toolPath } from './mkfifo.js';
import { hostTool } from '../host-tools.js';

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** Linux's decoding of mknod's 32-bit dev argument (new_decode_dev): 12-bit major, 20-bit minor. */
export function decodeDev(dev: number): { major: number; minor: number } {
  const d = dev >>> 0;
  return { major: (d & 0xfff00) >>> 8, minor: ((d & 0xff) | ((d >>> 12) & 0xfff00)) >>> 0 };
}

/** Creates device node `path` (a host path) of type `type` (S_IFCHR or S_IFBLK) with permission
 *  bits `perm` (umask already applied) and device number `dev`; 0 or -errno. */
export function makeDevice(creds: Creds, path: string, type: number, perm: number, dev: number): number {
  if (!creds.privileged) return -ERRNO.EPERM;
  const err = newNodeCheck(path);
  if (err !== 0) return err;
  const { major, minor } = decodeDev(dev);
  const r = spawnSync(hostTool('mknod'), ['-m', (perm & 0o7777).toString(8), '--', toolPath(path), type === S_IFBLK ? 'b' : 'c', String(major), String(minor)], { stdio: 'ignore' });
  return r.status === 0 ? 0 : -ERRNO.EPERM;
}
