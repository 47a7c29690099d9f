// The guest's /proc. Paths under /proc never reach the host's /proc (which describes the Node
// process running rvisor): paths.ts hands every guest path under /proc to procResolve, which
// walks a small tree of nodes built from the guest processes of the run (procfs-files.ts
// generates the contents) and materializes the node it reaches as a host file in a private
// temporary directory (the "mirror", removed when rvisor exits): a file is written afresh with
// its current contents (to a new inode, so a description opened earlier keeps its snapshot, as
// Linux's seq files do), a directory is filled with its entries (empty files, subdirectories,
// symlinks), a symlink is a host symlink with Linux's target ("1234" for self, the host path of
// the program for exe, "pipe:[7]" for a pipe fd). The host path returned goes to the ordinary
// host calls, so open, read, lseek, fstat, getdents64, readlink, stat and access behave as for
// any file. Links to guest paths inside /proc (self, thread-self, mounts) are followed inside
// the tree; others (exe, cwd, fd/N) point at host paths. A name that is not in the tree gives
// ENOENT. A pid that is no guest process of the run is a host process (kill(2) reaches it too,
// as under qemu-user): /proc lists the host's processes beside the guest's (not rvisor itself or
// its threads, nor the host programs guest processes stand for), each a directory of links into
// the host's /proc/N. /proc/net (a link to self/net) holds the host's dev, if_inet6, igmp and igmp6 (the
// guest's network is the host's). Only comm can be opened for writing (by the process itself; comm.ts applies what was
// written); other opens for writing fail with EACCES. Differences from Linux: st_size of a file
// is its length (0 on Linux); root's unlink/chmod inside /proc reach the mirror (and are undone
// the next time the directory is listed); a comm write reaches the name when it is next read.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostProgramPids } from './host-exec.js';
import { cpuConfig } from './cpus.js';
import type { Kernel } from './kernel.js';
import { tmpdir } from 'node:os';
import { sysTree, type SysDir, type SysFile } from './procfs-sys.js';
import { posix } from 'node:path';
import { ERRNO, hostErrno } from './errno.js';
import type { Process } from './process.js';
import * as F from './procfs-files.js';
import { noteCommFile, threadName } from './comm.js';
import { O_ACCMODE, O_RDONLY, O_TRUNC } from './fd-table.js';
import type { Thread } from './thread.js';

type Content = () => string | Uint8Array;

/** A node of the tree. Directory entries are listed lazily; `hidden` finds names a listing
 *  leaves out (Linux lists only thread-group leaders in /proc but resolves every tid). */
type Node =
  | { t: 'dir'; list: () => Array<[string, Node]>; hidden?: (name: string) => Node | undefined }
  | { t: 'file'; data: Content; mode?: number; written?: (hostPath: string, data: string | Uint8Array) => void }
  | { t: 'link'; target: () => string; inTree?: boolean };

const dir = (list: () => Array<[string, Node]>, hidden?: (name: string) => Node | undefined): Node => ({ t: 'dir', list, hidden });
const file = (data: Content, mode = 0o444, written?: (hostPath: string, data: string | Uint8Array) => void): Node => ({ t: 'file', data, mode, written });
const link = (target: () => string, inTree = false): Node => ({ t: 'link', target, inTree });

let mirror: string | null = null;

/** The host directory mirroring /proc (made on first use, removed at exit). */
function root(): string {
  if (mirror === null) {
    const m = mkdtempSync(posix.join(tmpdir(), 'rvisor-proc-'));
    mirror = m;
    process.on('exit', () => {
      try {
        rmSync(m, { recursive: true, force: true });
      } catch {
        // best effort
      }
    });
  }
  return mirror;
}

/** The guest /proc path a host path inside the mirror stands for, or null. */
export function procGuestPath(hostPath: string): string | null {
  if (mirror === null) return null;
  if (hostPath === mirror) return '/proc';
  return hostPath.startsWith(mirror + '/') ? '/proc' + hostPath.slice(mirror.length) : null;
}

// ---- the tree --------------------------------------------------------------------------------

/** Entries shared by /proc/PID and /proc/PID/task/TID (t: the thread, for the task form). */
function taskEntries(q: Process, t: Thread | undefined): Array<[string, Node]> {
  const gone = q.finished;
  const fdList = (): Array<[string, Node]> => (gone ? [] : q.fds.fds().map((fd) => [String(fd), link(() => F.fdTarget(q, fd))]));
  const fdinfoList = (): Array<[string, Node]> => (gone ? [] : q.fds.fds().map((fd) => [String(fd), file(() => F.fdinfo(q, fd))]));
  const tid = t?.tid ?? q.pid;
  const e: Array<[string, Node]> = [
    ['auxv', file(() => F.auxv(q), 0o400)],
    ['cmdline', file(() => F.cmdline(q))],
    ['comm', file(() => `${threadName(q, tid)}\n`, 0o644, (h, d) => noteCommFile(h, q, tid, String(d)))],
    ['environ', file(() => F.environ(q), 0o400)],
    ['fd', dir(fdList)],
    ['fdinfo', dir(fdinfoList)],
    ['limits', file(() => F.limits(q))],
    ['maps', file(() => F.maps(q))],
    ['mountinfo', file(() => F.mountinfoFile())],
    ['mounts', file(() => F.mountsFile())],
    ['net', dir(() => F.NET_FILES.map((n): [string, Node] => [n, file(() => F.hostNetFile(n))]))],
    ['stat', file(() => F.stat(q, t))],
    ['statm', file(() => F.statm(q))],
    ['status', file(() => F.status(q, t))],
  ];
  if (!gone) {
    e.push(['cwd', link(() => q.cwd)], ['exe', link(() => q.config.exePath)], ['root', link(() => '/')]);
  }
  return e;
}

function processDir(q: Process): Node {
  const tasks = (): Array<[string, Node]> => [...q.threads.values()].sort((a, b) => a.tid - b.tid).map((t) => [String(t.tid), dir(() => taskEntries(q, t))]);
  return dir(() => [...taskEntries(q, undefined), ['task', dir(tasks)]]);
}

/** /proc/sys (procfs-sys.ts) as nodes. */
function sysDir(d: SysDir = sysTree(F.OSRELEASE, F.VERSION)): Node {
  return dir(() => Object.keys(d).sort().map((name): [string, Node] => {
    const e = d[name]!;
    return [name, 'value' in e && typeof e.value === 'function' ? file(() => `${(e as SysFile).value()}\n`, (e as SysFile).mode) : sysDir(e as SysDir)];
  }));
}

/** Whether host pid or tid `id` is a host process's the guest may see: not rvisor itself nor one
 *  of its threads, not a host program a guest process stands for (that process shows it). */
function visibleHostId(id: number, programs: Set<number> = hostProgramPids()): boolean {
  if (id === process.pid || existsSync(`/proc/${process.pid}/task/${id}`)) return false;
  return !programs.has(id) && existsSync(`/proc/${id}`);
}

/** /proc/N of host process N: a directory of links into the host's /proc/N. */
function hostProcessDir(id: number): Node {
  return dir(() => {
    try {
      return readdirSync(`/proc/${id}`).map((name): [string, Node] => [name, link(() => `/proc/${id}/${name}`)]);
    } catch {
      return []; // it ended meanwhile
    }
  });
}

/** The host's processes that are not guest processes of this run (by pid, ascending). */
function hostProcesses(k: Kernel): Array<[string, Node]> {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const programs = hostProgramPids();
  const ids = names.filter((n) => /^[1-9][0-9]*$/.test(n)).map(Number).filter((id) => !k.processes.has(id) && visibleHostId(id, programs));
  return ids.sort((a, b) => a - b).map((id) => [String(id), hostProcessDir(id)]);
}

function rootNode(p: Process, t: Thread | null): Node {
  const tid = t?.tid ?? p.pid;
  const k = p.kernel;
  const list = (): Array<[string, Node]> => [
    ...[...k.processes.values()].map((q): [string, Node] => [String(q.pid), processDir(q)]),
    ...hostProcesses(k),
    ['cpuinfo', file(F.cpuinfo)],
    ['filesystems', file(F.filesystemsFile)],
    ['loadavg', file(() => F.loadavgFile(p))],
    ['meminfo', file(F.meminfo)],
    ['mounts', link(() => 'self/mounts', true)],
    ['net', link(() => 'self/net', true)],
    ['self', link(() => String(p.pid), true)],
    ['stat', file(() => F.statFile(p))],
    ['sys', sysDir()],
    ['thread-self', link(() => `${p.pid}/task/${tid}`, true)],
    ['uptime', file(F.uptimeFile)],
    ['version', file(F.versionFile)],
  ];
  // /proc/TID of a thread that is not a thread-group leader: reachable, not listed.
  const hidden = (name: string): Node | undefined => {
    if (!/^[1-9][0-9]*$/.test(name)) return undefined;
    const found = k.findThread(Number(name));
    if (found) return dir(() => taskEntries(found[0], found[1]));
    // A host thread (its /proc/TID is not listed on the host either).
    return visibleHostId(Number(name)) ? hostProcessDir(Number(name)) : undefined;
  };
  return dir(list, hidden);
}

// ---- materializing ---------------------------------------------------------------------------

let seq = 0;

function writeFile(hostPath: string, data: string | Uint8Array, mode: number): void {
  const tmp = `${root()}/.w${seq++}`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, hostPath);
}

function writeLink(hostPath: string, target: string): void {
  try {
    if (readlinkSync(hostPath) === target) return;
  } catch {
    // missing or not a link
  }
  rmSync(hostPath, { recursive: true, force: true });
  symlinkSync(target, hostPath);
}

function ensureDir(hostPath: string): void {
  try {
    mkdirSync(hostPath, { mode: 0o755 });
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw e;
  }
}

/** Makes the host directory hold exactly `entries` (files empty until read, so their contents
 *  are only computed when opened). */
function fillDir(hostPath: string, entries: Array<[string, Node]>): void {
  const want = new Map(entries);
  for (const name of readdirSync(hostPath)) {
    if (!want.has(name)) rmSync(`${hostPath}/${name}`, { recursive: true, force: true });
  }
  const have = new Set(readdirSync(hostPath));
  for (const [name, n] of entries) {
    const path = `${hostPath}/${name}`;
    if (n.t === 'link') writeLink(path, n.target());
    else if (have.has(name)) continue;
    else if (n.t === 'dir') ensureDir(path);
    else writeFileSync(path, '', { mode: n.mode ?? 0o444 });
  }
}

function childOf(n: Node & { t: 'dir' }, name: string): Node | undefined {
  for (const [k, v] of n.list()) if (k === name) return v;
  return n.hidden?.(name);
}

/** The files of /sys/devices/system/cpu that say which CPUs exist (drivers/base/cpu.c: a CPU
 *  list such as "0-3"; offline an empty line): the CPUs rvisor shows (cpus.ts), not the host's,
 *  so that glibc's get_nprocs/get_nprocs_conf (sysconf(_SC_NPROCESSORS_ONLN/CONF)) agree with
 *  sched_getaffinity and /proc/cpuinfo. The rest of /sys is the host's. */
const CPU_LIST_FILES = new Set(['online', 'possible', 'present', 'offline']);

/** The host path standing for guest path `path` when it names one of those files (normalized),
 *  else null. */
export function sysCpuResolve(path: string): string | null {
  const norm = posix.normalize(path);
  const m = /^\/sys\/devices\/system\/cpu\/([a-z]+)$/.exec(norm);
  if (!m || !CPU_LIST_FILES.has(m[1]!)) return null;
  const n = cpuConfig.count;
  const host = `${root()}/.sys-cpu-${m[1]}`;
  writeFile(host, m[1] === 'offline' ? '\n' : n === 1 ? '0\n' : `0-${n - 1}\n`, 0o444);
  return host;
}

/** The host path standing for guest path `path` (which starts with /proc), -errno, or null when
 *  the path, once normalized, is not under /proc. */
export function procResolve(p: Process, path: string): string | number | null {
  const norm = posix.normalize(path);
  if (norm !== '/proc' && norm !== '/proc/' && !norm.startsWith('/proc/')) return null;
  let comps = norm.split('/').filter((c) => c !== '' && c !== '.').slice(1);
  const top = rootNode(p, p.current);
  try {
    let hops = 0;
    restart: for (;;) {
      let node: Node = top;
      let host = root();
      for (let i = 0; i < comps.length; i++) {
        if (node.t !== 'dir') return -ERRNO.ENOTDIR;
        const name = comps[i]!;
        if (name === '..') {
          // Lexically resolved above except after a followed link: start over from the tree root.
          comps = [...comps.slice(0, Math.max(0, i - 1)), ...comps.slice(i + 1)];
          continue restart;
        }
        const child = childOf(node, name);
        if (!child) return -ERRNO.ENOENT;
        const childHost = `${host}/${name}`;
        const last = i === comps.length - 1;
        if (child.t === 'link') {
          const target = child.target();
          ensureDirs(host);
          writeLink(childHost, target);
          if (last) {
            // The caller may follow the link on the host (open of /proc/mounts): what it names
            // inside the tree must exist in the mirror too.
            if (child.inTree) procResolve(p, posix.join('/proc', ...comps.slice(0, i), target));
            return childHost;
          }
          if (++hops > 40) return -ERRNO.ELOOP;
          const rest = comps.slice(i + 1);
          if (child.inTree) {
            comps = [...comps.slice(0, i), ...target.split('/').filter((c) => c !== ''), ...rest];
            continue restart;
          }
          if (!target.startsWith('/')) return -ERRNO.ENOENT;
          return posix.join(target, ...rest);
        }
        if (child.t === 'file') {
          if (!last) return -ERRNO.ENOTDIR;
          ensureDirs(host);
          const data = child.data();
          writeFile(childHost, data, child.mode ?? 0o444);
          child.written?.(childHost, data);
          return childHost;
        }
        node = child;
        host = childHost;
      }
      ensureDirs(host);
      if (node.t === 'dir') fillDir(host, node.list());
      return host;
    }
  } catch (e) {
    return hostErrno(e);
  }
}

/** open(2) of a mirror file for writing: only the comm files of the caller's own threads are
 *  writable (comm.ts applies what is written); anything else is EACCES, so a write never
 *  silently lands in the mirror. Returns 0 or -EACCES. */
export function procOpenCheck(p: Process, hostPath: string, flags: number): number {
  const g = procGuestPath(hostPath);
  if (g === null || ((flags & O_ACCMODE) === O_RDONLY && !(flags & O_TRUNC))) return 0;
  const m = /^\/proc\/(\d+)(?:\/task\/(\d+))?\/comm$/.exec(g);
  if (m && Number(m[1]) === p.pid && (m[2] === undefined || p.threads.has(Number(m[2])))) return 0;
  return -ERRNO.EACCES;
}

/** Creates the mirror directories down to hostPath. */
function ensureDirs(hostPath: string): void {
  const r = root();
  let cur = r;
  for (const c of hostPath.slice(r.length).split('/').filter((x) => x !== '')) {
    cur = `${cur}/${c}`;
    ensureDir(cur);
  }
}
