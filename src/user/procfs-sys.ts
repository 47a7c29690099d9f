// /proc/sys: the kernel parameters programs commonly read. Each value is what rvisor itself
// does where rvisor decides it (pipe sizes, the fd limit, inotify's queue, capabilities), the
// host's own setting where the host decides it (inet sockets are host sockets: somaxconn and
// the local port range; the system-wide file and thread limits), and Linux's default otherwise.
// The tree is plain data; procfs.ts turns it into nodes. Files are read-only for the guest
// (writes fail with EACCES, as for an unprivileged user).
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { PIPE_MAX_SIZE } from './fd-table.js';
import { MAX_QUEUED_EVENTS } from './inotify.js';

/** A directory of /proc/sys: names to subdirectories or files (a function giving the text
 *  without its newline, and the mode). */
export interface SysDir {
  [name: string]: SysDir | SysFile;
}
export interface SysFile {
  value: () => string;
  mode: number;
}

const ro = (value: () => string): SysFile => ({ value, mode: 0o444 });
const rw = (value: () => string): SysFile => ({ value, mode: 0o644 });
const fixed = (v: string | number): SysFile => rw(() => String(v));

/** The host's value of /proc/sys/`path` (one line), or `fallback` if it cannot be read. */
function host(path: string, fallback: string): SysFile {
  return rw(() => {
    try {
      return readFileSync(`/proc/sys/${path}`, 'utf8').replace(/\n$/, '');
    } catch {
      return fallback;
    }
  });
}

/** /proc/sys/kernel/random/boot_id: one per run. */
const bootId = randomUUID();

export function sysTree(osrelease: string, version: string): SysDir {
  return {
    fs: {
      'file-max': host('fs/file-max', '9223372036854775807'),
      inotify: { max_queued_events: fixed(MAX_QUEUED_EVENTS) },
      nr_open: fixed(1048576), // the highest RLIMIT_NOFILE (syscalls/proc.ts)
      'pipe-max-size': fixed(PIPE_MAX_SIZE),
    },
    kernel: {
      cap_last_cap: ro(() => '40'),
      hostname: rw(() => hostname()),
      ngroups_max: ro(() => '65536'),
      osrelease: ro(() => osrelease),
      ostype: ro(() => 'Linux'),
      overflowgid: fixed(65534),
      overflowuid: fixed(65534),
      pid_max: fixed(4194304),
      random: {
        boot_id: ro(() => bootId),
        entropy_avail: ro(() => '256'),
        poolsize: ro(() => '256'),
        uuid: ro(() => randomUUID()),
      },
      'threads-max': host('kernel/threads-max', '63704'),
      version: ro(() => version),
    },
    net: {
      core: { somaxconn: host('net/core/somaxconn', '4096') },
      ipv4: { ip_local_port_range: host('net/ipv4/ip_local_port_range', '32768\t60999') },
    },
    vm: {
      max_map_count: fixed(65530),
      overcommit_memory: fixed(0),
      overcommit_ratio: fixed(50),
    },
  };
}
