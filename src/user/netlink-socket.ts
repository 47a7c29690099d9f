// AF_NETLINK sockets (netlink(7)) of protocol NETLINK_ROUTE, SOCK_RAW or SOCK_DGRAM: the
// requests a guest sends are handled at once by rtnetlink.ts as the kernel's netlink_rcv_skb
// does (each nlmsghdr in turn; a too short or too long nlmsg_len ends the buffer silently; no
// NLM_F_REQUEST or a control type: only an ACK if NLM_F_ACK; an error: NLMSG_ERROR), and the
// replies wait in the socket's receive queue as datagrams. A dump is produced a chunk at a time,
// as Linux does: the first chunk when it is asked for, the next after each receive while less
// than half of SO_RCVBUF is queued; a chunk holds whole messages up to the larger of
// NLMSG_GOODSIZE and the largest receive buffer seen (at most 32 KiB), and NLMSG_DONE comes in
// a chunk of its own. A receive buffer too small for a datagram gets its start (MSG_TRUNC) and
// the rest is dropped, unless MSG_PEEK.
//
// Port ids: bind with nl_pid 0 (or the first send or connect) assigns the process's pid if no
// other rvisor netlink socket has it, else -4096, -4097, … (netlink_autobind). Sending to a port
// other than the kernel's (0) or to groups needs privileges Linux does not give an unprivileged
// user for NETLINK_ROUTE: EPERM. Multicast groups can be joined (bind, NETLINK_ADD_MEMBERSHIP)
// but no notification is ever delivered: changes of the host's interfaces are not watched.
import { ERRNO } from './errno.js';
import type { Process } from './process.js';
import {
  NLMSG_HDRLEN, NLMSG_MIN_TYPE, NLM_F_ACK, NLM_F_REQUEST, doneMsg, errorMsg, routeRequest, type Outcome, type Request,
} from './rtnetlink.js';
import { MSG_PEEK, POLLERR, POLL_IN, POLL_OUT, SOCK_DGRAM, SOCK_RAW, WAIT, newGen, type Ancillary, type Received, type SockImpl, type Wait } from './socket.js';

export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const ESOCKTNOSUPPORT = 94;
/** Protocols Linux knows (< MAX_LINKS); rvisor has only NETLINK_ROUTE. */
const MAX_LINKS = 32;
/** RTNLGRP_MAX: the multicast groups of NETLINK_ROUTE. */
const NGROUPS = 39;
/** SKB_WITH_OVERHEAD(4096) and SKB_WITH_OVERHEAD(32768) on a 64-bit kernel. */
const NLMSG_GOODSIZE = 3776;
const MAX_RECVMSG_LEN = 32448;

const OPT = { ADD_MEMBERSHIP: 1, DROP_MEMBERSHIP: 2, PKTINFO: 3, BROADCAST_ERROR: 4, NO_ENOBUFS: 5, LISTEN_ALL_NSID: 8, LIST_MEMBERSHIPS: 9, CAP_ACK: 10, EXT_ACK: 11, GET_STRICT_CHK: 12 };
/** Boolean options kept as flags. */
const FLAG_OPTS = new Set([OPT.BROADCAST_ERROR, OPT.NO_ENOBUFS, OPT.CAP_ACK, OPT.EXT_ACK, OPT.GET_STRICT_CHK]);

/** Bound port ids of the run. */
const ports = new Map<number, NetlinkSocket>();
let rover = -4096;

interface Dump {
  msgs: Uint8Array[];
  next: number;
  seq: number;
  doneErr: number;
  flags: number;
  extMsg?: string;
}

export function createNetlink(type: number, protocol: number): SockImpl | number {
  if (type !== SOCK_RAW && type !== SOCK_DGRAM) return -ESOCKTNOSUPPORT;
  if (protocol < 0 || protocol >= MAX_LINKS || protocol !== NETLINK_ROUTE) return -ERRNO.EPROTONOSUPPORT;
  return new NetlinkSocket(type, protocol);
}

function sockaddrNl(pid: number, groups: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_NETLINK, true);
  v.setUint32(4, pid >>> 0, true);
  v.setUint32(8, groups >>> 0, true);
  return b;
}

export class NetlinkSocket implements SockImpl {
  readonly domain = AF_NETLINK;
  gen = newGen();
  wgen = newGen();
  sndbuf = 212992;
  rcvbuf = 212992;
  /** 0 while unbound (no port id is 0 for a user socket). */
  private portid = 0;
  private bound = false;
  private groups = new Set<number>();
  private flags = new Set<number>();
  private queue: Uint8Array[] = [];
  private queued = 0;
  private dump: Dump | null = null;
  private maxRecv = 0;
  private err = 0;

  constructor(readonly type: number, readonly protocol: number) {}

  private groupMask(): number {
    let m = 0;
    for (const g of this.groups) if (g <= 32) m |= 1 << (g - 1);
    return m >>> 0;
  }

  private autobind(p: Process): void {
    if (this.bound) return;
    let id = p.pid;
    while (ports.has(id)) {
      id = rover--;
      if (rover > -4096) rover = -4096;
    }
    this.portid = id;
    this.bound = true;
    ports.set(id, this);
  }

  bind(p: Process, addr: Uint8Array): number {
    if (addr.length < 12) return -ERRNO.EINVAL;
    const v = new DataView(addr.buffer, addr.byteOffset, addr.byteLength);
    if (v.getUint16(0, true) !== AF_NETLINK) return -ERRNO.EINVAL;
    const pid = v.getInt32(4, true);
    const groups = v.getUint32(8, true);
    if (this.bound && pid !== this.portid) return -ERRNO.EINVAL;
    if (!this.bound) {
      if (pid === 0) this.autobind(p);
      else {
        if (ports.has(pid)) return -ERRNO.EADDRINUSE;
        this.portid = pid;
        this.bound = true;
        ports.set(pid, this);
      }
    }
    // nl_groups replaces the first 32 groups' memberships.
    for (let g = 1; g <= 32; g++) {
      if (groups & (1 << (g - 1))) this.groups.add(g);
      else this.groups.delete(g);
    }
    return 0;
  }

  listen(): number {
    return -ERRNO.EOPNOTSUPP;
  }

  accept(): number {
    return -ERRNO.EOPNOTSUPP;
  }

  connect(p: Process, _tid: number, addr: Uint8Array): number {
    if (addr.length < 2) return -ERRNO.EINVAL;
    const v = new DataView(addr.buffer, addr.byteOffset, addr.byteLength);
    const fam = v.getUint16(0, true);
    if (fam === 0) return 0;
    if (fam !== AF_NETLINK || addr.length < 12) return -ERRNO.EINVAL;
    if (v.getUint32(4, true) !== 0 || v.getUint32(8, true) !== 0) return -ERRNO.EPERM;
    this.autobind(p);
    return 0;
  }

  /** Queues a datagram of replies (an overrun drops it: ENOBUFS unless NETLINK_NO_ENOBUFS). */
  private enqueue(d: Uint8Array): void {
    if (this.queued > this.rcvbuf) {
      if (!this.flags.has(OPT.NO_ENOBUFS)) this.err = ERRNO.ENOBUFS;
    } else {
      this.queue.push(d);
      this.queued += d.length;
    }
    this.gen = newGen();
  }

  /** Produces the next chunk of the running dump. */
  private dumpChunk(): void {
    const d = this.dump;
    if (!d) return;
    const ext = this.flags.has(OPT.EXT_ACK);
    if (d.next >= d.msgs.length) {
      this.dump = null;
      this.enqueue(doneMsg(d.seq, this.portid, d.doneErr, d.flags, ext, d.extMsg));
      return;
    }
    const limit = Math.max(NLMSG_GOODSIZE, this.maxRecv);
    const parts: Uint8Array[] = [];
    let size = 0;
    while (d.next < d.msgs.length) {
      const m = d.msgs[d.next]!;
      if (parts.length > 0 && size + m.length > limit) break;
      parts.push(m);
      size += m.length;
      d.next++;
    }
    const chunk = new Uint8Array(size);
    let o = 0;
    for (const m of parts) {
      chunk.set(m, o);
      o += m.length;
    }
    this.enqueue(chunk);
  }

  /** Handles the messages of one send (netlink_rcv_skb). */
  private process(data: Uint8Array): void {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let off = 0;
    const capAck = this.flags.has(OPT.CAP_ACK);
    const extAck = this.flags.has(OPT.EXT_ACK);
    while (data.length - off >= NLMSG_HDRLEN) {
      const len = v.getUint32(off, true);
      if (len < NLMSG_HDRLEN || len > data.length - off) return;
      const req: Request = { type: v.getUint16(off + 4, true), flags: v.getUint16(off + 6, true), seq: v.getUint32(off + 8, true), msg: data.subarray(off, off + len) };
      let out: Outcome = { err: 0 };
      if (req.flags & NLM_F_REQUEST && req.type >= NLMSG_MIN_TYPE) {
        out = routeRequest(req, { portid: this.portid, strict: this.flags.has(OPT.GET_STRICT_CHK) });
        if (out.dump && this.dump) out = { err: -ERRNO.EBUSY };
      }
      for (const r of out.reply ?? []) this.enqueue(r);
      if (out.dump) {
        this.dump = { ...out.dump, next: 0, seq: req.seq };
        this.dumpChunk();
      } else if (out.err !== 0 || req.flags & NLM_F_ACK) {
        this.enqueue(errorMsg(req, out.err, this.portid, capAck, extAck, out.extMsg));
      }
      off += Math.min((len + 3) & ~3, data.length - off);
    }
  }

  send(p: Process, data: Uint8Array, _flags: number, to: Uint8Array | null, anc: Ancillary | null): number | Wait {
    if (anc && anc.rights) return -ERRNO.EINVAL;
    if (to) {
      if (to.length < 12) return -ERRNO.EINVAL;
      const v = new DataView(to.buffer, to.byteOffset, to.byteLength);
      if (v.getUint16(0, true) !== AF_NETLINK) return -ERRNO.EINVAL;
      if (v.getUint32(4, true) !== 0 || v.getUint32(8, true) !== 0) return -ERRNO.EPERM;
    }
    this.autobind(p);
    if (data.length === 0) return -ERRNO.ENODATA;
    if (data.length > this.sndbuf - 32) return -ERRNO.EMSGSIZE;
    this.process(data);
    return data.length;
  }

  recv(_p: Process, max: number, flags: number): Received | number | Wait {
    this.maxRecv = Math.min(Math.max(this.maxRecv, max), MAX_RECVMSG_LEN);
    if (this.err) return -this.takeError();
    const d = this.queue[0];
    if (!d) return WAIT;
    if (!(flags & MSG_PEEK)) {
      this.queue.shift();
      this.queued -= d.length;
    }
    if (this.dump && this.queued <= this.rcvbuf / 2) this.dumpChunk();
    this.gen = newGen();
    return { data: d.slice(0, max), full: d.length, from: sockaddrNl(0, 0) };
  }

  shutdown(): number {
    return -ERRNO.EOPNOTSUPP;
  }

  name(): Uint8Array {
    return sockaddrNl(this.portid, this.groupMask());
  }

  peerName(): Uint8Array {
    return sockaddrNl(0, 0);
  }

  getopt(_p: Process, level: number, opt: number): Uint8Array | number {
    if (level !== SOL_NETLINK) return -ERRNO.ENOPROTOOPT;
    if (opt === OPT.LIST_MEMBERSHIPS) {
      const words = Math.ceil(NGROUPS / 32);
      const b = new Uint8Array(words * 4);
      const v = new DataView(b.buffer);
      for (const g of this.groups) v.setUint32(((g - 1) >> 5) * 4, v.getUint32(((g - 1) >> 5) * 4, true) | (1 << ((g - 1) & 31)), true);
      return b;
    }
    if (!FLAG_OPTS.has(opt)) return -ERRNO.ENOPROTOOPT;
    const b = new Uint8Array(4);
    b[0] = this.flags.has(opt) ? 1 : 0;
    return b;
  }

  setopt(_p: Process, level: number, opt: number, val: Uint8Array): number {
    if (level !== SOL_NETLINK) return -ERRNO.ENOPROTOOPT;
    const x = val.length >= 4 ? new DataView(val.buffer, val.byteOffset, 4).getUint32(0, true) : 0;
    if (opt === OPT.ADD_MEMBERSHIP || opt === OPT.DROP_MEMBERSHIP) {
      if (x === 0 || x - 1 >= NGROUPS) return -ERRNO.EINVAL;
      if (opt === OPT.ADD_MEMBERSHIP) this.groups.add(x);
      else this.groups.delete(x);
      return 0;
    }
    if (opt === OPT.LISTEN_ALL_NSID) return -ERRNO.EPERM; // CAP_NET_BROADCAST
    if (!FLAG_OPTS.has(opt)) return -ERRNO.ENOPROTOOPT; // NETLINK_PKTINFO's control messages are not implemented
    if (x) this.flags.add(opt);
    else this.flags.delete(opt);
    return 0;
  }

  takeError(): number {
    const e = this.err;
    this.err = 0;
    return e;
  }

  readiness(): number {
    return (this.queue.length > 0 ? POLL_IN : 0) | POLL_OUT | (this.err ? POLLERR : 0);
  }

  unread(): number {
    return -ERRNO.ENOTTY;
  }

  listening(): boolean {
    return false;
  }

  release(): void {
    if (this.bound && ports.get(this.portid) === this) ports.delete(this.portid);
    this.queue = [];
    this.dump = null;
  }
}
