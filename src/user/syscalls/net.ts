// The socket system calls: socket, socketpair, bind, listen, accept/accept4, connect,
// sendto/recvfrom, sendmsg/recvmsg, sendmmsg/recvmmsg, shutdown, get/setsockopt,
// getsockname/getpeername, and read/write on sockets (io.ts calls socketRead/socketWrite). This
// layer reads and checks the guest's arguments (sockaddr lengths, msghdr, iovecs, control
// messages: EFAULT/EINVAL as Linux), keeps the options every family shares, and blocks the calling
// thread when the family says WAIT (socket.ts); the families are unix-socket.ts,
// inet-socket.ts and netlink-socket.ts.
import { ACCESS_WRITE } from '../address-space.js';
import { monotonicNs } from '../clock.js';
import { ERRNO } from '../errno.js';
import { FdTable, O_CLOEXEC, O_NONBLOCK, O_RDWR, type OpenFile } from '../fd-table.js';
import { createInet } from '../inet-socket.js';
import { createRaw } from '../raw-socket.js';
import { AF_NETLINK, createNetlink } from '../netlink-socket.js';
import type { Process } from '../process.js';
import { SIGPIPE, SI_USER } from '../signals.js';
import {
  AF_INET, AF_INET6, AF_UNIX, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_OOB, MSG_TRUNC,
  SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM, WAIT, type Ancillary, type Cred, type SockImpl, type SocketFile,
} from '../socket.js';
import type { Thread } from '../thread.js';
import { UnixSocket, setDropFile } from '../unix-socket.js';
import { BLOCKED, int, size, u32, type SyscallDef, type SysResult } from './abi.js';
import { readIovecs } from './io.js';
import { socketGetopt, socketSetopt } from './sockopt.js';

const ESOCKTNOSUPPORT = 94;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
const SCM_MAX_FD = 253;
const MAX_IO = 16 * 1048576;

/** Drops a reference held outside any table (a description in flight in an SCM_RIGHTS message):
 *  FdTable.release does not depend on the table it is called on. */
const inFlight = new FdTable();
function dropRef(f: OpenFile): void {
  inFlight.release(f);
}
setDropFile(dropRef);

function newSocketFile(p: Process, sk: SockImpl, flags: number): SocketFile {
  return { kind: 'socket', id: p.fds.newAnonId(), sk, flags: O_RDWR | (flags & O_NONBLOCK), refs: 0, rcvtimeo: 0n, sndtimeo: 0n };
}

function sockOf(p: Process, fd: bigint): SocketFile | number {
  const f = p.fds.get(int(fd));
  if (!f) return -ERRNO.EBADF;
  return f.kind === 'socket' ? f : -ERRNO.ENOTSOCK;
}

/** Reads a sockaddr argument: its bytes, or -errno. */
function readAddr(p: Process, ptr: bigint, len: number): Uint8Array | number {
  if (len < 0 || len > 128) return -ERRNO.EINVAL;
  if (len === 0) return new Uint8Array(0);
  return p.as.read(ptr, len) ?? -ERRNO.EFAULT;
}

/** Writes an address for accept/getsockname/recvfrom: up to *lenPtr bytes, then the full length
 *  into *lenPtr. */
function writeAddr(p: Process, ptr: bigint, lenPtr: bigint, addr: Uint8Array): number {
  if (ptr === 0n || lenPtr === 0n) return 0;
  const l = p.as.readU32(lenPtr);
  if (l === null) return -ERRNO.EFAULT;
  if ((l | 0) < 0) return -ERRNO.EINVAL;
  const n = Math.min(l, addr.length);
  if (n > 0 && !p.as.write(ptr, addr.subarray(0, n))) return -ERRNO.EFAULT;
  return p.as.writeU32(lenPtr, addr.length) ? 0 : -ERRNO.EFAULT;
}

/** The family could not finish: EAGAIN for a non-blocking call, else the thread waits (at most
 *  until the SO_RCVTIMEO/SO_SNDTIMEO deadline, then EAGAIN). */
function waitOrAgain(p: Process, t: Thread, nonblock: boolean, timeout: bigint, err = -ERRNO.EAGAIN): SysResult {
  if (nonblock) return err;
  let deadline: bigint | null = null;
  if (timeout > 0n) {
    deadline = p.pollDeadlines.get(t.tid) ?? monotonicNs() + timeout;
    if (deadline <= monotonicNs()) {
      p.pollDeadlines.delete(t.tid);
      return err;
    }
    p.pollDeadlines.set(t.tid, deadline);
  }
  // At the deadline: EAGAIN, or EINPROGRESS for a connect (as Linux's SO_SNDTIMEO).
  p.block(t, { kind: 'retry', deadline, timeoutResult: err });
  return BLOCKED;
}

function done(p: Process, t: Thread, r: SysResult): SysResult {
  if (r !== BLOCKED) p.pollDeadlines.delete(t.tid);
  if (typeof r === 'number' && r >= 0) p.wakeRetriers();
  return r;
}

// ---- creation -----------------------------------------------------------------------------------

function makeSock(domain: number, type: number, protocol: number, privileged: boolean): SockImpl | number {
  if (domain === AF_UNIX) {
    if (type !== SOCK_STREAM && type !== SOCK_DGRAM && type !== SOCK_SEQPACKET) return -ESOCKTNOSUPPORT;
    if (protocol !== 0 && protocol !== AF_UNIX) return -ERRNO.EPROTONOSUPPORT;
    return new UnixSocket(type);
  }
  if ((domain === AF_INET || domain === AF_INET6) && type === SOCK_RAW) return createRaw(domain, protocol, privileged);
  if (domain === AF_INET || domain === AF_INET6) return createInet(domain, type, protocol);
  if (domain === AF_NETLINK) return createNetlink(type, protocol);
  return -ERRNO.EAFNOSUPPORT;
}

const TYPE_FLAGS = O_NONBLOCK | O_CLOEXEC;

const sysSocket = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const domain = int(a[0]);
  const raw = int(a[1]);
  if (raw & ~(0xf | TYPE_FLAGS)) return -ERRNO.EINVAL;
  const sk = makeSock(domain, raw & 0xf, int(a[2]), p.creds.privileged);
  if (typeof sk === 'number') return sk;
  const f = newSocketFile(p, sk, raw);
  const fd = p.fds.install(f, (raw & O_CLOEXEC) !== 0);
  if (fd < 0) sk.release();
  return fd;
};

const sysSocketpair = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const domain = int(a[0]);
  const raw = int(a[1]);
  const type = raw & 0xf;
  if (raw & ~(0xf | TYPE_FLAGS)) return -ERRNO.EINVAL;
  if (domain === AF_INET || domain === AF_INET6) return -ERRNO.EOPNOTSUPP;
  const probe = makeSock(domain, type, int(a[2]), false);
  if (typeof probe === 'number') return probe;
  if (domain === AF_NETLINK) {
    probe.release();
    return -ERRNO.EOPNOTSUPP;
  }
  if (!p.as.check(a[3]!, 8, ACCESS_WRITE)) return -ERRNO.EFAULT;
  const [x, y] = UnixSocket.pair(type, { pid: p.pid, uid: p.uid, gid: p.gid });
  const cloexec = (raw & O_CLOEXEC) !== 0;
  const fx = p.fds.install(newSocketFile(p, x, raw), cloexec);
  if (fx < 0) return fx;
  const fy = p.fds.install(newSocketFile(p, y, raw), cloexec);
  if (fy < 0) {
    p.fds.close(fx);
    return fy;
  }
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setInt32(0, fx, true);
  v.setInt32(4, fy, true);
  p.as.write(a[3]!, b);
  return 0;
};

// ---- addresses and connections ------------------------------------------------------------------

const sysBind = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const addr = readAddr(p, a[1]!, int(a[2]));
  if (typeof addr === 'number') return addr;
  return f.sk.bind(p, addr);
};

const sysListen = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const r = f.sk.listen(p, int(a[1]));
  if (r === 0) p.wakeRetriers();
  return r;
};

const accept = (p: Process, t: Thread, a: bigint[], flags: number): SysResult => {
  if (flags & ~TYPE_FLAGS) return -ERRNO.EINVAL;
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  if (a[1] !== 0n && a[2] !== 0n) {
    const l = p.as.readU32(a[2]!);
    if (l === null) return -ERRNO.EFAULT;
    if ((l | 0) < 0) return -ERRNO.EINVAL;
  }
  const r = f.sk.accept(p);
  if (r === WAIT) return waitOrAgain(p, t, (f.flags & O_NONBLOCK) !== 0, f.rcvtimeo);
  if (typeof r === 'number') return done(p, t, r);
  const nf = newSocketFile(p, r, flags);
  const fd = p.fds.install(nf, (flags & O_CLOEXEC) !== 0);
  if (fd < 0) {
    r.release();
    return done(p, t, fd);
  }
  const peer = r.peerName();
  const w = writeAddr(p, a[1]!, a[2]!, typeof peer === 'number' ? new Uint8Array([r.domain, 0]) : peer);
  if (w < 0) {
    p.fds.close(fd);
    return done(p, t, w);
  }
  return done(p, t, fd);
};

const sysAccept = (p: Process, t: Thread, a: bigint[]): SysResult => accept(p, t, a, 0);
const sysAccept4 = (p: Process, t: Thread, a: bigint[]): SysResult => accept(p, t, a, int(a[3]));

const sysConnect = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const addr = readAddr(p, a[1]!, int(a[2]));
  if (typeof addr === 'number') return addr;
  const nonblock = (f.flags & O_NONBLOCK) !== 0;
  const r = f.sk.connect(p, t.tid, addr, nonblock);
  if (r === WAIT) return waitOrAgain(p, t, nonblock, f.sndtimeo, -ERRNO.EINPROGRESS);
  return done(p, t, r);
};

const names = (peer: boolean) => (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const l = p.as.readU32(a[2]!);
  if (l === null) return -ERRNO.EFAULT;
  if ((l | 0) < 0) return -ERRNO.EINVAL;
  const addr = peer ? f.sk.peerName() : f.sk.name();
  if (typeof addr === 'number') return addr;
  return writeAddr(p, a[1]!, a[2]!, addr);
};

const sysShutdown = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const r = f.sk.shutdown(int(a[1]));
  p.wakeRetriers();
  return r;
};

// ---- sending and receiving ----------------------------------------------------------------------

function sigpipe(p: Process, t: Thread, flags: number): void {
  if (!(flags & MSG_NOSIGNAL)) p.sendToThread(t, { signo: SIGPIPE, code: SI_USER, pid: p.pid, uid: p.uid });
}

/** Sends `data` on socket f: a count, -errno or BLOCKED. */
function sendData(p: Process, t: Thread, f: SocketFile, data: Uint8Array, flags: number, to: Uint8Array | null, anc: Ancillary | null): SysResult {
  if (flags & MSG_OOB) return -ERRNO.EOPNOTSUPP;
  const nonblock = (f.flags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0;
  const r = f.sk.send(p, data, flags, to, anc, nonblock);
  if (r === WAIT) return waitOrAgain(p, t, nonblock, f.sndtimeo);
  if (r === -ERRNO.EPIPE) sigpipe(p, t, flags);
  if (r >= 0 && anc?.rights) for (const x of anc.rights) x.refs++;
  return done(p, t, r);
}

/** What a receive returned to the system call (before it is written to the guest). */
interface Got {
  data: Uint8Array;
  full: number;
  from: Uint8Array | null;
  rights?: OpenFile[];
  cred?: Cred;
}

function recvData(p: Process, t: Thread, f: SocketFile, max: number, flags: number): Got | number | typeof BLOCKED {
  if (flags & MSG_OOB) return -ERRNO.EINVAL;
  const nonblock = (f.flags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0;
  const r = f.sk.recv(p, Math.min(max, MAX_IO), flags, nonblock);
  if (r === WAIT) {
    const w = waitOrAgain(p, t, nonblock, f.rcvtimeo);
    return w === BLOCKED ? BLOCKED : (w as number);
  }
  done(p, t, typeof r === 'number' ? r : 0);
  return r;
}

/** read(2)/readv(2) of a socket (io.ts). */
export function socketRead(p: Process, t: Thread, f: SocketFile, want: number): Uint8Array | number | typeof BLOCKED {
  const r = recvData(p, t, f, want, 0);
  if (typeof r === 'number' || r === BLOCKED) return r;
  for (const x of r.rights ?? []) dropRef(x);
  return r.data;
}

/** splice(2) from a socket (splice.ts): up to `want` bytes; `nonblock` (SPLICE_F_NONBLOCK) fails
 *  with EAGAIN instead of waiting, as the socket's own O_NONBLOCK does. */
export function socketSpliceRead(p: Process, t: Thread, f: SocketFile, want: number, nonblock: boolean): Uint8Array | number | typeof BLOCKED {
  const r = recvData(p, t, f, want, nonblock ? MSG_DONTWAIT : 0);
  if (typeof r === 'number' || r === BLOCKED) return r;
  for (const x of r.rights ?? []) dropRef(x);
  return r.data;
}

/** write(2)/writev(2) of a socket (io.ts). */
export function socketWrite(p: Process, t: Thread, f: SocketFile, data: Uint8Array): SysResult {
  return sendData(p, t, f, data, 0, null, null);
}

const sysSendto = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const n = Math.min(size(a[2]), MAX_IO);
  const data = new Uint8Array(n);
  if (n > 0 && !p.as.readInto(a[1]!, data)) return -ERRNO.EFAULT;
  let to: Uint8Array | null = null;
  if (a[4] !== 0n) {
    const addr = readAddr(p, a[4]!, int(a[5]));
    if (typeof addr === 'number') return addr;
    if (addr.length > 0) to = addr;
  }
  return sendData(p, t, f, data, u32(a[3]), to, null);
};

/** MSG_TRUNC on a TCP socket: the bytes are taken and thrown away, never copied (tcp_recvmsg),
 *  so the buffer is not looked at. */
function discards(f: SocketFile, flags: number): boolean {
  return (flags & MSG_TRUNC) !== 0 && f.sk.type === SOCK_STREAM && f.sk.domain !== AF_UNIX;
}

const sysRecvfrom = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const n = Math.min(size(a[2]), MAX_IO);
  const flags = u32(a[3]);
  const drop = discards(f, flags);
  if (n > 0 && !drop && !p.as.check(a[1]!, n, ACCESS_WRITE)) return -ERRNO.EFAULT;
  if (a[4] !== 0n && a[5] !== 0n) {
    const l = p.as.readU32(a[5]!);
    if (l === null) return -ERRNO.EFAULT;
    if ((l | 0) < 0) return -ERRNO.EINVAL;
  }
  const r = recvData(p, t, f, n, flags);
  if (typeof r === 'number' || r === BLOCKED) return r;
  for (const x of r.rights ?? []) dropRef(x);
  if (r.data.length > 0 && !drop) p.as.write(a[1]!, r.data);
  if (r.from) {
    const w = writeAddr(p, a[4]!, a[5]!, r.from);
    if (w < 0) return w;
  } else if (a[4] !== 0n && a[5] !== 0n) p.as.writeU32(a[5]!, 0);
  return flags & MSG_TRUNC && f.sk.type !== SOCK_STREAM ? r.full : r.data.length;
};

/** A parsed struct msghdr. */
interface MsgHdr {
  name: bigint;
  namelen: number;
  iov: Array<[bigint, number]>;
  control: bigint;
  controllen: number;
}

function readMsghdr(p: Process, ptr: bigint): MsgHdr | number {
  const b = p.as.read(ptr, 56);
  if (!b) return -ERRNO.EFAULT;
  const v = new DataView(b.buffer);
  const iovlen = v.getBigUint64(24, true);
  if (iovlen > 1024n) return -ERRNO.EMSGSIZE;
  const iov = readIovecs(p, v.getBigUint64(16, true), Number(iovlen));
  if (typeof iov === 'number') return iov;
  const controllen = v.getBigUint64(40, true);
  if (controllen > 0x7fffffffn) return -ERRNO.ENOBUFS;
  return { name: v.getBigUint64(0, true), namelen: v.getInt32(8, true), iov, control: v.getBigUint64(32, true), controllen: Number(controllen) };
}

/** Parses the control messages of a sendmsg: ancillary data, or -errno. */
function parseControl(p: Process, f: SocketFile, h: MsgHdr): Ancillary | null | number {
  if (h.controllen === 0) return null;
  const buf = p.as.read(h.control, h.controllen);
  if (!buf) return -ERRNO.EFAULT;
  const v = new DataView(buf.buffer);
  const anc: Ancillary = { rights: null, cred: null };
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = v.getBigUint64(off, true);
    if (len < 16n || len > BigInt(buf.length - off)) return -ERRNO.EINVAL;
    const level = v.getInt32(off + 8, true);
    const type = v.getInt32(off + 12, true);
    const n = Number(len);
    if (level === SOL_SOCKET) {
      if (f.sk.domain !== AF_UNIX) return -ERRNO.EINVAL;
      if (type === SCM_RIGHTS) {
        const k = Math.floor((n - 16) / 4);
        if (k <= 0 || k + (anc.rights?.length ?? 0) > SCM_MAX_FD) return -ERRNO.EINVAL;
        const rights = anc.rights ?? [];
        for (let i = 0; i < k; i++) {
          const file = p.fds.get(v.getInt32(off + 16 + i * 4, true));
          if (!file) return -ERRNO.EBADF;
          rights.push(file);
        }
        anc.rights = rights;
      } else if (type === SCM_CREDENTIALS) {
        if (n !== 16 + 12) return -ERRNO.EINVAL;
        const c = { pid: v.getInt32(off + 16, true), uid: v.getUint32(off + 20, true), gid: v.getUint32(off + 24, true) };
        // Only a privileged sender may claim other ids (CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID).
        if (p.uid !== 0 && (c.pid !== p.pid || c.uid !== p.uid || c.gid !== p.gid)) return -ERRNO.EPERM;
        anc.cred = c;
      } else return -ERRNO.EINVAL;
    }
    off += (n + 7) & ~7;
  }
  return anc;
}

function gather(p: Process, iov: Array<[bigint, number]>): Uint8Array | number {
  const total = Math.min(iov.reduce((s, [, l]) => s + l, 0), MAX_IO);
  const data = new Uint8Array(total);
  let o = 0;
  for (const [base, len] of iov) {
    if (o >= total) break;
    const n = Math.min(len, total - o);
    if (n > 0 && !p.as.readInto(base, data.subarray(o, o + n))) return -ERRNO.EFAULT;
    o += n;
  }
  return data;
}

function sendOne(p: Process, t: Thread, f: SocketFile, hp: bigint, flags: number): SysResult {
  const h = readMsghdr(p, hp);
  if (typeof h === 'number') return h;
  let to: Uint8Array | null = null;
  if (h.name !== 0n && h.namelen !== 0) {
    const addr = readAddr(p, h.name, h.namelen);
    if (typeof addr === 'number') return addr;
    to = addr;
  }
  const data = gather(p, h.iov);
  if (typeof data === 'number') return data;
  const anc = parseControl(p, f, h);
  if (typeof anc === 'number') return anc;
  return sendData(p, t, f, data, flags, to, anc);
}

/** MSG_CMSG_COMPAT is the kernel's own mark for 32-bit callers: sendmsg/recvmsg and their mmsg
 *  forms refuse it from a native program (before looking at the descriptor). */
const MSG_CMSG_COMPAT = 0x80000000;

const sysSendmsg = (p: Process, t: Thread, a: bigint[]): SysResult => {
  if (u32(a[2]) & MSG_CMSG_COMPAT) return -ERRNO.EINVAL;
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  return sendOne(p, t, f, a[1]!, u32(a[2]));
};

function cmsg(level: number, type: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(16 + payload.length);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(16 + payload.length), true);
  v.setInt32(8, level, true);
  v.setInt32(12, type, true);
  b.set(payload, 16);
  return b;
}

/** Writes a received message into a msghdr: data, name, control messages (installing passed
 *  descriptors), flags. Returns the call's result. */
function deliver(p: Process, f: SocketFile, hp: bigint, h: MsgHdr, r: Got, flags: number): number {
  let o = 0;
  for (const [base, len] of discards(f, flags) ? [] : h.iov) {
    if (o >= r.data.length) break;
    const n = Math.min(len, r.data.length - o);
    p.as.write(base, r.data.subarray(o, o + n));
    o += n;
  }
  // Linux starts msg_flags from the call's MSG_CMSG_CLOEXEC (____sys_recvmsg).
  let mflags = flags & MSG_CMSG_CLOEXEC;
  if (r.full > r.data.length && f.sk.type !== SOCK_STREAM) mflags |= MSG_TRUNC;
  let namelen = 0;
  if (h.name !== 0n && r.from) {
    namelen = r.from.length;
    const n = Math.min(Math.max(h.namelen, 0), namelen);
    if (n > 0) p.as.write(h.name, r.from.subarray(0, n));
  }
  // Control messages: credentials, then descriptors (as Linux orders them).
  const parts: Uint8Array[] = [];
  let used = 0;
  const room = (): number => (h.control === 0n ? 0 : h.controllen - used);
  const put = (c: Uint8Array): boolean => {
    if (room() < c.length) {
      mflags |= MSG_CTRUNC;
      return false;
    }
    parts.push(c);
    used += Math.min((c.length + 7) & ~7, room());
    return true;
  };
  if (r.cred) {
    const b = new Uint8Array(12);
    const v = new DataView(b.buffer);
    v.setInt32(0, r.cred.pid, true);
    v.setUint32(4, r.cred.uid, true);
    v.setUint32(8, r.cred.gid, true);
    put(cmsg(SOL_SOCKET, SCM_CREDENTIALS, b));
  }
  if (r.rights && r.rights.length > 0) {
    const fit = Math.max(0, Math.min(r.rights.length, Math.floor((room() - 16) / 4)));
    if (fit < r.rights.length) mflags |= MSG_CTRUNC;
    const fds: number[] = [];
    for (let i = 0; i < r.rights.length; i++) {
      const file = r.rights[i]!;
      if (i < fit) {
        const fd = p.fds.install(file, (flags & MSG_CMSG_CLOEXEC) !== 0);
        if (fd >= 0) fds.push(fd);
        else mflags |= MSG_CTRUNC;
      }
      dropRef(file);
    }
    if (fds.length > 0) {
      const b = new Uint8Array(fds.length * 4);
      const v = new DataView(b.buffer);
      fds.forEach((fd, i) => v.setInt32(i * 4, fd, true));
      put(cmsg(SOL_SOCKET, SCM_RIGHTS, b));
    }
  }
  let co = 0;
  for (const c of parts) {
    p.as.write(h.control + BigInt(co), c);
    co += (c.length + 7) & ~7;
  }
  const tail = new Uint8Array(16);
  const tv = new DataView(tail.buffer);
  tv.setInt32(0, namelen, true);
  p.as.write(hp + 8n, tail.subarray(0, 4));
  const cl = new Uint8Array(8);
  new DataView(cl.buffer).setBigUint64(0, BigInt(used), true);
  p.as.write(hp + 40n, cl);
  p.as.writeU32(hp + 48n, mflags);
  return flags & MSG_TRUNC && f.sk.type !== SOCK_STREAM ? r.full : r.data.length;
}

function recvOne(p: Process, t: Thread, f: SocketFile, hp: bigint, flags: number): SysResult {
  const h = readMsghdr(p, hp);
  if (typeof h === 'number') return h;
  if (!p.as.check(hp, 56, ACCESS_WRITE)) return -ERRNO.EFAULT;
  const drop = discards(f, flags);
  if (!drop) for (const [base, len] of h.iov) if (len > 0 && !p.as.check(base, len, ACCESS_WRITE)) return -ERRNO.EFAULT;
  if (h.control !== 0n && h.controllen > 0 && !p.as.check(h.control, h.controllen, ACCESS_WRITE)) return -ERRNO.EFAULT;
  const max = h.iov.reduce((s, [, l]) => s + l, 0);
  const r = recvData(p, t, f, max, flags);
  if (typeof r === 'number' || r === BLOCKED) return r;
  return deliver(p, f, hp, h, r, flags);
}

const sysRecvmsg = (p: Process, t: Thread, a: bigint[]): SysResult => {
  if (u32(a[2]) & MSG_CMSG_COMPAT) return -ERRNO.EINVAL;
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  return recvOne(p, t, f, a[1]!, u32(a[2]));
};

/** sendmmsg/recvmmsg: one message after another; stops at the first that would block once some
 *  went through (the count so far is returned). */
const mmsg = (send: boolean) => (p: Process, t: Thread, a: bigint[]): SysResult => {
  if (u32(a[3]) & MSG_CMSG_COMPAT) return -ERRNO.EINVAL;
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const vlen = Math.min(u32(a[2]), 1024);
  const flags = u32(a[3]);
  let n = 0;
  for (; n < vlen; n++) {
    const hp = a[1]! + BigInt(n * 64);
    const fl = n > 0 ? flags | MSG_DONTWAIT : flags;
    const r = send ? sendOne(p, t, f, hp, fl) : recvOne(p, t, f, hp, fl);
    if (r === BLOCKED) return n > 0 ? n : BLOCKED;
    if (typeof r !== 'number' || r < 0) return n > 0 ? n : r;
    if (!p.as.writeU32(hp + 56n, r)) return n > 0 ? n : -ERRNO.EFAULT;
    if (!send && n === 0 && a[4] !== 0n) break; // a timeout: keep it simple, one message
  }
  return n;
};

const sysGetsockopt = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const l = p.as.readU32(a[4]!);
  if (l === null) return -ERRNO.EFAULT;
  if ((l | 0) < 0) return -ERRNO.EINVAL;
  const r = socketGetopt(p, f, int(a[1]), int(a[2]));
  if (typeof r === 'number') return r;
  const n = Math.min(l, r.length);
  if (n > 0 && !p.as.write(a[3]!, r.subarray(0, n))) return -ERRNO.EFAULT;
  return p.as.writeU32(a[4]!, n) ? 0 : -ERRNO.EFAULT;
};

const sysSetsockopt = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = sockOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const len = int(a[4]);
  if (len < 0) return -ERRNO.EINVAL;
  const val = len === 0 ? new Uint8Array(0) : p.as.read(a[3]!, Math.min(len, 256));
  if (!val) return -ERRNO.EFAULT;
  return socketSetopt(p, f, int(a[1]), int(a[2]), val);
};

export const NET_SYSCALLS: Record<number, SyscallDef> = {
  198: { name: 'socket', args: 'ddd', fn: sysSocket },
  199: { name: 'socketpair', args: 'dddp', fn: sysSocketpair },
  200: { name: 'bind', args: 'dpd', fn: sysBind },
  201: { name: 'listen', args: 'dd', fn: sysListen },
  202: { name: 'accept', args: 'dpp', fn: sysAccept },
  203: { name: 'connect', args: 'dpd', fn: sysConnect },
  204: { name: 'getsockname', args: 'dpp', fn: names(false) },
  205: { name: 'getpeername', args: 'dpp', fn: names(true) },
  206: { name: 'sendto', args: 'dpuxpd', fn: sysSendto },
  207: { name: 'recvfrom', args: 'dpuxpp', fn: sysRecvfrom },
  208: { name: 'setsockopt', args: 'dddpd', fn: sysSetsockopt },
  209: { name: 'getsockopt', args: 'dddpp', fn: sysGetsockopt },
  210: { name: 'shutdown', args: 'dd', fn: sysShutdown },
  211: { name: 'sendmsg', args: 'dpx', fn: sysSendmsg },
  212: { name: 'recvmsg', args: 'dpx', fn: sysRecvmsg },
  242: { name: 'accept4', args: 'dppx', fn: sysAccept4 },
  243: { name: 'recvmmsg', args: 'dpuxp', fn: mmsg(false) },
  269: { name: 'sendmmsg', args: 'dpux', fn: mmsg(true) },
};
