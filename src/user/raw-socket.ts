// AF_INET / AF_INET6 SOCK_RAW sockets (raw(7), ip(7)): a guest with CAP_NET_RAW (effective uid
// 0) gets a real raw socket on the host when rvisor may open one (root), as qemu-user's guests
// do through the host kernel; anyone else gets Linux's EPERM. Node has no raw sockets, so the
// host socket lives in a small perl(1) process the network worker starts (host-net.ts,
// raw-proxy.ts): it makes the socket, binds and sends what the worker writes to it and writes
// back every packet it receives with its sender's address, in length-prefixed frames. The
// sockaddr bytes pass unchanged (Linux's layout is the same on both sides: little-endian family,
// network-order port and address). What is the kernel's stays the kernel's: IPv4 packets arrive
// with their IP header, checksums of ICMPv6 are filled in by the host. The main side keeps the
// received packets (filtered by the connected peer's address, as raw_v4_input does) and answers
// getsockname with the protocol number as the port, as inet_create sets inet_sport.
// Options below the socket level are the host socket's (asked of and set on it).
import { ERRNO } from './errno.js';
import { codeErrno, hostNet, type NetEvent } from './host-net.js';
import type { Process } from './process.js';
import { AF_INET, AF_INET6, MSG_PEEK, POLLERR, POLL_IN, POLL_OUT, SHUT_RD, SHUT_RDWR, SHUT_WR, WAIT, newGen, type Ancillary, type Received, type SockImpl, type Wait } from './socket.js';

const SOL_SOCKET = 1;
/** Options that make the kernel attach control messages to received packets (ip(7) IP_PKTINFO,
 *  IP_RECVOPTS, IP_RETOPTS, IP_RECVERR, IP_RECVTTL, IP_RECVTOS, IP_PASSSEC, IP_RECVORIGDSTADDR;
 *  ipv6(7) IPV6_RECVERR, the RFC 2292 and 3542 receive options): the proxy reads packets without
 *  them, so they are refused with ENOPROTOOPT instead of being accepted and never delivered. */
const CMSG_OPTIONS = new Map<number, Set<number>>([
  [0, new Set([6, 7, 8, 11, 12, 13, 18, 20])],
  [41, new Set([2, 3, 4, 5, 8, 25, 49, 51, 53, 56, 58, 60, 66, 74])],
]);
let nextId = 2_000_000_000;

interface Packet {
  data: Uint8Array;
  from: Uint8Array;
}

/** The address bytes of a sockaddr of `domain` (4 or 16), or -errno. */
function addrOf(domain: number, a: Uint8Array): Uint8Array | number {
  const fam = a.length >= 2 ? a[0]! | (a[1]! << 8) : -1;
  if (domain === AF_INET) {
    if (a.length < 16) return -ERRNO.EINVAL;
    if (fam !== AF_INET) return -ERRNO.EAFNOSUPPORT;
    return a.slice(4, 8);
  }
  if (a.length < 24) return -ERRNO.EINVAL;
  if (fam !== AF_INET6) return -ERRNO.EAFNOSUPPORT;
  return a.slice(8, 24);
}

/** A sockaddr of `domain` for address bytes `addr` (null: the wildcard) and port. */
function sockaddr(domain: number, addr: Uint8Array | null, port: number): Uint8Array {
  const b = new Uint8Array(domain === AF_INET ? 16 : 28);
  b[0] = domain;
  b[2] = (port >> 8) & 0xff;
  b[3] = port & 0xff;
  if (addr) b.set(addr, domain === AF_INET ? 4 : 8);
  return b;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** socket(domain, SOCK_RAW, protocol) for a guest that `privileged` or not: the socket or -errno. */
export function createRaw(domain: number, protocol: number, privileged: boolean): SockImpl | number {
  if (protocol < 0 || protocol > 255) return -ERRNO.EINVAL;
  if (!privileged) return -ERRNO.EPERM;
  const s = new RawSocket(domain, protocol);
  const r = hostNet().request({ op: 'raw-open', id: s.id, family: domain, proto: protocol });
  if (r.err) {
    hostNet().off(s.id);
    return codeErrno(r.err);
  }
  return s;
}

export class RawSocket implements SockImpl {
  readonly type = 3;
  gen = newGen();
  wgen = newGen();
  sndbuf = 212992;
  rcvbuf = 212992;
  readonly id = nextId++;
  private local: Uint8Array | null = null;
  /** The connected peer: its address bytes and the port connect was given (getpeername). */
  private remote: { addr: Uint8Array; port: number } | null = null;
  private readonly q: Packet[] = [];
  private queued = 0;
  private err = 0;
  private shutRd = false;
  private shutWr = false;

  constructor(readonly domain: number, readonly protocol: number) {
    hostNet().on(this.id, (e) => this.event(e));
  }

  private event(e: NetEvent): void {
    if (e.ev === 'raw') {
      const from = e.from.slice(0, this.domain === AF_INET ? 16 : 28);
      const addr = addrOf(this.domain, from);
      if (typeof addr === 'number') return;
      if (this.remote && !sameBytes(addr, this.remote.addr)) return;
      if (this.queued + e.data.byteLength > this.rcvbuf) return; // dropped, as a full receive queue drops
      from[2] = from[3] = 0; // raw(7): no port in the sender's address
      this.q.push({ data: new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), from });
      this.queued += e.data.byteLength;
    } else if (e.ev === 'error') {
      this.err = -codeErrno(e.code);
    } else return;
    this.gen = newGen();
  }

  bind(_p: Process, addr: Uint8Array): number {
    const a = addrOf(this.domain, addr);
    if (typeof a === 'number') return a;
    const r = hostNet().request({ op: 'raw-bind', id: this.id, addr: sockaddr(this.domain, a, 0) });
    if (r.err) return codeErrno(r.err);
    this.local = a;
    return 0;
  }

  listen(): number {
    return -ERRNO.EOPNOTSUPP;
  }

  accept(): number {
    return -ERRNO.EOPNOTSUPP;
  }

  connect(_p: Process, _tid: number, addr: Uint8Array): number {
    if (addr.length >= 2 && (addr[0]! | (addr[1]! << 8)) === 0) {
      this.remote = null;
      return 0;
    }
    const a = addrOf(this.domain, addr);
    if (typeof a === 'number') return a;
    this.remote = { addr: a, port: (addr[2]! << 8) | addr[3]! };
    return 0;
  }

  send(_p: Process, data: Uint8Array, _flags: number, to: Uint8Array | null, anc: Ancillary | null): number {
    hostNet().pump();
    if (anc && (anc.rights || anc.cred)) return -ERRNO.EINVAL;
    let dest: Uint8Array;
    if (to) {
      const a = addrOf(this.domain, to);
      if (typeof a === 'number') return a;
      dest = a;
    } else if (this.remote) dest = this.remote.addr;
    else return -ERRNO.EDESTADDRREQ;
    if (data.length > 0xffff - (this.domain === AF_INET ? 20 : 0)) return -ERRNO.EMSGSIZE;
    if (this.shutWr) return -ERRNO.EPIPE;
    if (this.err) return -this.takeError();
    hostNet().post({ op: 'raw-send', id: this.id, addr: sockaddr(this.domain, dest, 0), data: data.slice() });
    return data.length;
  }

  recv(_p: Process, max: number, flags: number): Received | number | Wait {
    hostNet().pump();
    const d = this.q[0];
    if (!d) {
      if (this.err) return -this.takeError();
      if (this.shutRd) return { data: new Uint8Array(0), full: 0, from: null };
      return WAIT;
    }
    if ((flags & MSG_PEEK) === 0) {
      this.q.shift();
      this.queued -= d.data.length;
    }
    return { data: d.data.slice(0, max), full: d.data.length, from: d.from };
  }

  shutdown(how: number): number {
    if (how < SHUT_RD || how > SHUT_RDWR) return -ERRNO.EINVAL;
    if (!this.remote) return -ERRNO.ENOTCONN;
    if (how !== SHUT_WR) this.shutRd = true;
    if (how !== SHUT_RD) this.shutWr = true;
    this.gen = newGen();
    return 0;
  }

  name(): Uint8Array {
    return sockaddr(this.domain, this.local, this.protocol);
  }

  peerName(): Uint8Array | number {
    return this.remote ? sockaddr(this.domain, this.remote.addr, this.remote.port) : -ERRNO.ENOTCONN;
  }

  /** Options of the IP, IPv6 and protocol levels are the host socket's (ICMP6_FILTER, IP_HDRINCL,
   *  IP_TTL, ...): asked of and given to it. */
  getopt(_p: Process, level: number, opt: number): Uint8Array | number {
    if (level === SOL_SOCKET) return -ERRNO.ENOPROTOOPT;
    const r = hostNet().request({ op: 'raw-getopt', id: this.id, level, opt });
    return r.err ? codeErrno(r.err) : r.value ?? new Uint8Array(0);
  }

  setopt(_p: Process, level: number, opt: number, val: Uint8Array): number {
    if (level === SOL_SOCKET) return -ERRNO.ENOPROTOOPT; // the socket layer keeps the value
    const on = val.length >= 4 ? new DataView(val.buffer, val.byteOffset, 4).getInt32(0, true) !== 0 : val.some((x) => x !== 0);
    if (on && CMSG_OPTIONS.get(level)?.has(opt)) return -ERRNO.ENOPROTOOPT;
    const r = hostNet().request({ op: 'raw-setopt', id: this.id, level, opt, value: val.slice() });
    return codeErrno(r.err);
  }

  takeError(): number {
    hostNet().pump();
    const e = this.err;
    this.err = 0;
    return e;
  }

  readiness(): number {
    hostNet().pump();
    return (this.err ? POLLERR : 0) | (this.q.length > 0 || this.shutRd ? POLL_IN : 0) | POLL_OUT;
  }

  unread(): number {
    return this.q[0]?.data.length ?? 0;
  }

  listening(): boolean {
    return false;
  }

  release(): void {
    hostNet().off(this.id);
    hostNet().post({ op: 'close', id: this.id });
  }
}

