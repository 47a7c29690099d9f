// AF_UNIX sockets, entirely inside rvisor: every guest process of a run lives in this one host
// process, so a socket is an object and a connection is two objects pointing at each other.
// SOCK_STREAM (a byte stream whose chunks keep the SCM_RIGHTS/credentials they came with),
// SOCK_SEQPACKET (connected, message boundaries kept) and SOCK_DGRAM (messages, connected or
// addressed). Names: a path (bind makes a real socket file on the host — host-net.ts — so stat
// shows S_IFSOCK and a second bind gets EADDRINUSE; connect finds the socket by the resolved
// host path and the file's inode), an abstract name (sun_path[0] == 0, gone with the socket) or
// an autobind name (bind with only sun_family: "\0" + 5 hex digits). A connect to a listener
// queues a new server-side socket in the listener's backlog (it is connected at once, as on
// Linux); accept takes it.
import { MAY_WRITE, mayAccessFile, mayCreate, ownCreated } from './dac.js';
import { realpathSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ERRNO } from './errno.js';
import type { OpenFile } from './fd-table.js';
import { makeSocketFile } from './host-net.js';
import { resolveAt, pathString } from './paths.js';
import type { Process } from './process.js';
import { AT_FDCWD } from './syscalls/abi.js';
import {
  AF_UNIX, MSG_PEEK, MSG_WAITALL, POLLERR, POLLHUP, POLLRDHUP, POLL_IN, POLL_OUT, RCV_SHUTDOWN, SEND_SHUTDOWN,
  SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, WAIT, newGen,
  type Ancillary, type Cred, type Received, type SockImpl, type Wait,
} from './socket.js';

/** Linux's default socket buffer (net.core.wmem_default / rmem_default). */
export const DEFAULT_BUF = 212992;
/** net.unix.max_dgram_qlen. */
const MAX_DGRAM_QLEN = 10;
const SOMAXCONN = 4096;

interface Msg {
  data: Uint8Array;
  from: Uint8Array | null;
  rights: OpenFile[] | null;
  cred: Cred;
  /** The sending socket (datagram queue accounting). */
  sender: UnixSocket | null;
}

/** Bound names: host path → socket (with the socket file's inode), abstract name (hex) → socket. */
const byPath = new Map<string, { sock: UnixSocket; ino: bigint }>();
const byAbstract = new Map<string, UnixSocket>();
const SOL_SOCKET = 1;
let autobindNext = 1;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The release of an in-flight description (set by the system call layer: FdTable.release). */
let dropFile: (f: OpenFile) => void = () => {};
export function setDropFile(fn: (f: OpenFile) => void): void {
  dropFile = fn;
}

/** The host path a guest socket path names (its directory resolved), or -errno. */
function hostSocketPath(p: Process, path: string): string | number {
  const r = resolveAt(p, AT_FDCWD, path);
  if (typeof r === 'number') return r;
  const abs = resolve(r);
  try {
    return resolve(realpathSync(dirname(abs)), basename(abs));
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === 'ENOTDIR' ? -ERRNO.ENOTDIR : code === 'EACCES' ? -ERRNO.EACCES : -ERRNO.ENOENT;
  }
}

type Name = { kind: 'path'; path: string; addr: Uint8Array } | { kind: 'abstract'; key: string; addr: Uint8Array } | { kind: 'auto' };

/** Parses a sockaddr_un (the system call layer checked 0 < len <= 128), or -errno. */
function parseName(addr: Uint8Array): Name | number {
  if (addr.length < 2) return -ERRNO.EINVAL;
  const family = addr[0]! | (addr[1]! << 8);
  if (family !== AF_UNIX) return -ERRNO.EINVAL;
  if (addr.length === 2) return { kind: 'auto' };
  if (addr.length > 110) return -ERRNO.EINVAL;
  const sun = addr.subarray(2);
  if (sun[0] === 0) return { kind: 'abstract', key: hex(sun), addr: addr.slice() };  // keyed with the type by the caller
  let n = sun.indexOf(0);
  if (n < 0) n = sun.length;
  const path = pathString(sun.subarray(0, n));
  const out = new Uint8Array(2 + n + 1);
  out.set(addr.subarray(0, 2 + n));
  return { kind: 'path', path, addr: out };
}

export class UnixSocket implements SockImpl {
  readonly domain = AF_UNIX;
  readonly protocol = 0;
  gen = newGen();
  wgen = newGen();
  state: 'unconnected' | 'listening' | 'connected' = 'unconnected';
  /** The bound name (sockaddr_un bytes as getsockname returns them), or null. */
  addr: Uint8Array | null = null;
  private pathKey: string | null = null;
  private abstractKey: string | null = null;
  peer: UnixSocket | null = null;
  /** The connected datagram peer went away: the next send fails with ECONNREFUSED. */
  private peerDead = false;
  readonly rq: Msg[] = [];
  rqBytes = 0;
  readonly backlog: UnixSocket[] = [];
  private maxBacklog = 0;
  shut = 0;
  err = 0;
  passcred = false;
  sndbuf = DEFAULT_BUF;
  rcvbuf = DEFAULT_BUF;
  /** SO_PEERCRED: the peer's credentials at connect/socketpair time (for a listener: its own). */
  peerCred: Cred | null = null;
  /** The credentials of the process that made it listen or connect (what the peer sees). */
  ownCred: Cred | null = null;
  closed = false;

  constructor(readonly type: number) {}

  private touch(): void {
    this.gen = newGen();
    this.wgen = newGen();
  }

  static pair(type: number, cred: Cred): [UnixSocket, UnixSocket] {
    const a = new UnixSocket(type);
    const b = new UnixSocket(type);
    a.peer = b;
    b.peer = a;
    a.state = b.state = 'connected';
    a.peerCred = b.peerCred = cred;
    a.ownCred = b.ownCred = cred;
    return [a, b];
  }

  private get connectionBased(): boolean {
    return this.type !== SOCK_DGRAM;
  }

  bind(p: Process, addr: Uint8Array): number {
    const nm = parseName(addr);
    if (typeof nm === 'number') return nm;
    if (this.addr && nm.kind !== 'path') return -ERRNO.EINVAL;
    if (nm.kind === 'auto') return this.autobind();
    if (nm.kind === 'abstract') {
      // Abstract names are per socket type (a stream and a datagram socket may share one).
      const key = `${this.type}:${nm.key}`;
      if (byAbstract.has(key)) return -ERRNO.EADDRINUSE;
      byAbstract.set(key, this);
      this.abstractKey = key;
      this.addr = nm.addr;
      return 0;
    }
    if (nm.path === '') return -ERRNO.ENOENT;
    const host = hostSocketPath(p, nm.path);
    if (typeof host === 'number') return host;
    const denied = mayCreate(p.creds, host);
    if (denied) return denied;
    // As Linux: the file is made first (EADDRINUSE if the name exists), then a socket that
    // already has a name fails with EINVAL and the new file goes again.
    const r = makeSocketFile(host, 0o777 & ~p.umask);
    if (r < 0) return r;
    ownCreated(p.creds, host);
    if (this.addr) {
      try {
        unlinkSync(host);
      } catch {
        // nothing to undo
      }
      return -ERRNO.EINVAL;
    }
    let ino: bigint;
    try {
      ino = statSync(host, { bigint: true }).ino;
    } catch {
      return -ERRNO.ENOENT;
    }
    byPath.set(host, { sock: this, ino });
    this.pathKey = host;
    this.addr = nm.addr;
    return 0;
  }

  /** Binds an unused abstract name "\0XXXXX" (hex). */
  autobind(): number {
    if (this.addr) return 0;
    for (;;) {
      const name = new TextEncoder().encode((autobindNext++ & 0xfffff).toString(16).padStart(5, '0'));
      const addr = new Uint8Array(2 + 1 + 5);
      addr[0] = AF_UNIX;
      addr.set(name, 3);
      const key = `${this.type}:${hex(addr.subarray(2))}`;
      if (byAbstract.has(key)) continue;
      byAbstract.set(key, this);
      this.abstractKey = key;
      this.addr = addr;
      return 0;
    }
  }

  /** The bound socket a name refers to, or -errno. */
  private lookup(p: Process, addr: Uint8Array): UnixSocket | number {
    const nm = parseName(addr);
    if (typeof nm === 'number') return nm;
    if (nm.kind === 'auto') return -ERRNO.EINVAL;
    let s: UnixSocket | undefined;
    if (nm.kind === 'abstract') s = byAbstract.get(`${this.type}:${nm.key}`);
    else {
      if (nm.path === '') return -ERRNO.ENOENT;
      const host = hostSocketPath(p, nm.path);
      if (typeof host === 'number') return host;
      const denied = mayAccessFile(p.creds, host, MAY_WRITE);
      if (denied) return denied;
      let st;
      try {
        st = statSync(host, { bigint: true });
      } catch (e) {
        const code = (e as { code?: string }).code;
        return code === 'EACCES' ? -ERRNO.EACCES : code === 'ENOTDIR' ? -ERRNO.ENOTDIR : -ERRNO.ENOENT;
      }
      const b = byPath.get(host);
      if (b && b.ino === st.ino && st.isSocket()) s = b.sock;
    }
    if (!s || s.closed) return -ERRNO.ECONNREFUSED;
    if (s.type !== this.type) return -ERRNO.EPROTOTYPE;
    return s;
  }

  listen(p: Process, backlog: number): number {
    if (!this.connectionBased) return -ERRNO.EOPNOTSUPP;
    if (this.state === 'connected') return -ERRNO.EINVAL;
    if (!this.addr) return -ERRNO.EINVAL;
    this.maxBacklog = backlog < 0 || backlog > SOMAXCONN ? SOMAXCONN : backlog;
    this.state = 'listening';
    this.ownCred = { pid: p.pid, uid: p.uid, gid: p.gid };
    this.touch();
    return 0;
  }

  accept(_p: Process): UnixSocket | number | Wait {
    if (!this.connectionBased) return -ERRNO.EOPNOTSUPP;
    if (this.state !== 'listening') return -ERRNO.EINVAL;
    const s = this.backlog.shift();
    if (!s) return WAIT;
    s.addr = this.addr;
    this.touch();
    if (s.peer) s.peer.touch();
    return s;
  }

  connect(p: Process, _tid: number, addr: Uint8Array, nonblock: boolean): number | Wait {
    if (addr.length >= 2 && (addr[0]! | (addr[1]! << 8)) === 0 && !this.connectionBased) {
      // AF_UNSPEC dissolves a datagram association.
      this.peer = null;
      this.peerDead = false;
      return 0;
    }
    const target = this.lookup(p, addr);
    if (typeof target === 'number') return target;
    const cred = { pid: p.pid, uid: p.uid, gid: p.gid };
    if (!this.connectionBased) {
      this.peer = target;
      this.peerDead = false;
      this.peerCred = target.ownCred;
      this.touch();
      return 0;
    }
    if (this.state === 'connected') return -ERRNO.EISCONN;
    if (this.state === 'listening') return -ERRNO.EINVAL;
    if (target.state !== 'listening') return -ERRNO.ECONNREFUSED;
    if (target.backlog.length > target.maxBacklog) return nonblock ? -ERRNO.EAGAIN : WAIT;
    const srv = new UnixSocket(this.type);
    srv.state = 'connected';
    srv.peer = this;
    srv.peerCred = cred;
    srv.ownCred = target.ownCred;
    srv.passcred = target.passcred;
    // The new socket carries the listener's name from now on (getpeername before accept).
    srv.addr = target.addr;
    this.peer = srv;
    this.state = 'connected';
    this.peerCred = target.ownCred;
    this.ownCred = cred;
    target.backlog.push(srv);
    target.touch();
    this.touch();
    return 0;
  }

  send(p: Process, data: Uint8Array, _flags: number, to: Uint8Array | null, anc: Ancillary | null, nonblock: boolean): number | Wait {
    if (this.err) return -this.takeError();
    const cred = anc?.cred ?? { pid: p.pid, uid: p.uid, gid: p.gid };
    if (this.type === SOCK_SEQPACKET) to = null; // Linux ignores a seqpacket's msg_name
    let target: UnixSocket;
    if (this.connectionBased) {
      if (this.shut & SEND_SHUTDOWN) return -ERRNO.EPIPE;
      if (this.state !== 'connected' || !this.peer) return to ? -ERRNO.EOPNOTSUPP : this.type === SOCK_STREAM ? -ERRNO.ENOTCONN : -ERRNO.ENOTCONN;
      if (to && this.type === SOCK_STREAM) return -ERRNO.EISCONN;
      target = this.peer;
      if (target.closed || target.shut & RCV_SHUTDOWN) return -ERRNO.EPIPE;
    } else {
      if (to) {
        const t = this.lookup(p, to);
        if (typeof t === 'number') return t;
        target = t;
      } else {
        if (this.peerDead) {
          this.peerDead = false;
          this.peer = null;
          return -ERRNO.ECONNREFUSED;
        }
        if (!this.peer) return -ERRNO.ENOTCONN;
        target = this.peer;
      }
      if (target.peer && target.peer !== this && !target.closed) return -ERRNO.EPERM;
      if (target.shut & RCV_SHUTDOWN) return -ERRNO.EPIPE;
    }
    if (this.type !== SOCK_STREAM && data.length > this.sndbuf - 32) return -ERRNO.EMSGSIZE;
    const from = this.type === SOCK_DGRAM ? (this.passcred || target.passcred ? (this.autobind(), this.addr) : this.addr) : null;
    if (this.type === SOCK_STREAM) {
      // Room: the peer holds less than our send buffer unread. A blocking send then queues all
      // of its bytes at once (so the call is never re-executed after part of it went).
      const room = this.sndbuf - target.rqBytes;
      if (room <= 0) return nonblock ? -ERRNO.EAGAIN : WAIT;
      const n = nonblock ? Math.min(room, data.length) : data.length;
      if (n === 0 && !anc?.rights) return 0;
      target.enqueue({ data: data.slice(0, n), from: null, rights: anc?.rights ?? null, cred, sender: this });
      return n;
    }
    const full = target.rqBytes + data.length > this.sndbuf || (target.peer !== this && target.rq.length > MAX_DGRAM_QLEN);
    if (full && target.rq.length > 0) return nonblock ? -ERRNO.EAGAIN : WAIT;
    target.enqueue({ data: data.slice(), from, rights: anc?.rights ?? null, cred, sender: this });
    return data.length;
  }

  private enqueue(m: Msg): void {
    this.rq.push(m);
    this.rqBytes += m.data.length;
    this.gen = newGen();
  }

  recv(_p: Process, max: number, flags: number, _nonblock: boolean): Received | number | Wait {
    const peek = (flags & MSG_PEEK) !== 0;
    if (this.type === SOCK_STREAM) {
      if (this.state === 'listening' || (this.state !== 'connected' && this.rq.length === 0)) return -ERRNO.EINVAL;
      const eof = (this.shut & RCV_SHUTDOWN) !== 0 || !this.peer || this.peer.closed;
      if (this.rq.length === 0) {
        if (this.err) return -this.takeError();
        return eof || max === 0 ? { data: new Uint8Array(0), full: 0, from: null } : WAIT;
      }
      if (flags & MSG_WAITALL && !peek && this.rqBytes < Math.min(max, this.rcvbuf) && !eof && !this.rq.some((m) => m.rights)) return WAIT;
      // Bytes from consecutive chunks; a chunk with descriptors starts a new read.
      const parts: Uint8Array[] = [];
      let got = 0;
      let rights: OpenFile[] | undefined;
      let cred: Cred | undefined;
      let i = 0;
      while (i < this.rq.length && got < max) {
        const m = this.rq[i]!;
        if (got > 0 && (m.rights || (this.passcred && cred && (m.cred.pid !== cred.pid || m.cred.uid !== cred.uid)))) break;
        if (m.rights) rights = m.rights;
        cred = m.cred;
        const n = Math.min(m.data.length, max - got);
        parts.push(m.data.subarray(0, n));
        got += n;
        if (!peek) {
          if (m.rights) m.rights = null;
          if (n === m.data.length) {
            this.rq.shift();
            this.rqBytes -= n;
            continue;
          }
          m.data = m.data.subarray(n);
          this.rqBytes -= n;
          break;
        }
        i++;
        if (n < m.data.length) break;
      }
      if (!peek) this.consumed();
      const data = concat(parts, got);
      return { data, full: got, from: null, rights: peek ? undefined : rights, cred: this.passcred ? cred : undefined };
    }
    const m = this.rq[0];
    if (!m) {
      if (this.err) return -this.takeError();
      if (this.type !== SOCK_DGRAM && (this.shut & RCV_SHUTDOWN || !this.peer || this.peer.closed)) return { data: new Uint8Array(0), full: 0, from: null };
      if (this.type !== SOCK_DGRAM && this.state !== 'connected') return -ERRNO.ENOTCONN;
      if (this.type === SOCK_DGRAM && this.shut & RCV_SHUTDOWN) return { data: new Uint8Array(0), full: 0, from: null };
      return WAIT;
    }
    if (!peek) {
      this.rq.shift();
      this.rqBytes -= m.data.length;
      this.consumed();
    }
    const n = Math.min(max, m.data.length);
    const rights = peek ? undefined : m.rights ?? undefined;
    return { data: m.data.slice(0, n), full: m.data.length, from: m.from, rights, cred: this.passcred ? m.cred : undefined };
  }

  /** Bytes were taken from the queue: writers may have room now. */
  private consumed(): void {
    if (this.peer) this.peer.wgen = newGen();
  }

  shutdown(how: number): number {
    if (how < SHUT_RD || how > SHUT_RDWR) return -ERRNO.EINVAL;
    const mode = (how === SHUT_RD ? RCV_SHUTDOWN : how === SHUT_WR ? SEND_SHUTDOWN : RCV_SHUTDOWN | SEND_SHUTDOWN);
    this.shut |= mode;
    this.touch();
    if (this.connectionBased && this.peer) {
      let pm = 0;
      if (mode & RCV_SHUTDOWN) pm |= SEND_SHUTDOWN;
      if (mode & SEND_SHUTDOWN) pm |= RCV_SHUTDOWN;
      this.peer.shut |= pm;
      this.peer.touch();
    }
    return 0;
  }

  name(): Uint8Array {
    return this.addr ?? unnamed();
  }

  peerName(): Uint8Array | number {
    if (!this.peer || (this.connectionBased && this.state !== 'connected')) return -ERRNO.ENOTCONN;
    return this.peer.addr ?? unnamed();
  }

  // AF_UNIX has no options of its own beyond SOL_SOCKET's (the layer's): Linux's unix sockets
  // have no protocol getsockopt/setsockopt, so any other level is EOPNOTSUPP.
  getopt(_p: Process, level: number, _opt: number): Uint8Array | number {
    return level === SOL_SOCKET ? -ERRNO.ENOPROTOOPT : -ERRNO.EOPNOTSUPP;
  }

  setopt(_p: Process, level: number, _opt: number, _val: Uint8Array): number {
    return level === SOL_SOCKET ? -ERRNO.ENOPROTOOPT : -ERRNO.EOPNOTSUPP;
  }

  takeError(): number {
    const e = this.err;
    this.err = 0;
    return e;
  }

  readiness(): number {
    let m = 0;
    if (this.err) m |= POLLERR;
    if (this.state === 'listening') return m | (this.backlog.length > 0 ? POLL_IN : 0);
    const peerGone = this.connectionBased && this.state === 'connected' && (!this.peer || this.peer.closed);
    const shut = this.shut | (peerGone ? RCV_SHUTDOWN | SEND_SHUTDOWN : 0);
    if (shut === (RCV_SHUTDOWN | SEND_SHUTDOWN)) m |= POLLHUP;
    if (shut & RCV_SHUTDOWN) m |= POLLRDHUP | POLL_IN;
    if (this.rq.length > 0) m |= POLL_IN;
    if (this.connectionBased && this.state !== 'connected') m |= POLLHUP;
    // Writable: room at the other end (a peer-less datagram socket can always send).
    const t = this.peer;
    if (this.connectionBased) {
      if (this.state === 'connected' && t && !t.closed && !(shut & SEND_SHUTDOWN) && t.rqBytes < this.sndbuf) m |= POLL_OUT;
      else if (this.state !== 'connected' || shut & SEND_SHUTDOWN || peerGone) m |= POLL_OUT;
    } else if (!t || t.closed || t.peer === this || t.rq.length <= MAX_DGRAM_QLEN) m |= POLL_OUT;
    return m;
  }

  unread(): number {
    if (this.state === 'listening') return -ERRNO.EINVAL;
    if (this.type === SOCK_STREAM) return this.rqBytes;
    return this.rq[0]?.data.length ?? 0;
  }

  listening(): boolean {
    return this.state === 'listening';
  }

  release(): void {
    this.closed = true;
    this.touch();
    if (this.pathKey && byPath.get(this.pathKey)?.sock === this) byPath.delete(this.pathKey);
    if (this.abstractKey && byAbstract.get(this.abstractKey) === this) byAbstract.delete(this.abstractKey);
    const peer = this.peer;
    if (peer) {
      if (this.connectionBased) {
        peer.shut = RCV_SHUTDOWN | SEND_SHUTDOWN;
        if (this.rq.length > 0) peer.err = ERRNO.ECONNRESET;
        peer.touch();
      } else if (peer.peer === this) {
        peer.peerDead = true;
        peer.touch();
      }
    }
    // Connections nobody accepted are reset; queued descriptors are closed.
    for (const s of this.backlog.splice(0)) s.release();
    for (const m of this.rq.splice(0)) for (const f of m.rights ?? []) dropFile(f);
    this.rqBytes = 0;
    this.peer = null;
  }
}

function unnamed(): Uint8Array {
  return new Uint8Array([AF_UNIX, 0]);
}

function concat(parts: Uint8Array[], n: number): Uint8Array {
  if (parts.length === 1) return parts[0]!.slice();
  const out = new Uint8Array(n);
  let o = 0;
  for (const q of parts) {
    out.set(q, o);
    o += q.length;
  }
  return out;
}
