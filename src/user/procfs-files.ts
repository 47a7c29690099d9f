// The contents of the files of rvisor's /proc (procfs.ts builds the tree): per-process files
// (maps, status, stat, statm, cmdline, environ, auxv, fdinfo, fd link targets) generated from
// the guest process's own state in Linux 6.1's formats, and the machine-wide files (cpuinfo,
// meminfo, stat, uptime, loadavg, version) describing the emulated riscv64 machine.
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { freemem, loadavg, totalmem, uptime } from 'node:os';
import { monotonicNs } from './clock.js';
import { cpuConfig } from './cpus.js';
import type { Process } from './process.js';
import type { BuiltStack } from './stack.js';
import { SIG_DFL, SIG_IGN } from './signals.js';
import type { Thread } from './thread.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE, type Vma } from './address-space.js';
import { processUsage, rssPages, threadUsageOf } from './usage.js';
import { threadName } from './comm.js';
import { defaultRlimit } from './syscalls/proc.js';
import { O_ACCMODE, kernelOffset } from './fd-table.js';

/** Where execve put the strings and the auxiliary vector (ProcessConfig.image). */
export interface ImageLayout {
  argStart: number;
  argEnd: number;
  envStart: number;
  envEnd: number;
  /** The initial stack pointer (/proc/PID/stat startstack). */
  sp: number;
  auxv: Array<[number, bigint]>;
  /** The comm a new image starts with: the last component of the path given to execve (not
   *  resolved through symlinks), at most 15 bytes. */
  comm: string;
}

export function imageLayout(s: BuiltStack, execPath: string): ImageLayout {
  const envStart = s.envpAddrs[0] ?? s.execfnAddr;
  const base = new TextEncoder().encode(execPath.split('/').pop() ?? '').subarray(0, 15);
  return { argStart: s.argvAddrs[0] ?? envStart, argEnd: envStart, envStart, envEnd: s.execfnAddr, sp: s.sp, auxv: s.auxv, comm: new TextDecoder().decode(base) };
}

const USER_HZ = 100n;
const NS_PER_TICK = 1_000_000_000n / USER_HZ;
const hex16 = (v: bigint): string => v.toString(16).padStart(16, '0');

/** Reads guest memory of q (zombies and unreadable ranges give nothing). */
function guestBytes(q: Process, start: number, end: number): Uint8Array {
  if (q.finished || end <= start) return new Uint8Array(0);
  return q.as.read(start, end - start) ?? new Uint8Array(0);
}

export function cmdline(q: Process): Uint8Array {
  const im = q.config.image;
  return im ? guestBytes(q, im.argStart, im.argEnd) : new Uint8Array(0);
}

export function environ(q: Process): Uint8Array {
  const im = q.config.image;
  return im ? guestBytes(q, im.envStart, im.envEnd) : new Uint8Array(0);
}

export function auxv(q: Process): Uint8Array {
  const list = q.config.image?.auxv ?? [];
  const b = new Uint8Array(list.length * 16);
  const v = new DataView(b.buffer);
  list.forEach(([k, val], i) => {
    v.setBigUint64(i * 16, BigInt(k), true);
    v.setBigUint64(i * 16 + 8, val, true);
  });
  return b;
}

// ---- maps ------------------------------------------------------------------------------------

/** major:minor and inode of the host file backing a mapping (0 when it is gone). */
function devIno(path: string): { dev: string; ino: bigint } {
  try {
    const st = statSync(path, { bigint: true });
    const d = st.dev;
    const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
    const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
    return { dev: `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`, ino: st.ino };
  } catch {
    return { dev: '00:00', ino: 0n };
  }
}

function mapsLine(v: Vma): string {
  const perms = (v.prot & PROT_READ ? 'r' : '-') + (v.prot & PROT_WRITE ? 'w' : '-') + (v.prot & PROT_EXEC ? 'x' : '-') + (v.shared ? 's' : 'p');
  const file = v.file && v.name !== '' && !v.name.startsWith('[');
  const { dev, ino } = file ? devIno(v.name) : { dev: '00:00', ino: 0n };
  const off = (file ? v.offset ?? 0 : 0).toString(16).padStart(8, '0');
  let line = `${v.start.toString(16).padStart(8, '0')}-${v.end.toString(16).padStart(8, '0')} ${perms} ${off} ${dev} ${ino} `;
  // Linux pads to column 73 (25 + 6 * sizeof(void *) - 1) before the name.
  if (v.name !== '') line = line.padEnd(73, ' ') + v.name;
  return line + '\n';
}

export function maps(q: Process): string {
  if (q.finished) return '';
  return q.as.list().map(mapsLine).join('');
}

// ---- memory sizes -----------------------------------------------------------------------------

interface MemSizes {
  sizeKb: number;
  rssKb: number;
  stackKb: number;
  exeKb: number;
  libKb: number;
  dataKb: number;
  textStart: number;
  textEnd: number;
}

function memSizes(q: Process): MemSizes {
  const m: MemSizes = { sizeKb: 0, rssKb: 0, stackKb: 0, exeKb: 0, libKb: 0, dataKb: 0, textStart: 0, textEnd: 0 };
  if (q.finished) return m;
  for (const v of q.as.list()) {
    const kb = (v.end - v.start) / 1024;
    m.sizeKb += kb;
    if (v.name === '[stack]') m.stackKb += kb;
    else if (v.prot & PROT_EXEC && v.file && v.name === q.config.exePath) {
      m.exeKb += kb;
      if (!m.textStart) [m.textStart, m.textEnd] = [v.start, v.end];
    } else if (v.prot & PROT_EXEC && v.file) m.libKb += kb;
    else if (v.prot & PROT_WRITE && !v.shared) m.dataKb += kb;
  }
  m.rssKb = rssPages(q) * 4;
  return m;
}

export function statm(q: Process): string {
  const m = memSizes(q);
  const pg = (kb: number): number => Math.floor(kb / 4);
  return `${pg(m.sizeKb)} ${pg(m.rssKb)} 0 ${pg(m.exeKb)} 0 ${pg(m.dataKb + m.stackKb)} 0\n`;
}

// ---- status and stat ---------------------------------------------------------------------------

function stateOf(q: Process, t?: Thread): string {
  if (q.finished || q.exitStatus !== null) return 'Z (zombie)';
  const threads = t ? [t] : [...q.threads.values()];
  if (threads.some((x) => x.status === 'runnable')) return 'R (running)';
  return 'S (sleeping)';
}

function sigSets(q: Process): { ign: bigint; cgt: bigint } {
  let ign = 0n;
  let cgt = 0n;
  for (let sig = 1; sig < q.actions.actions.length; sig++) {
    const h = q.actions.get(sig).handler;
    if (h === SIG_IGN) ign |= 1n << BigInt(sig - 1);
    else if (h !== SIG_DFL) cgt |= 1n << BigInt(sig - 1);
  }
  return { ign, cgt };
}

const pendingSet = (list: Array<{ signo: number }>): bigint => list.reduce((m, s) => m | (1n << BigInt(s.signo - 1)), 0n);

/** /proc/PID/status (t: the thread for /proc/PID/task/TID/status; default the main thread). */
export function status(q: Process, t?: Thread): string {
  const th = t ?? q.mainThread ?? [...q.threads.values()][0];
  const tid = th?.tid ?? q.pid;
  const c = q.creds;
  const m = memSizes(q);
  const { ign, cgt } = sigSets(q);
  const caps = c.privileged ? '000001ffffffffff' : '0000000000000000';
  const u = th ? threadUsageOf(q, th) : undefined;
  const lines = [
    // Linux escapes only a backslash and a newline in the name here.
    `Name:\t${threadName(q, tid).replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
    `Umask:\t${q.umask.toString(8).padStart(4, '0')}`,
    `State:\t${stateOf(q, t)}`,
    `Tgid:\t${q.pid}`,
    `Ngid:\t0`,
    `Pid:\t${tid}`,
    `PPid:\t${q.ppid}`,
    `TracerPid:\t0`,
    `Uid:\t${c.ruid}\t${c.euid}\t${c.suid}\t${c.fsuid}`,
    `Gid:\t${c.rgid}\t${c.egid}\t${c.sgid}\t${c.fsgid}`,
    `FDSize:\t${Math.max(64, 2 ** Math.ceil(Math.log2(Math.max(1, ...q.fds.fds().map((f) => f + 1)))))}`,
    `Groups:\t${c.groups.join(' ')}${c.groups.length ? ' ' : ''}`,
    `NStgid:\t${q.pid}`,
    `NSpid:\t${tid}`,
    `NSpgid:\t${q.pgid}`,
    `NSsid:\t${q.sid}`,
  ];
  if (!q.finished) {
    const kb = (n: number): string => `${String(Math.floor(n)).padStart(8, ' ')} kB`;
    lines.push(
      `VmPeak:\t${kb(m.sizeKb)}`, `VmSize:\t${kb(m.sizeKb)}`, `VmLck:\t${kb(0)}`, `VmPin:\t${kb(0)}`,
      `VmHWM:\t${kb(Math.max(q.usage.maxrssKb, m.rssKb))}`, `VmRSS:\t${kb(m.rssKb)}`, `RssAnon:\t${kb(m.rssKb)}`,
      `RssFile:\t${kb(0)}`, `RssShmem:\t${kb(0)}`, `VmData:\t${kb(m.dataKb)}`, `VmStk:\t${kb(m.stackKb)}`,
      `VmExe:\t${kb(m.exeKb)}`, `VmLib:\t${kb(m.libKb)}`, `VmPTE:\t${kb(0)}`, `VmSwap:\t${kb(0)}`,
    );
  }
  lines.push(
    `Threads:\t${q.threads.size}`,
    `SigQ:\t${q.pending.length + (th?.pending.length ?? 0)}/63704`,
    `SigPnd:\t${hex16(th ? pendingSet(th.pending) : 0n)}`,
    `ShdPnd:\t${hex16(pendingSet(q.pending))}`,
    `SigBlk:\t${hex16(th?.sigmask ?? 0n)}`,
    `SigIgn:\t${hex16(ign)}`,
    `SigCgt:\t${hex16(cgt)}`,
    `CapInh:\t0000000000000000`,
    `CapPrm:\t${caps}`,
    `CapEff:\t${caps}`,
    `CapBnd:\t000001ffffffffff`,
    `CapAmb:\t0000000000000000`,
    `NoNewPrivs:\t${q.prctl.noNewPrivs ? 1 : 0}`,
    `Seccomp:\t0`,
    `Seccomp_filters:\t0`,
    `Speculation_Store_Bypass:\tunknown`,
    `SpeculationIndirectBranch:\tunknown`,
    `Cpus_allowed:\t1`,
    `Cpus_allowed_list:\t0`,
    `Mems_allowed:\t1`,
    `Mems_allowed_list:\t0`,
    `voluntary_ctxt_switches:\t${u?.nvcsw ?? 0}`,
    `nonvoluntary_ctxt_switches:\t${u?.nivcsw ?? 0}`,
  );
  return lines.join('\n') + '\n';
}

/** /proc/PID/stat: the 52 fields of Linux 6.1 (t: a thread's own stat). */
export function stat(q: Process, t?: Thread): string {
  const th = t ?? q.mainThread;
  const tid = t?.tid ?? q.pid;
  const u = t ? threadUsageOf(q, t) : processUsage(q);
  const c = q.usage.children;
  const m = memSizes(q);
  const im = q.config.image;
  const { ign, cgt } = sigSets(q);
  const live = !q.finished;
  const addr = (v: number | undefined): string => (live ? String(v ?? 0) : '0');
  const ticks = (ns: bigint): string => String(ns / NS_PER_TICK);
  const f: string[] = [
    String(tid), `(${threadName(q, tid)})`, stateOf(q, t)[0]!, String(q.ppid), String(q.pgid), String(q.sid),
    '0', '-1', '4194304', '0', '0', '0', '0', ticks(u.userNs), ticks(u.sysNs), ticks(c.userNs), ticks(c.sysNs),
    '20', '0', String(q.threads.size), '0', ticks(q.usage.startNs), String(m.sizeKb * 1024), String(m.rssKb / 4),
    '18446744073709551615', addr(m.textStart), addr(m.textEnd), addr(im?.sp), '0', '0',
    String(th ? pendingSet(th.pending) | pendingSet(q.pending) : 0n), String(th?.sigmask ?? 0n), String(ign), String(cgt),
    '0', '0', '0', String(q.exitSignal), '0', '0', '0', '0', '0', '0',
    addr(0), addr(0), addr(live ? q.as.brkStart : 0), addr(im?.argStart), addr(im?.argEnd), addr(im?.envStart), addr(im?.envEnd),
    String(q.finished ? q.waitStatus() : 0),
  ];
  return f.join(' ') + '\n';
}

/** /proc/PID/limits: the process's resource limits (getrlimit's values). */
export function limits(q: Process): string {
  const rows: Array<[string, string]> = [
    ['Max cpu time', 'seconds'], ['Max file size', 'bytes'], ['Max data size', 'bytes'], ['Max stack size', 'bytes'],
    ['Max core file size', 'bytes'], ['Max resident set', 'bytes'], ['Max processes', 'processes'],
    ['Max open files', 'files'], ['Max locked memory', 'bytes'], ['Max address space', 'bytes'],
    ['Max file locks', 'locks'], ['Max pending signals', 'signals'], ['Max msgqueue size', 'bytes'],
    ['Max nice priority', ''], ['Max realtime priority', ''], ['Max realtime timeout', 'us'],
  ];
  const INF = (1n << 64n) - 1n;
  const v = (x: bigint): string => (x === INF ? 'unlimited' : x.toString()).padEnd(20);
  let s = `${'Limit'.padEnd(25)} ${'Soft Limit'.padEnd(20)} ${'Hard Limit'.padEnd(20)} ${'Units'.padEnd(10)}\n`;
  rows.forEach(([name, unit], res) => {
    const [soft, hard] = q.rlimits.get(res) ?? defaultRlimit(res);
    s += `${name.padEnd(25)} ${v(soft)} ${v(hard)} ${unit ? unit.padEnd(10) : ''}\n`;
  });
  return s;
}

// ---- file descriptors ---------------------------------------------------------------------------

/** What /proc/PID/fd/N links to. */
export function fdTarget(q: Process, fd: number): string {
  const f = q.fds.get(fd);
  if (!f) return '';
  const k = f as { kind: string; id?: number };
  switch (f.kind) {
    case 'host':
      try {
        return readlinkSync(`/proc/self/fd/${f.hostFd}`);
      } catch {
        return f.path;
      }
    case 'pipe':
      return `pipe:[${f.pipe.id}]`;
    case 'eventfd':
      return 'anon_inode:[eventfd]';
    case 'epoll':
      return 'anon_inode:[eventpoll]';
    default:
      return k.kind.includes('sock') ? `socket:[${k.id ?? 0}]` : `anon_inode:[${k.kind}]`;
  }
}

const O_CLOEXEC = 0o2000000;
const O_LARGEFILE = 0o100000;

export function fdinfo(q: Process, fd: number): string {
  const f = q.fds.get(fd);
  if (!f) return '';
  let pos = 0;
  let ino = 0n;
  if (f.kind === 'host') {
    pos = f.pos ?? kernelOffset(f.hostFd);
    try {
      ino = statSync(`/proc/self/fd/${f.hostFd}`, { bigint: true }).ino;
    } catch {
      // gone
    }
  } else if (f.kind === 'pipe') ino = BigInt(f.pipe.id);
  else ino = BigInt((f as { id?: number }).id ?? 0);
  let flags = f.flags | (q.fds.getCloexec(fd) ? O_CLOEXEC : 0);
  if (f.kind === 'host' && (f.flags & O_ACCMODE) !== 3) flags |= O_LARGEFILE;
  let s = `pos:\t${pos}\nflags:\t0${flags.toString(8)}\nmnt_id:\t${f.kind === 'host' ? 1 : 15}\nino:\t${ino}\n`;
  if (f.kind === 'eventfd') s += `eventfd-count: ${f.counter.toString(16).padStart(16, '0')}\neventfd-id: ${f.id}\n`;
  return s;
}

// ---- machine-wide files -------------------------------------------------------------------------

/** One RV64IMAFDC hart per CPU shown (cpus.ts; one by default). */
export function cpuinfo(): string {
  let s = '';
  for (let i = 0; i < cpuConfig.count; i++) {
    s += `processor\t: ${i}\nhart\t\t: ${i}\nisa\t\t: rv64imafdc_zicsr_zifencei\nmmu\t\t: sv39\nuarch\t\t: rvisor,rv64\n` +
      'mvendorid\t: 0x0\nmarchid\t\t: 0x0\nmimpid\t\t: 0x0\n\n';
  }
  return s;
}

/** The same totals sysinfo(2) reports (the host's memory). */
export function meminfo(): string {
  const kb = (n: number): string => `${String(Math.floor(n / 1024)).padStart(8, ' ')} kB`;
  const total = totalmem();
  const free = freemem();
  const rows: Array<[string, number]> = [
    ['MemTotal', total], ['MemFree', free], ['MemAvailable', free], ['Buffers', 0], ['Cached', 0], ['SwapCached', 0],
    ['Active', 0], ['Inactive', 0], ['SwapTotal', 0], ['SwapFree', 0], ['Dirty', 0], ['Writeback', 0],
    ['AnonPages', 0], ['Mapped', 0], ['Shmem', 0], ['Slab', 0], ['CommitLimit', total], ['Committed_AS', total - free],
    ['VmallocTotal', 0], ['VmallocUsed', 0], ['HugePages_Total', 0], ['Hugepagesize', 2097152],
  ];
  return rows.map(([k, v]) => (k === 'HugePages_Total' ? `${(k + ':').padEnd(16)}${String(v).padStart(8)}\n` : `${(k + ':').padEnd(16)}${kb(v)}\n`)).join('');
}

export function uptimeFile(): string {
  const up = uptime();
  return `${up.toFixed(2)} ${up.toFixed(2)}\n`;
}

export function loadavgFile(p: Process): string {
  const l = loadavg().map((x) => x.toFixed(2)).join(' ');
  let threads = 0;
  let running = 0;
  for (const q of p.kernel.processes.values()) {
    for (const t of q.threads.values()) {
      threads++;
      if (t.status === 'runnable') running++;
    }
  }
  return `${l} ${running}/${threads} ${Math.max(...p.kernel.processes.keys())}\n`;
}

/** /proc/stat: CPU time of the guest processes of the run on CPU 0 (other CPUs shown idle), boot
 *  time, counts. */
export function statFile(p: Process): string {
  let user = 0n;
  let sys = 0n;
  let running = 0;
  let blocked = 0;
  for (const q of p.kernel.processes.values()) {
    const u = processUsage(q);
    user += u.userNs;
    sys += u.sysNs;
    for (const t of q.threads.values()) {
      if (t.status === 'runnable') running++;
      else if (t.status === 'blocked') blocked++;
    }
  }
  const ticks = (ns: bigint): bigint => ns / NS_PER_TICK;
  const idle = ticks(monotonicNs()) - ticks(user) - ticks(sys);
  const cpu = `${ticks(user)} 0 ${ticks(sys)} ${idle > 0n ? idle : 0n} 0 0 0 0 0 0`;
  const btime = Math.floor(Date.now() / 1000 - uptime());
  // The guest's time is on cpu0 (one host thread runs it); the other CPUs shown are idle.
  const idleAll = ticks(monotonicNs());
  let others = '';
  for (let i = 1; i < cpuConfig.count; i++) others += `cpu${i} 0 0 0 ${idleAll} 0 0 0 0 0 0\n`;
  const total = cpuConfig.count > 1
    ? `${ticks(user)} 0 ${ticks(sys)} ${(idle > 0n ? idle : 0n) + idleAll * BigInt(cpuConfig.count - 1)} 0 0 0 0 0 0`
    : cpu;
  return `cpu  ${total}\ncpu0 ${cpu}\n${others}intr 0\nctxt 0\nbtime ${btime}\nprocesses ${p.kernel.processes.size}\nprocs_running ${running}\nprocs_blocked ${blocked}\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n`;
}

export const OSRELEASE = '6.1.0';
export const VERSION = '#1 SMP PREEMPT_DYNAMIC Debian 6.1.0 (rvisor)';

export function versionFile(): string {
  return `Linux version ${OSRELEASE} (rvisor) (riscv64-linux-gnu-gcc) ${VERSION}\n`;
}

/** The host's mount table: guest paths are host paths (see paths.ts), so it describes what the
 *  guest sees. */
export function mountsFile(): string {
  try {
    return readFileSync('/proc/self/mounts', 'latin1');
  } catch {
    return '';
  }
}

/** The file systems the kernel knows (the host's list: guest paths are host paths). */
export function filesystemsFile(): string {
  try {
    return readFileSync('/proc/filesystems', 'latin1');
  } catch {
    return '';
  }
}

export function mountinfoFile(): string {
  try {
    return readFileSync('/proc/self/mountinfo', 'latin1');
  } catch {
    return '';
  }
}

/** Files of /proc/net the guest may read: the host's (the guest's network is the host's). */
export const NET_FILES = ['dev', 'if_inet6', 'igmp', 'igmp6'];

export function hostNetFile(name: string): string {
  try {
    return readFileSync(`/proc/net/${name}`, 'latin1');
  } catch {
    return '';
  }
}
