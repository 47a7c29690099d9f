// The host's own tools rvisor runs for calls Node lacks (mkfifo, mknod, fallocate, sync, touch):
// always from the system's directories, never by a PATH lookup. rvisor's PATH is its user's and
// may name anything — busybox's testsuite puts links named after every applet first, each running
// the riscv64 busybox under rvisor: a guest mkfifo then ran rvisor's "mkfifo" helper as another
// rvisor whose guest mkfifo did the same, without end. A Linux system call never depends on PATH.
import { existsSync } from 'node:fs';

const DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
const found = new Map<string, string>();

/** The absolute path of host tool `name` (in the first system directory that has it; the
 *  /usr/bin path when none has it, so that running it fails with ENOENT). */
export function hostTool(name: string): string {
  let p = found.get(name);
  if (p === undefined) {
    p = DIRS.map((d) => `${d}/${name}`).find((x) => existsSync(x)) ?? `/usr/bin/${name}`;
    found.set(name, p);
  }
  return p;
}
