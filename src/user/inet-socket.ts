// AF_INET and AF_INET6 sockets on the host's network: TCP (SOCK_STREAM) and UDP (SOCK_DGRAM).
// The host sockets live in the network worker (host-net.ts); an InetSocket is the main side's
// view of one: its state, the bytes or datagrams received and not yet read, the bytes handed to
// the worker and not yet written. Events from the worker update it (and its generations, for
// epoll); the guest's calls read it and post commands, never waiting on the host.
//
// Differences from Linux, where Node's API decides: a TCP socket's bind already listens on the
// host (so the port is allocated and EADDRINUSE is reported at bind, as on Linux); connections
// that arrive between bind and listen wait in the backlog instead of being refused. A bound TCP
// socket that then connects releases that port and connects from it. UDP connect filters
// received datagrams by source on the main side; getsockname after it shows the source address
// the host's routing picks for that peer (asked of the worker), as Linux.
import { readFileSync } from 'node:fs';
import { HOST_ROOT } from './creds.js';
import { isIPv4, isIPv6 } from 'node:net';
import { ERRNO } from './errno.js';
import { takeBytes } from './fd-table.js';
import { READ_AHEAD, codeErrno, hostNet, type Endpoint, type HostOptions, type NetEvent } from './host-net.js';
import { IP, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, IPV6, InetOptions, TCP, type OptSocket } from './inet-options.js';
import type { Process } from './process.js';
import {
  AF_INET, AF_INET6, MSG_PEEK, MSG_WAITALL, POLLERR, POLLHUP, POLLRDHUP, POLL_IN, POLL_OUT, SHUT_RD, SHUT_RDWR, SHUT_WR,
  SOCK_DGRAM, SOCK_STREAM, WAIT, newGen, type Ancillary, type Received, type SockImpl, type Wait,
} from './socket.js';

const IPPROTO_UDP = 17;
const SO_KEEPALIVE = 9;
const SO_LINGER = 13;
const SOL_SOCKET = 1;
/** Bytes handed to the worker and not yet written before send waits (EAGAIN). */
const SEND_LIMIT = 262144;

let nextId = 1;

/** Parses a sockaddr_in / sockaddr_in6 for socket family `domain`: [host, port], or -errno. */
function parseAddr(domain: number, a: Uint8Array, forBind: boolean): [string, number] | number {
  const fam = a.length >= 2 ? a[0]! | (a[1]! << 8) : -1;
  if (domain === AF_INET) {
    if (a.length < 16) return -ERRNO.EINVAL;
    if (fam !== AF_INET) return forBind && fam === 0 ? -ERRNO.EAFNOSUPPORT : -ERRNO.EAFNOSUPPORT;
    return [`${a[4]}.${a[5]}.${a[6]}.${a[7]}`, (a[2]! << 8) | a[3]!];
  }
  if (a.length < 24) return -ERRNO.EINVAL;
  if (fam !== AF_INET6) return forBind ? -ERRNO.EINVAL : -ERRNO.EAFNOSUPPORT;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((a[8 + i * 2]! << 8) | a[9 + i * 2]!).toString(16));
  return [groups.join(':'), (a[2]! << 8) | a[3]!];
}

/** The 16 bytes of an IPv6 address (IPv4 dotted quads become v4-mapped). */
function v6Bytes(s: string): Uint8Array {
  const out = new Uint8Array(16);
  if (isIPv4(s)) {
    out[10] = out[11] = 0xff;
    s.split('.').forEach((x, i) => (out[12 + i] = Number(x)));
    return out;
  }
  let str = s.replace(/%.*$/, '');
  const m = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(str);
  if (m) {
    const q = m.slice(1).map(Number);
    str = str.slice(0, -m[0].length) + `${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const [h, t] = str.includes('::') ? str.split('::') : [str, null];
  const head = h ? h.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : [];
  const rest = t !== null && t !== undefined ? t.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : [];
  const words = [...head, ...new Array(Math.max(0, 8 - head.length - rest.length)).fill(0), ...rest].slice(0, 8);
  words.forEach((w, i) => {
    out[i * 2] = (w >> 8) & 0xff;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** A sockaddr for an endpoint in family `domain`. */
function encodeAddr(domain: number, e: Endpoint | null): Uint8Array {
  const address = e?.address ?? (domain === AF_INET ? '0.0.0.0' : '::');
  const port = e?.port ?? 0;
  if (domain === AF_INET) {
    const b = new Uint8Array(16);
    b[0] = AF_INET;
    b[2] = port >> 8;
    b[3] = port & 0xff;
    const v4 = isIPv4(address) ? address : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? '0.0.0.0';
    v4.split('.').forEach((x, i) => (b[4 + i] = Number(x)));
    return b;
  }
  const b = new Uint8Array(28);
  b[0] = AF_INET6;
  b[2] = port >> 8;
  b[3] = port & 0xff;
  b.set(isIPv6(address) || isIPv4(address) ? v6Bytes(address) : new Uint8Array(16), 8);
  return b;
}

export function createInet(domain: number, type: number, protocol: number): SockImpl | number {
  if (type === SOCK_STREAM) {
    if (protocol !== 0 && protocol !== IPPROTO_TCP) return -ERRNO.EPROTONOSUPPORT;
    return new InetSocket(domain, type, IPPROTO_TCP);
  }
  if (type === SOCK_DGRAM) {
    if (protocol !== 0 && protocol !== IPPROTO_UDP) return -ERRNO.EPROTONOSUPPORT;
    return new InetSocket(domain, type, IPPROTO_UDP);
  }
  return -94; // ESOCKTNOSUPPORT
}

interface Dgram {
  data: Uint8Array;
  from: Endpoint;
}

export class InetSocket implements SockImpl, OptSocket {
  gen = newGen();
  wgen = newGen();
  sndbuf: number;
  rcvbuf: number;
  private id = nextId++;
  state: 'new' | 'bound' | 'listening' | 'connecting' | 'connected' = 'new';
  private local: Endpoint | null = null;
  private remote: Endpoint | null = null;
  /** A host server listens for this socket (from bind on). */
  private serving = false;
  private readonly pending: InetSocket[] = [];
  private readonly rq: Uint8Array[] = [];
  private rqBytes = 0;
  private readonly dq: Dgram[] = [];
  private eof = false;
  private shutRd = false;
  private shutWr = false;
  private err = 0;
  private unacked = 0;
  private connectTid = 0;
  private hostOpen = false;
  private readonly opts: InetOptions;
  /** SO_KEEPALIVE (the layer keeps what getsockopt reports; the host socket needs it too). */
  private keepalive = false;
  /** SO_LINGER on with a zero timeout: close resets the connection (RST), as Linux. */
  private lingerZero = false;
  /** A UDP socket's local address is the route's source for its connected peer (not bound). */
  private routeSource = false;
  /** A connection attempt failed and no connect call has reported it yet. */
  private connectFailed = false;

  constructor(readonly domain: number, readonly type: number, readonly protocol: number, accepted?: { cid: number; local: Endpoint; remote: Endpoint; listener: InetSocket }) {
    this.opts = new InetOptions(accepted?.listener.opts);
    this.sndbuf = type === SOCK_STREAM ? 16384 : 212992;
    this.rcvbuf = type === SOCK_STREAM ? 131072 : 212992;
    if (accepted) {
      this.id = accepted.cid;
      this.state = 'connected';
      this.local = accepted.local;
      this.remote = accepted.remote;
      this.hostOpen = true;
      hostNet().on(this.id, (e) => this.event(e));
    }
  }

  private touch(): void {
    this.gen = newGen();
    this.wgen = newGen();
  }

  private event(e: NetEvent): void {
    switch (e.ev) {
      case 'conn': {
        const s = new InetSocket(this.domain, this.type, this.protocol, { cid: e.cid, local: e.local, remote: e.remote, listener: this });
        this.pending.push(s);
        break;
      }
      case 'connected':
        this.state = 'connected';
        this.local = e.local;
        this.remote = e.remote;
        break;
      case 'data':
        this.rq.push(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength));
        this.rqBytes += e.data.byteLength;
        break;
      case 'dgram':
        if (this.remote && (e.from.port !== this.remote.port || !sameHost(e.from.address, this.remote.address))) return;
        if (this.dq.reduce((s, d) => s + d.data.length, 0) + e.data.byteLength > this.rcvbuf) return; // dropped, as UDP may
        this.dq.push({ data: new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), from: e.from });
        break;
      case 'end':
        this.eof = true;
        break;
      case 'error':
        this.err = -codeErrno(e.code);
        if (this.state === 'connecting') {
          this.state = 'new';
          this.connectFailed = true;
        }
        break;
      case 'written':
        this.unacked -= e.n;
        break;
      case 'closed':
        this.hostOpen = false;
        this.eof = true;
        if (this.state === 'connecting') {
          this.state = 'new';
          this.connectFailed = true;
          if (!this.err) this.err = ERRNO.ECONNREFUSED;
        }
        break;
    }
    this.touch();
  }

  private pump(): void {
    hostNet().pump();
  }

  private listenHost(host: string, port: number): number {
    const net = hostNet();
    net.on(this.id, (e) => this.event(e));
    const v6only = this.opts.value(IPPROTO_IPV6, IPV6.V6ONLY) === 1;
    const r = net.request({ op: this.type === SOCK_STREAM ? 'listen' : 'udp-bind', type: this.domain === AF_INET ? 'udp4' : 'udp6', id: this.id, host, port, backlog: 511, v6only, opts: this.hostOptions() });
    if (r.err) {
      net.off(this.id);
      return codeErrno(r.err);
    }
    this.local = r.local ?? null;
    this.serving = this.type === SOCK_STREAM;
    this.hostOpen = true;
    this.state = 'bound';
    return 0;
  }

  bind(p: Process, addr: Uint8Array): number {
    const a = parseAddr(this.domain, addr, true);
    if (typeof a === 'number') return a;
    // A port below net.ipv4.ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE (euid 0). When
    // rvisor is not root the host refuses it by itself; when it is, the guest may not be.
    if (a[1] !== 0 && a[1] < unprivilegedPortStart() && !p.creds.privileged && HOST_ROOT) return -ERRNO.EACCES;
    if (this.state !== 'new') return -ERRNO.EINVAL;
    return this.listenHost(a[0], a[1]);
  }

  private autobind(): number {
    if (this.state !== 'new') return 0;
    return this.listenHost(this.domain === AF_INET ? '0.0.0.0' : '::', 0);
  }

  listen(_p: Process, _backlog: number): number {
    if (this.type !== SOCK_STREAM) return -ERRNO.EOPNOTSUPP;
    if (this.state === 'connected' || this.state === 'connecting') return -ERRNO.EINVAL;
    const r = this.autobind();
    if (r < 0) return r;
    this.state = 'listening';
    this.touch();
    return 0;
  }

  accept(_p: Process): SockImpl | number | Wait {
    if (this.type !== SOCK_STREAM) return -ERRNO.EOPNOTSUPP;
    if (this.state !== 'listening') return -ERRNO.EINVAL;
    this.pump();
    const s = this.pending.shift();
    if (!s) return WAIT;
    hostNet().post({ op: 'accepted', id: s.id, opts: s.hostOptions() });
    this.touch();
    return s;
  }

  connect(_p: Process, tid: number, addr: Uint8Array, nonblock: boolean): number | Wait {
    this.pump();
    if (this.type === SOCK_DGRAM) {
      if (addr.length >= 2 && (addr[0]! | (addr[1]! << 8)) === 0) {
        this.remote = null;
        if (this.routeSource && this.local) this.local = { ...this.local, address: this.domain === AF_INET ? '0.0.0.0' : '::' };
        this.routeSource = false;
        return 0;
      }
      const a = parseAddr(this.domain, addr, false);
      if (typeof a === 'number') return a;
      const r = this.autobind();
      if (r < 0) return r;
      if (this.local && isWildcard(this.local.address)) {
        // As Linux: a socket bound to the wildcard address takes the route's source address
        // (what getsockname shows); no route to the destination is the connect's error.
        const route = hostNet().request({ op: 'udp-route', type: this.domain === AF_INET ? 'udp4' : 'udp6', host: a[0], port: a[1] });
        if (route.err) return codeErrno(route.err);
        if (route.local) {
          this.local = { ...this.local, address: route.local.address };
          this.routeSource = true;
        }
      }
      this.remote = { address: a[0], port: a[1], family: '' };
      return 0;
    }
    if (this.state === 'connecting') {
      if (tid === this.connectTid && !nonblock) return WAIT;
      return -ERRNO.EALREADY;
    }
    if (this.state === 'connected') {
      if (tid === this.connectTid) {
        this.connectTid = 0;
        return 0;
      }
      return -ERRNO.EISCONN;
    }
    if (this.connectFailed) {
      // As Linux's inet_stream_connect on a socket whose attempt ended (TCP_CLOSE): the
      // pending error, or ECONNABORTED once SO_ERROR took it; the next connect starts anew.
      this.connectFailed = false;
      this.connectTid = 0;
      const e = this.takeError();
      return e ? -e : -ERRNO.ECONNABORTED;
    }
    if (this.state === 'listening') return -ERRNO.EISCONN;
    const a = parseAddr(this.domain, addr, false);
    if (typeof a === 'number') return a;
    let localAddress: string | undefined;
    let localPort: number | undefined;
    if (this.serving && this.local) {
      // Bound before: give the host port back and connect from it.
      hostNet().request({ op: 'close', id: this.id });
      this.serving = false;
      localAddress = this.local.address;
      localPort = this.local.port;
    }
    this.err = 0;
    this.state = 'connecting';
    this.connectTid = tid;
    this.hostOpen = true;
    const net = hostNet();
    net.on(this.id, (e) => this.event(e));
    net.post({ op: 'connect', id: this.id, host: a[0], port: a[1], localAddress, localPort, opts: this.hostOptions() });
    if (nonblock) return -ERRNO.EINPROGRESS;
    return WAIT;
  }

  send(_p: Process, data: Uint8Array, _flags: number, to: Uint8Array | null, anc: Ancillary | null, nonblock: boolean): number | Wait {
    this.pump();
    if (anc && (anc.rights || anc.cred)) return -ERRNO.EINVAL;
    if (this.type === SOCK_DGRAM) {
      let host: string, port: number;
      if (to) {
        const a = parseAddr(this.domain, to, false);
        if (typeof a === 'number') return a;
        [host, port] = a;
      } else if (this.remote) {
        host = this.remote.address;
        port = this.remote.port;
      } else return -ERRNO.EDESTADDRREQ;
      if (data.length > (this.domain === AF_INET ? 65507 : 65527)) return -ERRNO.EMSGSIZE;
      if (this.shutWr) return -ERRNO.EPIPE;
      const r = this.autobind();
      if (r < 0) return r;
      hostNet().post({ op: 'udp-send', id: this.id, data: data.slice(), host, port });
      return data.length;
    }
    if (this.err && this.state !== 'connecting') return -this.takeError();
    if (this.state !== 'connected') return this.state === 'connecting' ? (nonblock ? -ERRNO.EAGAIN : WAIT) : this.state === 'listening' ? -ERRNO.ENOTCONN : -ERRNO.EPIPE;
    if (this.shutWr || !this.hostOpen) return -ERRNO.EPIPE;
    const room = SEND_LIMIT - this.unacked;
    if (room <= 0) return nonblock ? -ERRNO.EAGAIN : WAIT;
    const n = nonblock ? Math.min(room, data.length) : data.length;
    if (n === 0) return 0;
    this.unacked += n;
    hostNet().post({ op: 'write', id: this.id, data: data.slice(0, n) });
    this.wgen = newGen();
    return n;
  }

  recv(_p: Process, max: number, flags: number, _nonblock: boolean): Received | number | Wait {
    this.pump();
    const peek = (flags & MSG_PEEK) !== 0;
    if (this.type === SOCK_DGRAM) {
      const d = this.dq[0];
      if (!d) {
        if (this.err) return -this.takeError();
        if (this.shutRd) return { data: new Uint8Array(0), full: 0, from: null };
        return WAIT;
      }
      if (!peek) this.dq.shift();
      return { data: d.data.slice(0, max), full: d.data.length, from: encodeAddr(this.domain, d.from) };
    }
    if (this.state === 'listening') return -ERRNO.ENOTCONN;
    if (this.rqBytes === 0) {
      if (this.err) return -this.takeError();
      if (this.eof || this.shutRd || max === 0) return { data: new Uint8Array(0), full: 0, from: null };
      if (this.state !== 'connected' && this.state !== 'connecting') return -ERRNO.ENOTCONN;
      return WAIT;
    }
    if (flags & MSG_WAITALL && !peek && this.rqBytes < Math.min(max, READ_AHEAD) && !this.eof && !this.err) return WAIT;
    const out = takeBytes(this.rq, Math.min(max, this.rqBytes), !peek);
    if (!peek) {
      this.rqBytes -= out.length;
      hostNet().post({ op: 'ack', id: this.id, n: out.length });
    }
    return { data: out, full: out.length, from: null };
  }

  shutdown(how: number): number {
    if (how < SHUT_RD || how > SHUT_RDWR) return -ERRNO.EINVAL;
    if (this.type === SOCK_STREAM && this.state !== 'connected') {
      if (this.state === 'listening' && how !== SHUT_WR) return 0;
      return -ERRNO.ENOTCONN;
    }
    if (this.type === SOCK_DGRAM && !this.remote) return -ERRNO.ENOTCONN;
    if (how !== SHUT_WR) this.shutRd = true;
    if (how !== SHUT_RD && !this.shutWr) {
      this.shutWr = true;
      if (this.type === SOCK_STREAM) hostNet().post({ op: 'end', id: this.id });
    }
    this.touch();
    return 0;
  }

  name(): Uint8Array {
    return encodeAddr(this.domain, this.local);
  }

  peerName(): Uint8Array | number {
    if (this.type === SOCK_STREAM ? this.state !== 'connected' : !this.remote) return -ERRNO.ENOTCONN;
    return encodeAddr(this.domain, this.remote);
  }

  getopt(_p: Process, level: number, opt: number): Uint8Array | number {
    const r = this.opts.get(this, level, opt);
    if (typeof r === 'number') return r;
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, r.v, true);
    return b;
  }

  setopt(_p: Process, level: number, opt: number, val: Uint8Array): number {
    if (level === SOL_SOCKET) {
      const dv = new DataView(val.buffer, val.byteOffset, val.byteLength);
      if (opt === SO_KEEPALIVE && val.length >= 4) {
        this.keepalive = dv.getInt32(0, true) !== 0;
        this.carryOptions();
      } else if (opt === SO_LINGER && val.length >= 8) {
        this.lingerZero = dv.getInt32(0, true) !== 0 && dv.getInt32(4, true) === 0;
      }
      return -ERRNO.ENOPROTOOPT; // the layer keeps the value
    }
    const r = this.opts.set(this, level, opt, val);
    if (r === 0) this.carryOptions();
    return r;
  }

  /** What the network worker applies to the host socket (when it is made, and on each change). */
  hostOptions(): HostOptions {
    const v4 = this.domain === AF_INET;
    const hops = (x: number): number => (x === -1 ? 64 : x);
    return {
      nodelay: this.opts.value(IPPROTO_TCP, TCP.NODELAY) === 1,
      keepalive: this.keepalive,
      keepidle: this.opts.value(IPPROTO_TCP, TCP.KEEPIDLE),
      ttl: hops(v4 ? this.opts.value(IPPROTO_IP, IP.TTL) : this.opts.value(IPPROTO_IPV6, IPV6.UNICAST_HOPS)),
      mcastTtl: v4 ? this.opts.value(IPPROTO_IP, IP.MULTICAST_TTL) : this.opts.value(IPPROTO_IPV6, IPV6.MULTICAST_HOPS),
      mcastLoop: (v4 ? this.opts.value(IPPROTO_IP, IP.MULTICAST_LOOP) : this.opts.value(IPPROTO_IPV6, IPV6.MULTICAST_LOOP)) === 1,
    };
  }

  private carryOptions(): void {
    if (this.hostOpen && !(this.type === SOCK_STREAM && this.state === 'listening')) hostNet().post({ op: 'opts', id: this.id, opts: this.hostOptions() });
  }

  hasPort(): boolean {
    return this.state !== 'new';
  }

  closed(): boolean {
    return this.state === 'new' || this.state === 'bound';
  }

  takeError(): number {
    this.pump();
    const e = this.err;
    this.err = 0;
    return e;
  }

  readiness(): number {
    this.pump();
    let m = this.err ? POLLERR : 0;
    if (this.type === SOCK_DGRAM) return m | (this.dq.length > 0 || this.shutRd ? POLL_IN : 0) | POLL_OUT;
    switch (this.state) {
      case 'listening':
        return m | (this.pending.length > 0 ? POLL_IN : 0);
      case 'connecting':
        return m;
      case 'connected':
        if (this.rqBytes > 0 || this.eof || this.shutRd) m |= POLL_IN;
        if (this.eof || this.shutRd) m |= POLLRDHUP;
        if ((this.eof && this.shutWr) || !this.hostOpen) m |= POLLHUP;
        if (!this.shutWr && this.unacked < SEND_LIMIT) m |= POLL_OUT;
        else if (this.shutWr) m |= POLL_OUT;
        return m;
      default:
        return m | POLL_OUT | POLLHUP;
    }
  }

  unread(): number {
    this.pump();
    if (this.state === 'listening') return -ERRNO.EINVAL;
    return this.type === SOCK_DGRAM ? this.dq[0]?.data.length ?? 0 : this.rqBytes;
  }

  listening(): boolean {
    return this.state === 'listening';
  }

  release(): void {
    const net = hostNet();
    net.pump();
    net.off(this.id);
    // As Linux's tcp_close: a connection closed with SO_LINGER {1, 0} or with received bytes
    // still unread is reset (RST), so the peer's next read or write fails with ECONNRESET.
    const reset = this.type === SOCK_STREAM && this.state === 'connected' && (this.lingerZero || this.rqBytes > 0);
    if (this.hostOpen || this.serving) net.post({ op: 'close', id: this.id, reset });
    for (const s of this.pending.splice(0)) s.release();
    this.hostOpen = false;
  }
}

function isWildcard(a: string): boolean {
  return a === '0.0.0.0' || a === '::' || a === '' || a === '::ffff:0.0.0.0';
}

function sameHost(a: string, b: string): boolean {
  if (a === b) return true;
  const x = v6Bytes(a);
  const y = v6Bytes(b);
  return x.every((v, i) => v === y[i]);
}

let portStart: number | undefined;
/** net.ipv4.ip_unprivileged_port_start (1024 when it cannot be read). */
function unprivilegedPortStart(): number {
  if (portStart === undefined) {
    try {
      portStart = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
    } catch {
      portStart = 1024;
    }
    if (!Number.isInteger(portStart)) portStart = 1024;
  }
  return portStart;
}
