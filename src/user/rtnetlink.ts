// NETLINK_ROUTE requests (rtnetlink(7)) answered from the host's interfaces (host-links.ts): the
// RTM_GETLINK dump and single-link request, the RTM_GETADDR dump. Messages are built as the
// kernel builds them (include/uapi/linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h): struct
// nlmsghdr, then ifinfomsg/ifaddrmsg, then attributes (struct rtattr), each padded to 4 bytes.
//
// What an unprivileged user gets from Linux for the rest: RTM_NEW*/DEL*/SET* fail with EPERM;
// a message type past RTM_MAX with EOPNOTSUPP. Requests Linux answers and rvisor does not (other
// RTM_GET* kinds, RTM_GETADDR without NLM_F_DUMP) fail with EOPNOTSUPP, as for a kernel without
// that handler. The strict checking of NETLINK_GET_STRICT_CHK covers the request headers and
// the address dump's interface filter; attributes other than IFLA_EXT_MASK / IFA_TARGET_NETNSID
// in a strict dump request are refused with EINVAL.
import { ERRNO } from './errno.js';
import { hostAddrs, hostLinks, type Addr, type Link } from './host-links.js';

export const NLMSG_HDRLEN = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_MIN_TYPE = 0x10;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_FILTERED = 0x20;
export const NLM_F_DUMP = 0x300;
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;
/** RTM_MAX of Linux 6.x (RTM_GETTUNNEL = 122, rounded up to a multiple of 4, minus 1). */
const RTM_MAX = 123;

const IFLA = { ADDRESS: 1, BROADCAST: 2, IFNAME: 3, MTU: 4, LINK: 5, STATS: 7, TXQLEN: 13, OPERSTATE: 16, LINKMODE: 17, IFALIAS: 20, STATS64: 23, GROUP: 27, EXT_MASK: 29, NUM_TX_QUEUES: 31, NUM_RX_QUEUES: 32, CARRIER: 33, CARRIER_CHANGES: 35, PROTO_DOWN: 39, CARRIER_UP_COUNT: 47, CARRIER_DOWN_COUNT: 48, ALT_IFNAME: 53 };
const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, CACHEINFO: 6, FLAGS: 8, TARGET_NETNSID: 10 };

const align4 = (n: number): number => (n + 3) & ~3;

/** A request as the socket layer parsed it. */
export interface Request {
  type: number;
  flags: number;
  seq: number;
  /** The whole message (header included, nlmsg_len bytes). */
  msg: Uint8Array;
}

/** The socket state a request may consult. */
export interface ReqContext {
  portid: number;
  strict: boolean;
}

/** What a request produced: err (0, or -errno for an NLMSG_ERROR), the messages of a reply, a
 *  dump (its messages, then NLMSG_DONE with doneErr), and an extended-ack message. */
export interface Outcome {
  err: number;
  reply?: Uint8Array[];
  dump?: { msgs: Uint8Array[]; doneErr: number; flags: number; extMsg?: string };
  extMsg?: string;
}

/** Attribute builder. */
class Attrs {
  parts: Uint8Array[] = [];
  put(type: number, data: Uint8Array): void {
    const b = new Uint8Array(align4(4 + data.length));
    const v = new DataView(b.buffer);
    v.setUint16(0, 4 + data.length, true);
    v.setUint16(2, type, true);
    b.set(data, 4);
    this.parts.push(b);
  }
  u8(type: number, x: number): void {
    this.put(type, Uint8Array.of(x));
  }
  u32(type: number, x: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, x >>> 0, true);
    this.put(type, b);
  }
  str(type: number, s: string): void {
    const e = new TextEncoder().encode(s);
    const b = new Uint8Array(e.length + 1);
    b.set(e);
    this.put(type, b);
  }
}

/** A netlink message: header + payload (padded to 4). */
export function nlmsg(type: number, flags: number, seq: number, pid: number, payload: Uint8Array[]): Uint8Array {
  const len = NLMSG_HDRLEN + payload.reduce((s, p) => s + p.length, 0);
  const b = new Uint8Array(align4(len));
  const v = new DataView(b.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq >>> 0, true);
  v.setUint32(12, pid >>> 0, true);
  let o = NLMSG_HDRLEN;
  for (const p of payload) {
    b.set(p, o);
    o += p.length;
  }
  return b;
}

/** NLMSG_ERROR for request `req` (an ACK when err is 0): the original header, and its payload
 *  unless capped (an ACK, or NETLINK_CAP_ACK), then the extended-ack message if asked for. */
export function errorMsg(req: Request, err: number, pid: number, capAck: boolean, extAck: boolean, extMsg?: string): Uint8Array {
  const capped = err === 0 || capAck;
  const head = new Uint8Array(4);
  new DataView(head.buffer).setInt32(0, err, true);
  const orig = capped ? req.msg.subarray(0, NLMSG_HDRLEN) : req.msg;
  const parts = [head, orig];
  let flags = capped ? NLM_F_CAPPED : 0;
  if (orig.length % 4) parts.push(new Uint8Array(4 - (orig.length % 4)));
  if (err !== 0 && extAck && extMsg) {
    const a = new Attrs();
    a.str(NLMSGERR_ATTR_MSG, extMsg);
    parts.push(...a.parts);
    flags |= NLM_F_ACK_TLVS;
  }
  return nlmsg(NLMSG_ERROR, flags, req.seq, pid, parts);
}

/** NLMSG_DONE closing a dump (its payload: the dump's error, 0 when it succeeded). */
export function doneMsg(seq: number, pid: number, err: number, flags: number, extAck: boolean, extMsg?: string): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, err, true);
  const parts: Uint8Array[] = [b];
  let f = NLM_F_MULTI | flags;
  if (extAck && extMsg) {
    const a = new Attrs();
    a.str(NLMSGERR_ATTR_MSG, extMsg);
    parts.push(...a.parts);
    f |= NLM_F_ACK_TLVS;
  }
  return nlmsg(NLMSG_DONE, f, seq, pid, parts);
}

function linkMsg(l: Link, flags: number, seq: number, pid: number): Uint8Array {
  const hdr = new Uint8Array(16);
  const v = new DataView(hdr.buffer);
  v.setUint16(2, l.type, true);
  v.setInt32(4, l.index, true);
  v.setUint32(8, l.flags >>> 0, true);
  const a = new Attrs();
  a.str(IFLA.IFNAME, l.name);
  a.u32(IFLA.TXQLEN, l.txqlen);
  a.u8(IFLA.OPERSTATE, l.operstate);
  a.u8(IFLA.LINKMODE, l.linkmode);
  a.u32(IFLA.MTU, l.mtu);
  a.u32(IFLA.GROUP, l.group);
  a.u32(IFLA.NUM_TX_QUEUES, l.txQueues);
  a.u32(IFLA.NUM_RX_QUEUES, l.rxQueues);
  if (l.iflink !== 0 && l.iflink !== l.index) a.u32(IFLA.LINK, l.iflink);
  a.u8(IFLA.CARRIER, l.carrier);
  if (l.alias) a.str(IFLA.IFALIAS, l.alias);
  a.u32(IFLA.CARRIER_CHANGES, l.carrierChanges);
  a.u32(IFLA.CARRIER_UP_COUNT, l.carrierUp);
  a.u32(IFLA.CARRIER_DOWN_COUNT, l.carrierDown);
  a.u8(IFLA.PROTO_DOWN, l.protoDown);
  if (l.address.length > 0) {
    a.put(IFLA.ADDRESS, l.address);
    a.put(IFLA.BROADCAST, l.broadcast);
  }
  const s64 = new Uint8Array(8 * (l.stats.length + 1));
  const s32 = new Uint8Array(4 * l.stats.length);
  const d64 = new DataView(s64.buffer);
  const d32 = new DataView(s32.buffer);
  l.stats.forEach((x, i) => {
    d64.setBigUint64(i * 8, x, true);
    d32.setUint32(i * 4, Number(x & 0xffffffffn), true);
  });
  a.put(IFLA.STATS64, s64);
  a.put(IFLA.STATS, s32);
  return nlmsg(RTM_NEWLINK, flags, seq, pid, [hdr, ...a.parts]);
}

function addrMsg(x: Addr, flags: number, seq: number, pid: number): Uint8Array {
  const hdr = Uint8Array.of(x.family, x.prefix, x.flags & 0xff, x.scope, 0, 0, 0, 0);
  new DataView(hdr.buffer).setUint32(4, x.index, true);
  const a = new Attrs();
  const cache = new Uint8Array(16);
  const cv = new DataView(cache.buffer);
  cv.setUint32(0, 0xffffffff, true);
  cv.setUint32(4, 0xffffffff, true);
  if (x.family === 2) {
    a.put(IFA.ADDRESS, x.address);
    a.put(IFA.LOCAL, x.address);
    if (x.broadcast) a.put(IFA.BROADCAST, x.broadcast);
    if (x.label) a.str(IFA.LABEL, x.label);
    a.u32(IFA.FLAGS, x.flags);
    a.put(IFA.CACHEINFO, cache);
  } else {
    a.put(IFA.ADDRESS, x.address);
    a.put(IFA.CACHEINFO, cache);
    a.u32(IFA.FLAGS, x.flags);
  }
  return nlmsg(RTM_NEWADDR, flags, seq, pid, [hdr, ...a.parts]);
}

/** The attributes after a fixed header of `fixed` bytes: [type, data] pairs (parsing stops at a
 *  malformed one, as nla_for_each_attr). */
function attrs(msg: Uint8Array, fixed: number): Array<[number, Uint8Array]> {
  const out: Array<[number, Uint8Array]> = [];
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  let o = NLMSG_HDRLEN + align4(fixed);
  while (o + 4 <= msg.length) {
    const len = v.getUint16(o, true);
    if (len < 4 || o + len > msg.length) break;
    out.push([v.getUint16(o + 2, true) & 0x3fff, msg.subarray(o + 4, o + len)]);
    o += align4(len);
  }
  return out;
}

function cstr(b: Uint8Array): string {
  const z = b.indexOf(0);
  return new TextDecoder().decode(z < 0 ? b : b.subarray(0, z));
}

function getLink(req: Request, ctx: ReqContext): Outcome {
  const m = req.msg;
  if (m.length < NLMSG_HDRLEN + 16) return { err: -ERRNO.EINVAL };
  const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
  if (ctx.strict && (m[17] || v.getUint16(18, true) || v.getUint32(24, true) || v.getUint32(28, true))) {
    return { err: -ERRNO.EINVAL, extMsg: 'Invalid values in header for get link request' };
  }
  const index = v.getInt32(20, true);
  const links = hostLinks();
  let link: Link | undefined;
  if (index > 0) link = links.find((l) => l.index === index);
  else {
    const name = attrs(m, 16).find(([t]) => t === IFLA.IFNAME || t === IFLA.ALT_IFNAME);
    if (!name) return { err: -ERRNO.EINVAL };
    const n = cstr(name[1]);
    link = links.find((l) => l.name === n);
  }
  if (!link) return { err: -ERRNO.ENODEV };
  return { err: 0, reply: [linkMsg(link, 0, req.seq, ctx.portid)] };
}

function dumpLinks(req: Request, ctx: ReqContext): Outcome {
  const m = req.msg;
  const fail = (extMsg: string): Outcome => ({ err: 0, dump: { msgs: [], doneErr: -ERRNO.EINVAL, flags: 0, extMsg } });
  if (ctx.strict) {
    if (m.length < NLMSG_HDRLEN + 16) return fail('Invalid header for link dump');
    const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
    if (m[17] || v.getUint16(18, true) || v.getUint32(24, true) || v.getUint32(28, true)) return fail('Invalid values in header for link dump request');
    if (v.getInt32(20, true)) return fail('Filter by device index not supported for link dumps');
    if (attrs(m, 16).some(([t]) => t !== IFLA.EXT_MASK)) return fail('Unsupported attribute in link dump request');
  }
  const msgs = hostLinks().map((l) => linkMsg(l, NLM_F_MULTI, req.seq, ctx.portid));
  return { err: 0, dump: { msgs, doneErr: 0, flags: 0 } };
}

function dumpAddrs(req: Request, ctx: ReqContext, family: number): Outcome {
  const m = req.msg;
  let index = 0;
  if (ctx.strict) {
    const who = family === 10 ? 'ipv6' : 'ipv4';
    const fail = (extMsg: string): Outcome => ({ err: 0, dump: { msgs: [], doneErr: -ERRNO.EINVAL, flags: 0, extMsg: `${who}: ${extMsg}` } });
    if (m.length < NLMSG_HDRLEN + 8) return fail('Invalid header for address dump request');
    if (m[17] || m[18] || m[19]) return fail('Invalid values in header for address dump request');
    if (attrs(m, 8).some(([t]) => t !== IFA.TARGET_NETNSID)) return fail('Unsupported attribute in dump request');
    index = new DataView(m.buffer, m.byteOffset, m.byteLength).getInt32(20, true);
  }
  const links = hostLinks();
  if (index && !links.some((l) => l.index === index)) return { err: 0, dump: { msgs: [], doneErr: -ERRNO.ENODEV, flags: NLM_F_DUMP_FILTERED } };
  const flags = index ? NLM_F_DUMP_FILTERED : 0;
  const msgs = hostAddrs(family, links)
    .filter((x) => !index || x.index === index)
    .map((x) => addrMsg(x, NLM_F_MULTI | flags, req.seq, ctx.portid));
  return { err: 0, dump: { msgs, doneErr: 0, flags } };
}

/** Handles one request whose NLM_F_REQUEST is set and whose type is not a control message
 *  (rtnetlink_rcv_msg). */
export function routeRequest(req: Request, ctx: ReqContext): Outcome {
  if (req.type > RTM_MAX) return { err: -ERRNO.EOPNOTSUPP };
  // Every message carries at least the one-byte family (struct rtgenmsg); shorter ones are ignored.
  if (req.msg.length < NLMSG_HDRLEN + 1) return { err: 0 };
  const family = req.msg[NLMSG_HDRLEN]!;
  const kind = (req.type - 16) & 3;
  if (kind !== 2) return { err: -ERRNO.EPERM }; // NEW, DEL, SET need CAP_NET_ADMIN
  const dump = (req.flags & NLM_F_DUMP) !== 0;
  if (req.type === RTM_GETLINK) return dump ? dumpLinks(req, ctx) : getLink(req, ctx);
  if (req.type === RTM_GETADDR && dump) return dumpAddrs(req, ctx, family === 2 || family === 10 ? family : 0);
  return { err: -ERRNO.EOPNOTSUPP };
}
