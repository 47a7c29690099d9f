// execve of host-native programs: what qemu-user with binfmt_misc does in the other direction.
// When a guest execve's an ELF file whose e_machine is the host's own architecture (x86-64 on an
// x86-64 host; the rule is applied after the `#!` resolution of children.ts, so a script whose
// interpreter is a host program runs that program), rvisor starts it as a real host process and
// the guest process becomes its stand-in: same guest pid, no threads, no memory. Its parent's
// wait4/waitid get the host program's exit status or terminating signal (and SIGCHLD), a kill
// by a guest reaches the host process, and the other guest threads go on running meanwhile.
//
// What the program inherits, as exec(2) keeps it: the fds without close-on-exec at the same
// numbers (host fds as they are; rvisor's in-emulator pipe ends through real host pipes that
// host-bridge.ts pumps both ways while anyone holds them; kinds that are no byte stream, such as
// eventfd and epoll, are not passed), the working directory, the envp given to execve, argv
// with argv[0] as given, the umask, signals set to SIG_IGN, and the file offsets rvisor keeps
// for regular files (written back when the program ends). Node's spawn resets every signal to
// SIG_DFL and has no lseek, so when a signal is ignored or an offset must be set first, the
// program is started through a three-line perl trampoline (perl-base is part of every Debian
// system; without perl those two properties are lost).
//
// `rvisor exec --no-host-exec` (or RVISOR_HOST_EXEC=0) turns it off: such an execve then fails
// with ENOEXEC, as it did before. A host program that execve's a riscv64 program is the host
// kernel's business (binfmt_misc with qemu-user), not rvisor's.
import { HOST_ROOT } from './creds.js';
import { hostPath as toHostBytes } from './paths.js';
import { closeSync, existsSync, openSync, readSync, realpathSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import { ERRNO } from './errno.js';
import { FdTable, O_ACCMODE, O_APPEND, O_WRONLY, kernelOffset, pipeTake, type HostFile, type OpenFile, type PipeEnd } from './fd-table.js';
import { FutexTable } from './futex.js';
import { CLOSED, EOF, Ring, STOP, STOPPED, WAITING, hostPipes, post, shutdownBridges } from './host-bridge.js';
import type { Kernel } from './kernel.js';
import type { Process } from './process.js';
import { SIGKILL, SIGNAL_NAMES, SIGSTOP, SIG_DFL, SIG_IGN } from './signals.js';
import type { Thread } from './thread.js';

/** Whether execve runs host-native programs (the CLI's --no-host-exec clears it). */
export const hostExecConfig = { enabled: true };

/** ELF e_machine of each Node process.arch. */
const MACHINES: Record<string, number> = { x64: 62, arm64: 183, ia32: 3, arm: 40, ppc64: 21, s390x: 22, loong64: 258, riscv64: 243 };
const EM_RISCV = 243;

/** True if `data` (the start of a file) is an ELF image for the host's own architecture, and
 *  host execution is on. riscv64 images always run in rvisor. */
export function isHostElf(data: Uint8Array): boolean {
  if (!hostExecConfig.enabled) return false;
  if (data.length < 20 || data[0] !== 0x7f || data[1] !== 0x45 || data[2] !== 0x4c || data[3] !== 0x46) return false;
  const m = data[5] === 2 ? (data[18]! << 8) | data[19]! : data[18]! | (data[19]! << 8);
  const host = MACHINES[process.arch];
  return host !== undefined && host !== EM_RISCV && m === host;
}

/** spawn state words: [state, host pid or errno, exit code, signal]. */
const SPAWNING = 0, RUNNING = 1, FAILED = 2, EXITED = 3;

/** A host program standing in for a guest process. */
export class HostProgram {
  readonly st = new Int32Array(new SharedArrayBuffer(16));
  /** Seekable host files whose offset the program shares: the offset it started from. */
  readonly offsets: Array<{ f: HostFile; start: number }> = [];
  constructor(readonly proc: Process, readonly id: number) {}

  get hostPid(): number {
    return Atomics.load(this.st, 0) === RUNNING ? this.st[1]! : 0;
  }

  /** kill(2) from a guest: forwarded to the host process while it runs. */
  signal(sig: number): void {
    const pid = this.hostPid;
    if (pid <= 0 || sig === 0) return;
    try {
      process.kill(pid, sig);
    } catch {
      // it has just ended
    }
  }
}

interface Bridge {
  kind: 'in' | 'out';
  id: number;
  owner: number;
  ring: Ring;
  /** Holds the bridge's own reference to the pipe end (released like a guest fd). */
  holder: FdTable;
  /** What the bridge carries: an rvisor pipe end, or (for 'in') a host input whose reader
   *  (host-input.ts) holds bytes read ahead that the program must get first. */
  end: PipeEnd | HostFile;
  kernel: Kernel;
  /** 'in': rvisor's read end of the host pipe (what the program left unread), else -1. */
  back: number;
  /** 'in': rvisor's write end (the worker writes it; closed here once the worker stopped). */
  ours: number;
  /** 'in': the guest side reached EOF and the worker was told. */
  eofSent: boolean;
}

const programs = new Set<HostProgram>();

/** The host pids of the host programs guest processes stand for now. */
export function hostProgramPids(): Set<number> {
  const out = new Set<number>();
  for (const x of programs) if (x.hostPid > 0) out.add(x.hostPid);
  return out;
}
const bridges = new Set<Bridge>();
let nextId = 1;

const decoder = new TextDecoder();
const strict = new TextDecoder('utf-8', { fatal: true });

let perlPath: string | null | undefined;
function perl(): string | null {
  if (perlPath === undefined) perlPath = ['/usr/bin/perl', '/bin/perl'].find((x) => existsSync(x)) ?? null;
  return perlPath;
}

/** Sets the ignored signals and the fds' offsets, closes the fds 0-2 the guest did not have
 *  (spawn puts /dev/null there), takes the guest's user and group ids and groups when rvisor
 *  is root and the guest is someone else (dac.ts), then execs the program (argv[0] as given).
 *  Arguments and environment that are not UTF-8 (Node's spawn takes only text) come hex-encoded
 *  and are turned back into their bytes. */
const TRAMPOLINE = 'my ($i, $s, $c, $u, $x, $f) = splice(@ARGV, 0, 6); $SIG{$_} = "IGNORE" for grep { length } split /,/, $i; '
  + 'if ($x) { ($f, @ARGV) = map { pack "H*", $_ } ($f, @ARGV); my $e = delete $ENV{RVISOR_HEX_ENV}; %ENV = (); '
  + 'for (split /,/, $e) { my ($k, $v) = split /=/, pack("H*", $_), 2; $ENV{$k} = $v } } '
  + 'if (length $u) { my ($ru, $eu, $rg, $eg, @g) = split /,/, $u; $( = $rg; $) = join(" ", $eg, @g ? @g : $eg); '
  + '($<, $>) = ($ru, $eu); exit 126 if $< != $ru || $> != $eu } '
  + 'if (length $s || length $c) { require POSIX; for (split /,/, $s) { my ($fd, $pos) = split /:/; POSIX::lseek($fd, $pos, 0) } '
  + 'POSIX::close($_) for split /,/, $c } exec { $f } @ARGV; exit 127;';

/** Moves up to n bytes out of an rvisor pipe. */
function takeFromPipe(end: PipeEnd, n: number): Uint8Array {
  return pipeTake(end.pipe, n);
}

/** Runs host program `hostPath` in place of process `p` (the guest called execve in thread t).
 *  Returns -errno with the process unchanged if it cannot start, else 0 with `p` now its
 *  stand-in (the caller returns NO_RETURN). */
export function execHost(p: Process, t: Thread, hostPath: string, argv: Uint8Array[], envp: Uint8Array[]): number {
  const file = resolve(p.cwd, hostPath.startsWith('/proc/') ? safeRealpath(hostPath) : hostPath);
  // A guest that is not root runs host programs as itself, not as rvisor's root (the perl
  // trampoline drops to its ids; without perl there is no way to, and the exec is refused).
  const c = p.creds;
  const asGuest = HOST_ROOT && (c.ruid !== 0 || c.euid !== 0);
  if (asGuest && !perl()) return -ERRNO.EACCES;
  const idSpec = asGuest ? [c.ruid, c.euid, c.rgid, c.egid, ...c.groups].join(',') : '';
  // The fds the program gets: host fds as they are, rvisor pipe ends through host pipes.
  const passed: Array<[number, OpenFile]> = [];
  for (const fd of p.fds.fds()) if (!p.fds.getCloexec(fd)) passed.push([fd, p.fds.get(fd)!]);
  const piped: Array<PipeEnd | HostFile> = [];
  for (const [, f] of passed) {
    if (piped.includes(f as PipeEnd)) continue;
    if (f.kind === 'pipe' || (f.kind === 'host' && f.input?.holding)) piped.push(f);
  }
  let pipes: Array<{ ours: number; theirs: number; back: number }>;
  try {
    pipes = hostPipes(piped.map((e) => (e.kind === 'pipe' && e.write ? 'out' : 'in')));
  } catch {
    return -ERRNO.ENFILE;
  }
  const toClose: number[] = pipes.map((x) => x.theirs);
  const hostFdOf = new Map<OpenFile, number>();
  piped.forEach((e, i) => hostFdOf.set(e, pipes[i]!.theirs));
  const prog = new HostProgram(p, nextId++);
  for (const [, f] of passed) {
    if (f.kind !== 'host' || hostFdOf.has(f)) continue;
    let hfd = f.hostFd;
    if (f.input) {
      // A worker reads this terminal or pipe (host-input.ts) and made it non-blocking: the
      // program gets a blocking description of the same file if one can be opened.
      try {
        hfd = openSync(`/proc/self/fd/${f.hostFd}`, f.flags & O_ACCMODE);
        toClose.push(hfd);
      } catch {
        // a socket: passed as it is
      }
    }
    // The offset matters unless the file is only appended to (O_APPEND writes go to the end).
    if (f.seekable && f.pos !== null && !f.isDir && !((f.flags & O_APPEND) && (f.flags & O_ACCMODE) === O_WRONLY)) {
      prog.offsets.push({ f, start: f.pos });
    }
    hostFdOf.set(f, hfd);
  }
  const stdio: Array<number | 'ignore'> = [];
  const top = passed.length ? passed[passed.length - 1]![0] : -1;
  for (let i = 0; i <= top; i++) stdio.push('ignore');
  for (const [fd, f] of passed) {
    const h = hostFdOf.get(f);
    if (h !== undefined) stdio[fd] = h;
  }
  // Offsets to set: by the program's fd numbers (any fd naming the description will do).
  const seekSpec = prog.offsets
    .filter(({ f }) => kernelOffset(f.hostFd) !== f.pos)
    .map(({ f }) => `${passed.find(([, g]) => g === f)![0]}:${f.pos}`);
  const ignored: string[] = [];
  for (let sig = 1; sig < 32; sig++) {
    if (sig === SIGKILL || sig === SIGSTOP) continue;
    if (p.actions.get(sig).handler === SIG_IGN && SIGNAL_NAMES[sig]) ignored.push(SIGNAL_NAMES[sig]!.slice(3));
  }
  // Names and values that are not UTF-8 go through the trampoline as hex (bytes intact).
  const text = (b: Uint8Array): boolean => {
    try {
      strict.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  const raw = perl() !== null && (!argv.every(text) || !envp.every(text) || typeof toHostBytes(file) !== 'string');
  const hex = (b: Uint8Array | string): string => Buffer.from(b).toString('hex');
  let args = argv.slice(1).map((a) => decoder.decode(a));
  let argv0 = argv.length ? decoder.decode(argv[0]) : '';
  const env: Array<[string, string]> = [];
  const seen = new Set<string>();
  const rawEnv: string[] = [];
  for (const e of envp) {
    const s = decoder.decode(e);
    const i = s.indexOf('=');
    if (i <= 0 || seen.has(s.slice(0, i))) continue;
    seen.add(s.slice(0, i));
    env.push([s.slice(0, i), s.slice(i + 1)]);
    rawEnv.push(hex(e));
  }
  let target = file;
  if (raw) {
    args = argv.slice(1).map(hex);
    argv0 = argv.length ? hex(argv[0]!) : '';
    target = hex(toHostBytes(file));
    env.length = 0;
    env.push(['RVISOR_HEX_ENV', rawEnv.join(',')]);
  }
  const closed = [0, 1, 2].filter((fd) => stdio[fd] === undefined || stdio[fd] === 'ignore');
  const tramp = (ignored.length || seekSpec.length || closed.length || asGuest || raw) && perl();
  // Bridges first: the worker must know them when the program exits.
  const made: Bridge[] = piped.map((end, i) => {
    const holder = new FdTable();
    holder.install(end, false);
    const b: Bridge = {
      kind: end.kind === 'pipe' && end.write ? 'out' : 'in', id: nextId++, owner: prog.id, ring: new Ring(), holder, end,
      kernel: p.kernel, back: pipes[i]!.back, ours: pipes[i]!.back >= 0 ? pipes[i]!.ours : -1, eofSent: false,
    };
    post({ op: b.kind, id: b.id, fd: pipes[i]!.ours, buf: b.ring.buf, owner: prog.id });
    return b;
  });
  const oldMask = process.umask(p.umask);
  try {
    post({
      op: 'spawn', st: prog.st.buffer, owner: prog.id,
      file: tramp ? tramp : file,
      args: tramp ? ['-e', TRAMPOLINE, ignored.join(','), seekSpec.join(','), closed.join(','), idSpec, raw ? '1' : '', target, argv0, ...args] : args,
      argv0: tramp ? 'perl' : argv0,
      env, cwd: p.cwd, stdio,
    });
    Atomics.wait(prog.st, 0, SPAWNING, 30_000);
  } finally {
    process.umask(oldMask);
  }
  for (const fd of toClose) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
  const state = Atomics.load(prog.st, 0);
  if (state !== RUNNING && state !== EXITED) {
    for (const b of made) {
      post({ op: 'close', id: b.id });
      b.holder.closeAll();
      if (b.kind === 'in') {
        closeSync(b.back);
        b.ring.waitFlag(STOPPED, 5000);
        closeOurs(b);
      }
    }
    if (state === SPAWNING) return -ERRNO.EAGAIN;
    const name = Object.entries(osConstants.errno).find(([, v]) => v === prog.st[1])?.[0];
    return -((ERRNO as Record<string, number>)[name ?? ''] ?? ERRNO.ENOEXEC);
  }
  for (const b of made) bridges.add(b);
  programs.add(prog);
  becomeStandIn(p, t, prog, file);
  return 0;
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The guest process gives up its image for the host program: its threads end, its memory is
 *  freed, close-on-exec fds are closed, caught signals go back to the default, a vfork parent
 *  goes on. */
function becomeStandIn(p: Process, t: Thread, prog: HostProgram, file: string): void {
  p.config.strace?.note(t, `--- execve of host program ${JSON.stringify(file)}: host pid ${prog.hostPid} ---`);
  p.releaseThreads();
  const old = p.as;
  p.as = p.newAddressSpace();
  old.onShrink = () => {};
  old.destroy();
  p.futex = new FutexTable();
  p.pollDeadlines.clear();
  p.config.exePath = safeRealpath(file);
  p.threadNames.clear();
  for (let sig = 1; sig < p.actions.actions.length; sig++) {
    const a = p.actions.get(sig);
    p.actions.set(sig, { handler: a.handler === SIG_IGN ? SIG_IGN : SIG_DFL, flags: 0, mask: 0n });
  }
  for (const fd of p.fds.fds()) if (p.fds.getCloexec(fd)) p.fds.close(fd);
  p.hostProgram = prog;
  p.wakeRetriers();
  p.kernel.releaseVfork(p);
}

/** Moves bytes through one bridge; true if anything changed. */
function pump(b: Bridge): boolean {
  const end = b.end;
  if (end.kind === 'host') return pumpHostInput(b, end);
  const pipe = end.pipe;
  if (b.kind === 'out') {
    if (pipe.readers === 0) {
      // Nobody reads the guest end: the program's writes fail (EPIPE, SIGPIPE) as on Linux.
      post({ op: 'close', id: b.id });
      return finish(b);
    }
    const eof = (b.ring.flags() & EOF) !== 0;
    const n = Math.min(b.ring.used(), pipe.capacity - pipe.size);
    let moved = false;
    if (n > 0) {
      pipe.chunks.push(b.ring.read(n));
      pipe.size += n;
      moved = true;
      if (b.ring.takeFlag(WAITING)) post({ op: 'space', id: b.id });
    }
    if (eof && b.ring.used() === 0) return finish(b);
    if (moved) b.kernel.wakeRetriers();
    return moved;
  }
  if (b.ring.flags() & STOPPED) closeOurs(b); // after EOF: the program sees it
  if (b.ring.flags() & CLOSED) return reclaim(b); // the program's end closed: guest writers get EPIPE
  if (b.eofSent) return false;
  const n = Math.min(pipe.size, b.ring.space());
  if (n > 0) {
    b.ring.write(takeFromPipe(end, n));
    post({ op: 'data', id: b.id });
    b.kernel.wakeRetriers();
    return true;
  }
  if (pipe.size === 0 && pipe.writers === 0) {
    b.ring.setFlag(EOF);
    post({ op: 'data', id: b.id });
    b.eofSent = true;
  }
  return false;
}

/** An 'in' bridge from a host input: the bytes its reader holds, then the rest of the input. */
function pumpHostInput(b: Bridge, f: HostFile): boolean {
  if (b.ring.flags() & STOPPED) closeOurs(b);
  if (b.ring.flags() & CLOSED) return reclaim(b);
  const space = b.ring.space();
  if (b.eofSent || space === 0) return false;
  const r = f.input!.take(space);
  if (r === null) return false; // asked for: its worker wakes the scheduler
  if (typeof r === 'number') {
    b.ring.setFlag(EOF);
    b.eofSent = true;
  } else b.ring.write(r);
  post({ op: 'data', id: b.id });
  return true;
}

/** Ends an 'in' bridge: the worker stops writing, and what the program did not read (still in
 *  the host pipe, then still in the ring) goes back to the front of the rvisor pipe. */
function reclaim(b: Bridge): boolean {
  b.ring.setFlag(STOP);
  post({ op: 'data', id: b.id });
  if (b.ring.waitFlag(STOPPED, 5000)) closeOurs(b);
  const parts: Uint8Array[] = [];
  const buf = Buffer.allocUnsafe(65536);
  for (;;) {
    let n = 0;
    try {
      n = readSync(b.back, buf, 0, buf.length, null);
    } catch {
      break; // EAGAIN: empty
    }
    if (n <= 0) break;
    parts.push(new Uint8Array(buf.subarray(0, n)));
  }
  closeSync(b.back);
  const rest = b.ring.read(b.ring.used());
  if (rest.length) parts.push(rest);
  const end = b.end;
  if (end.kind === 'host') end.input!.unread(parts);
  else {
    for (const x of parts) end.pipe.size += x.length;
    end.pipe.chunks.unshift(...parts);
  }
  return finish(b);
}

function closeOurs(b: Bridge): void {
  if (b.ours < 0) return;
  try {
    closeSync(b.ours);
  } catch {
    // already closed
  }
  b.ours = -1;
}

function finish(b: Bridge): boolean {
  bridges.delete(b);
  b.holder.closeAll();
  b.kernel.wakeRetriers();
  return true;
}

/** The scheduler's step: moves bytes through the bridges and ends the stand-ins of host
 *  programs that have exited. True if something changed. */
export function stepHostPrograms(): boolean {
  let changed = false;
  for (const b of [...bridges]) if (pump(b)) changed = true;
  for (const prog of [...programs]) {
    if (Atomics.load(prog.st, 0) !== EXITED) continue;
    // What it wrote before it ended is in the rings now: into the pipes first; what it did not
    // read goes back to the guest's pipes.
    for (const b of [...bridges]) if (b.owner === prog.id) pump(b);
    for (const b of [...bridges]) if (b.owner === prog.id && b.kind === 'in') reclaim(b);
    programs.delete(prog);
    const q = prog.proc;
    q.hostProgram = null;
    for (const { f, start } of prog.offsets) {
      const now = kernelOffset(f.hostFd);
      if (now !== start && f.pos !== null) f.pos = now;
    }
    const sig = prog.st[3]!;
    if (sig) q.kill(sig);
    else q.exitStatus = prog.st[2]! & 0xff;
    changed = true;
  }
  return changed;
}

/** True while a host program runs or a bridge may still bring bytes. */
export function hostProgramsPending(): boolean {
  if (programs.size) return true;
  for (const b of bridges) if (b.kind === 'out') return true;
  return false;
}

/** The run is over: the bridges stop (host programs still running go on, as orphans do). */
export function shutdownHostPrograms(): void {
  for (const b of [...bridges]) {
    b.holder.closeAll();
    if (b.back >= 0) closeSync(b.back);
  }
  bridges.clear();
  programs.clear();
  shutdownBridges();
}

/** For a deadlock report. */
export function describeHostPrograms(): string {
  return [...programs].map((x) => `pid ${x.proc.pid} (host ${x.hostPid})`).join(', ');
}
