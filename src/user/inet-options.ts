// The IPPROTO_IP, IPPROTO_IPV6 and IPPROTO_TCP options of an AF_INET/AF_INET6 socket: each
// option's checks, default and stored form follow Linux's ip_setsockopt/ipv6_setsockopt/
// do_tcp_setsockopt and their getsockopt counterparts. The values live per socket; those the
// network worker can apply to the host socket (TCP_NODELAY, SO_KEEPALIVE with TCP_KEEPIDLE, a
// UDP socket's unicast and multicast TTL/hop limit and multicast loop) are carried there by
// inet-socket.ts (hostOptions). The others are settings Linux keeps per socket and reports back
// (the host's own defaults apply to the packets). Options that would change what the guest
// receives (IP_PKTINFO, IP_RECVERR, IP_RECVTTL, IPV6_RECVPKTINFO, …) are not offered: they fail
// with ENOPROTOOPT rather than be accepted and never delivered.
import { ERRNO } from './errno.js';
import { AF_INET6, SOCK_STREAM } from './socket.js';

export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;

export const IP = { TOS: 1, TTL: 2, HDRINCL: 3, MTU_DISCOVER: 10, FREEBIND: 15, TRANSPARENT: 19, NODEFRAG: 22, BIND_ADDRESS_NO_PORT: 24, MULTICAST_TTL: 33, MULTICAST_LOOP: 34, MULTICAST_ALL: 49 };
export const IPV6 = { UNICAST_HOPS: 16, MULTICAST_HOPS: 18, MULTICAST_LOOP: 19, MTU_DISCOVER: 23, V6ONLY: 26, DONTFRAG: 62, TCLASS: 67, AUTOFLOWLABEL: 70, TRANSPARENT: 75, FREEBIND: 78 };
export const TCP = { NODELAY: 1, MAXSEG: 2, CORK: 3, KEEPIDLE: 4, KEEPINTVL: 5, KEEPCNT: 6, SYNCNT: 7, LINGER2: 8, DEFER_ACCEPT: 9, QUICKACK: 12, USER_TIMEOUT: 18, FASTOPEN: 23, NOTSENT_LOWAT: 25 };

const SOL_SOCKET = 1;
const SOMAXCONN = 4096;
const INET_ECN_MASK = 3;
const TCP_MSS_DEFAULT = 536;
const TCP_MIN_MSS = 88;
const MAX_TCP_WINDOW = 32767;
const MAX_TCP_KEEPIDLE = 32767;
const MAX_TCP_KEEPCNT = 127;
const MAX_TCP_SYNCNT = 127;
const TCP_FIN_TIMEOUT_MAX = 120;
/** Linux's sysctl defaults: ip_default_ttl, tcp_keepalive_time/intvl/probes, tcp_syn_retries,
 *  tcp_fin_timeout; the IPv6 hop limit; auto_flowlabels (opt-out: on). */
const DEFAULT_TTL = 64;
const DEFAULTS: Record<number, number> = {
  [key(IPPROTO_IP, IP.TTL)]: -1, [key(IPPROTO_IP, IP.MTU_DISCOVER)]: 1, [key(IPPROTO_IP, IP.MULTICAST_TTL)]: 1,
  [key(IPPROTO_IP, IP.MULTICAST_LOOP)]: 1, [key(IPPROTO_IP, IP.MULTICAST_ALL)]: 1,
  [key(IPPROTO_IPV6, IPV6.UNICAST_HOPS)]: -1, [key(IPPROTO_IPV6, IPV6.MULTICAST_HOPS)]: 1,
  [key(IPPROTO_IPV6, IPV6.MULTICAST_LOOP)]: 1, [key(IPPROTO_IPV6, IPV6.MTU_DISCOVER)]: 1,
  [key(IPPROTO_IPV6, IPV6.AUTOFLOWLABEL)]: 1,
  [key(IPPROTO_TCP, TCP.KEEPIDLE)]: 7200, [key(IPPROTO_TCP, TCP.KEEPINTVL)]: 75, [key(IPPROTO_TCP, TCP.KEEPCNT)]: 9,
  [key(IPPROTO_TCP, TCP.SYNCNT)]: 6, [key(IPPROTO_TCP, TCP.QUICKACK)]: 1,
};

export function key(level: number, opt: number): number {
  return level * 1000 + opt;
}

/** What an option's checks need to know about the socket. */
export interface OptSocket {
  readonly domain: number;
  readonly type: number;
  /** Bound or connected (a local port): IPV6_V6ONLY can no longer change. */
  hasPort(): boolean;
  /** Not yet connected or listening (Linux's TCP_CLOSE). */
  closed(): boolean;
  listening(): boolean;
}

/** TCP_DEFER_ACCEPT's seconds as Linux keeps them: a count of SYN-ACK retransmissions (initial
 *  timeout 1 s, doubling, at most 120 s), reported back as the seconds those cover. */
function secsToRetrans(secs: number): number {
  if (secs <= 0) return 0;
  let res = 1;
  let timeout = 1;
  let period = 1;
  while (secs > period && res < 255) {
    res++;
    timeout = Math.min(timeout * 2, 120);
    period += timeout;
  }
  return res;
}

function retransToSecs(retrans: number): number {
  if (retrans <= 0) return 0;
  let timeout = 1;
  let period = 1;
  while (--retrans > 0) {
    timeout = Math.min(timeout * 2, 120);
    period += timeout;
  }
  return period;
}

/** The per-socket option values (only those set; the rest are Linux's defaults). */
export class InetOptions {
  private readonly vals = new Map<number, number>();

  constructor(from?: InetOptions) {
    // An accepted connection starts with its listener's options, as Linux clones the socket.
    if (from) for (const [k, v] of from.vals) this.vals.set(k, v);
  }

  /** The stored value of level/opt (Linux's default if never set). */
  value(level: number, opt: number): number {
    const k = level === IPPROTO_IPV6 && opt === IPV6.FREEBIND ? key(IPPROTO_IP, IP.FREEBIND) : key(level, opt);
    return this.vals.get(k) ?? DEFAULTS[k] ?? 0;
  }

  private put(level: number, opt: number, v: number): number {
    this.vals.set(key(level, opt), v);
    return 0;
  }

  /** getsockopt: the int value, or -errno. A level the socket's protocol does not know ends in
   *  ip_getsockopt (EOPNOTSUPP) for AF_INET, in ipv6_getsockopt (ENOPROTOOPT) for AF_INET6. */
  get(s: OptSocket, level: number, opt: number): { v: number } | number {
    const v = (x: number): { v: number } => ({ v: x });
    const noLevel = s.domain === AF_INET6 ? -ERRNO.ENOPROTOOPT : -ERRNO.EOPNOTSUPP;
    if (level === IPPROTO_IP) {
      switch (opt) {
        case IP.TTL: {
          const t = this.value(level, opt);
          return v(t === -1 ? DEFAULT_TTL : t);
        }
        case IP.TOS: case IP.HDRINCL: case IP.MTU_DISCOVER: case IP.FREEBIND: case IP.TRANSPARENT: case IP.NODEFRAG:
        case IP.BIND_ADDRESS_NO_PORT: case IP.MULTICAST_TTL: case IP.MULTICAST_LOOP: case IP.MULTICAST_ALL:
          return v(this.value(level, opt));
        default: return -ERRNO.ENOPROTOOPT;
      }
    }
    if (level === IPPROTO_IPV6) {
      if (s.domain !== AF_INET6) return noLevel;
      switch (opt) {
        case IPV6.UNICAST_HOPS: {
          const h = this.value(level, opt);
          return v(h === -1 ? DEFAULT_TTL : h);
        }
        case IPV6.MULTICAST_HOPS: case IPV6.MULTICAST_LOOP: case IPV6.MTU_DISCOVER: case IPV6.V6ONLY: case IPV6.DONTFRAG:
        case IPV6.TCLASS: case IPV6.AUTOFLOWLABEL: case IPV6.TRANSPARENT: case IPV6.FREEBIND:
          return v(this.value(level, opt));
        default: return -ERRNO.ENOPROTOOPT;
      }
    }
    if (level === IPPROTO_TCP) {
      if (s.type !== SOCK_STREAM) return noLevel;
      switch (opt) {
        case TCP.MAXSEG: return v(this.value(level, opt) || TCP_MSS_DEFAULT);
        case TCP.LINGER2: {
          const l = this.value(level, opt);
          return v(l < 0 ? -1 : l || 60);
        }
        case TCP.DEFER_ACCEPT: return v(retransToSecs(this.value(level, opt)));
        case TCP.NODELAY: case TCP.CORK: case TCP.KEEPIDLE: case TCP.KEEPINTVL: case TCP.KEEPCNT: case TCP.SYNCNT:
        case TCP.QUICKACK: case TCP.USER_TIMEOUT: case TCP.FASTOPEN: case TCP.NOTSENT_LOWAT:
          return v(this.value(level, opt));
        default: return -ERRNO.ENOPROTOOPT;
      }
    }
    return level === SOL_SOCKET ? -ERRNO.ENOPROTOOPT : noLevel;
  }

  /** setsockopt: 0 or -errno. */
  set(s: OptSocket, level: number, opt: number, val: Uint8Array): number {
    const dv = new DataView(val.buffer, val.byteOffset, val.byteLength);
    const full = val.length >= 4;
    if (level === IPPROTO_IP) {
      // ip_setsockopt takes an int, or a single byte when optlen is shorter.
      const x = full ? dv.getInt32(0, true) : val.length >= 1 ? val[0]! : 0;
      const bool = (): number => this.put(level, opt, x ? 1 : 0);
      switch (opt) {
        case IP.TOS: {
          let t = x & 0xff;
          if (s.type === SOCK_STREAM) t = (t & ~INET_ECN_MASK) | (this.value(level, opt) & INET_ECN_MASK);
          return this.put(level, opt, t);
        }
        case IP.TTL:
          if (val.length < 1 || (x !== -1 && (x < 1 || x > 255))) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case IP.HDRINCL: case IP.NODEFRAG:
          return -ERRNO.ENOPROTOOPT; // raw sockets only
        case IP.MTU_DISCOVER:
          if (x < 0 || x > 5) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case IP.FREEBIND: case IP.BIND_ADDRESS_NO_PORT:
          if (val.length < 1) return -ERRNO.EINVAL;
          return bool();
        case IP.TRANSPARENT:
          if (val.length < 1) return -ERRNO.EINVAL;
          if (x) return -ERRNO.EPERM; // CAP_NET_ADMIN
          return bool();
        case IP.MULTICAST_TTL:
          if (s.type === SOCK_STREAM || val.length < 1) return -ERRNO.EINVAL;
          if (x === -1) return this.put(level, opt, 1);
          if (x < 0 || x > 255) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case IP.MULTICAST_LOOP:
          if (val.length < 1) return -ERRNO.EINVAL;
          return bool();
        case IP.MULTICAST_ALL:
          if (val.length < 1 || (x !== 0 && x !== 1)) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        default: return -ERRNO.ENOPROTOOPT;
      }
    }
    if (level === IPPROTO_IPV6) {
      if (s.domain !== AF_INET6) return -ERRNO.ENOPROTOOPT;
      const x = full ? dv.getInt32(0, true) : 0;
      const known = [IPV6.UNICAST_HOPS, IPV6.MULTICAST_HOPS, IPV6.MULTICAST_LOOP, IPV6.MTU_DISCOVER, IPV6.V6ONLY, IPV6.DONTFRAG, IPV6.TCLASS, IPV6.AUTOFLOWLABEL, IPV6.TRANSPARENT, IPV6.FREEBIND];
      if (!known.includes(opt)) return -ERRNO.ENOPROTOOPT;
      if (opt === IPV6.MULTICAST_HOPS && s.type === SOCK_STREAM) return -ERRNO.ENOPROTOOPT;
      if (!full) return -ERRNO.EINVAL;
      switch (opt) {
        case IPV6.UNICAST_HOPS:
          if (x < -1 || x > 255) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case IPV6.MULTICAST_HOPS:
          if (x < -1 || x > 255) return -ERRNO.EINVAL;
          return this.put(level, opt, x === -1 ? 1 : x);
        case IPV6.MULTICAST_LOOP:
          if (x !== 0 && x !== 1) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case IPV6.MTU_DISCOVER:
          if (x < 0 || x > 5) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case IPV6.V6ONLY:
          if (s.hasPort()) return -ERRNO.EINVAL;
          return this.put(level, opt, x ? 1 : 0);
        case IPV6.TCLASS: {
          if (x < -1 || x > 255) return -ERRNO.EINVAL;
          let t = x === -1 ? 0 : x;
          if (s.type === SOCK_STREAM) t = (t & ~INET_ECN_MASK) | (this.value(level, opt) & INET_ECN_MASK);
          return this.put(level, opt, t);
        }
        case IPV6.TRANSPARENT:
          if (x) return -ERRNO.EPERM; // CAP_NET_ADMIN
          return this.put(level, opt, 0);
        case IPV6.FREEBIND:
          return this.put(IPPROTO_IP, IP.FREEBIND, x ? 1 : 0); // one flag for both levels
        default:
          return this.put(level, opt, x ? 1 : 0);
      }
    }
    if (level === IPPROTO_TCP) {
      if (s.type !== SOCK_STREAM) return -ERRNO.ENOPROTOOPT;
      const known = Object.values(TCP);
      if (!known.includes(opt)) return -ERRNO.ENOPROTOOPT;
      if (!full) return -ERRNO.EINVAL;
      const x = dv.getInt32(0, true);
      switch (opt) {
        case TCP.MAXSEG:
          if (x && (x < TCP_MIN_MSS || x > MAX_TCP_WINDOW)) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case TCP.KEEPIDLE: case TCP.KEEPINTVL:
          if (x < 1 || x > MAX_TCP_KEEPIDLE) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case TCP.KEEPCNT:
          if (x < 1 || x > MAX_TCP_KEEPCNT) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case TCP.SYNCNT:
          if (x < 1 || x > MAX_TCP_SYNCNT) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case TCP.LINGER2:
          return this.put(level, opt, x < 0 ? -1 : Math.min(x, TCP_FIN_TIMEOUT_MAX));
        case TCP.DEFER_ACCEPT:
          return this.put(level, opt, secsToRetrans(x));
        case TCP.USER_TIMEOUT:
          if (x < 0) return -ERRNO.EINVAL;
          return this.put(level, opt, x);
        case TCP.FASTOPEN:
          if (x < 0 || !(s.closed() || s.listening())) return -ERRNO.EINVAL;
          return this.put(level, opt, Math.min(x, SOMAXCONN)); // the queue is at most somaxconn
        case TCP.NOTSENT_LOWAT:
          return this.put(level, opt, x);
        default: // NODELAY, CORK, QUICKACK
          return this.put(level, opt, x ? 1 : 0);
      }
    }
    return -ERRNO.ENOPROTOOPT;
  }
}
