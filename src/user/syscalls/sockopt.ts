// getsockopt/setsockopt at the socket layer (SOL_SOCKET): the options every family shares are
// kept here per open description (types, timeouts, buffer sizes, plain flags, SO_LINGER); the
// rest go to the family (SockImpl.getopt/setopt: inet-options.ts for AF_INET/AF_INET6). Options
// a family must act on (SO_KEEPALIVE and SO_LINGER reach the host socket of a TCP connection)
// are kept here and also passed to the family. A level other than SOL_SOCKET is the family's.
import { ERRNO } from '../errno.js';
import type { Process } from '../process.js';
import type { SocketFile } from '../socket.js';
import { UnixSocket } from '../unix-socket.js';

export const SOL_SOCKET = 1;

const SO = {
  DEBUG: 1, REUSEADDR: 2, TYPE: 3, ERROR: 4, DONTROUTE: 5, BROADCAST: 6, SNDBUF: 7, RCVBUF: 8, KEEPALIVE: 9,
  OOBINLINE: 10, NO_CHECK: 11, PRIORITY: 12, LINGER: 13, BSDCOMPAT: 14, REUSEPORT: 15, PASSCRED: 16, PEERCRED: 17,
  RCVLOWAT: 18, SNDLOWAT: 19, RCVTIMEO: 20, SNDTIMEO: 21, ACCEPTCONN: 30, SNDBUFFORCE: 32, RCVBUFFORCE: 33,
  MARK: 36, PROTOCOL: 38, DOMAIN: 39, COOKIE: 57, RCVTIMEO_NEW: 66, SNDTIMEO_NEW: 67,
};
/** Boolean/int SOL_SOCKET options kept as plain values (no effect beyond what getsockopt says,
 *  except SO_KEEPALIVE, which the family also gets). */
const PLAIN_OPTS = new Set([SO.DEBUG, SO.REUSEADDR, SO.DONTROUTE, SO.BROADCAST, SO.KEEPALIVE, SO.OOBINLINE, SO.NO_CHECK, SO.PRIORITY, SO.BSDCOMPAT, SO.REUSEPORT, SO.RCVLOWAT, SO.SNDLOWAT]);
const WMEM_MAX = 212992;

/** A socket description's extra state the layer keeps: plain option values. */
const plainOpts = new WeakMap<SocketFile, Map<number, number>>();
/** SO_COOKIE: a number unique to the socket for the run, given on first request (as Linux). */
const cookies = new WeakMap<object, bigint>();
let nextCookie = 1n;

function optsOf(f: SocketFile): Map<number, number> {
  let m = plainOpts.get(f);
  if (!m) {
    m = new Map<number, number>();
    plainOpts.set(f, m);
  }
  return m;
}

export function intBytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function timeval(ns: bigint): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, ns / 1_000_000_000n, true);
  v.setBigInt64(8, (ns % 1_000_000_000n) / 1000n, true);
  return b;
}

/** getsockopt: the option's bytes (the caller cuts them to the guest's length), or -errno. */
export function socketGetopt(p: Process, f: SocketFile, level: number, opt: number): Uint8Array | number {
  const sk = f.sk;
  if (level !== SOL_SOCKET) return sk.getopt(p, level, opt);
  switch (opt) {
    case SO.TYPE: return intBytes(sk.type);
    case SO.DOMAIN: return intBytes(sk.domain);
    case SO.PROTOCOL: return intBytes(sk.protocol);
    case SO.ERROR: return intBytes(sk.takeError());
    case SO.ACCEPTCONN: return intBytes(sk.listening() ? 1 : 0);
    case SO.SNDBUF: return intBytes(sk.sndbuf);
    case SO.RCVBUF: return intBytes(sk.rcvbuf);
    case SO.PASSCRED: return intBytes(sk instanceof UnixSocket && sk.passcred ? 1 : 0);
    case SO.PEERCRED: {
      const c = sk instanceof UnixSocket ? sk.peerCred : null;
      const b = new Uint8Array(12);
      const v = new DataView(b.buffer);
      v.setInt32(0, c?.pid ?? 0, true);
      v.setInt32(4, c ? c.uid : -1, true);
      v.setInt32(8, c ? c.gid : -1, true);
      return b;
    }
    case SO.RCVTIMEO:
    case SO.RCVTIMEO_NEW: return timeval(f.rcvtimeo);
    case SO.SNDTIMEO:
    case SO.SNDTIMEO_NEW: return timeval(f.sndtimeo);
    case SO.LINGER: {
      const m = plainOpts.get(f);
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      v.setInt32(0, m?.get(SO.LINGER) ?? 0, true);
      v.setInt32(4, m?.get(-SO.LINGER) ?? 0, true);
      return b;
    }
    case SO.MARK: return intBytes(0);
    case SO.COOKIE: {
      let c = cookies.get(sk);
      if (c === undefined) {
        c = nextCookie++;
        cookies.set(sk, c);
      }
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, c, true);
      return b;
    }
    default:
      if (PLAIN_OPTS.has(opt)) {
        const d = opt === SO.RCVLOWAT || opt === SO.SNDLOWAT ? 1 : 0;
        return intBytes(plainOpts.get(f)?.get(opt) ?? d);
      }
      return sk.getopt(p, level, opt);
  }
}

/** setsockopt: 0 or -errno. */
export function socketSetopt(p: Process, f: SocketFile, level: number, opt: number, val: Uint8Array): number {
  const sk = f.sk;
  if (level !== SOL_SOCKET) return sk.setopt(p, level, opt, val);
  const v = new DataView(val.buffer, val.byteOffset, val.byteLength);
  if (opt === SO.RCVTIMEO || opt === SO.SNDTIMEO || opt === SO.RCVTIMEO_NEW || opt === SO.SNDTIMEO_NEW) {
    if (val.length < 16) return -ERRNO.EINVAL;
    const sec = v.getBigInt64(0, true);
    const usec = v.getBigInt64(8, true);
    if (usec < 0n || usec >= 1_000_000n) return -ERRNO.EDOM;
    const ns = sec < 0n ? 0n : sec * 1_000_000_000n + usec * 1000n;
    if (opt === SO.RCVTIMEO || opt === SO.RCVTIMEO_NEW) f.rcvtimeo = ns;
    else f.sndtimeo = ns;
    return 0;
  }
  if (opt === SO.LINGER) {
    // struct linger: l_onoff, l_linger (seconds). As Linux, l_linger is kept only when on.
    if (val.length < 8) return -ERRNO.EINVAL;
    const m = optsOf(f);
    const on = v.getInt32(0, true) !== 0;
    m.set(SO.LINGER, on ? 1 : 0);
    if (on) m.set(-SO.LINGER, v.getInt32(4, true));
    const r = sk.setopt(p, level, opt, val);
    return r === -ERRNO.ENOPROTOOPT ? 0 : r;
  }
  if (val.length < 4) return -ERRNO.EINVAL;
  const x = v.getInt32(0, true);
  switch (opt) {
    case SO.SNDBUF:
    case SO.SNDBUFFORCE:
      if (opt === SO.SNDBUFFORCE) return -ERRNO.EPERM;
      sk.sndbuf = Math.max(Math.min(x >>> 0, WMEM_MAX) * 2, 4608);
      break;
    case SO.RCVBUF:
    case SO.RCVBUFFORCE:
      if (opt === SO.RCVBUFFORCE) return -ERRNO.EPERM;
      sk.rcvbuf = Math.max(Math.min(x >>> 0, WMEM_MAX) * 2, 2304);
      break;
    case SO.PASSCRED:
      if (sk instanceof UnixSocket) sk.passcred = x !== 0;
      break;
    case SO.MARK:
      // Needs CAP_NET_ADMIN (rvisor cannot mark the host's packets).
      return -ERRNO.EPERM;
    case SO.TYPE: case SO.DOMAIN: case SO.PROTOCOL: case SO.ERROR: case SO.ACCEPTCONN: case SO.PEERCRED: case SO.COOKIE:
      return -ERRNO.ENOPROTOOPT;
    default: {
      if (!PLAIN_OPTS.has(opt)) return sk.setopt(p, level, opt, val);
      if (opt === SO.PRIORITY && (x < 0 || x > 6) && p.creds.euid !== 0) return -ERRNO.EPERM; // CAP_NET_ADMIN
      const bool = opt !== SO.PRIORITY && opt !== SO.RCVLOWAT && opt !== SO.SNDLOWAT;
      optsOf(f).set(opt, bool ? (x ? 1 : 0) : opt === SO.RCVLOWAT ? Math.max(1, x) : x);
      const r = sk.setopt(p, level, opt, val);
      return r === -ERRNO.ENOPROTOOPT ? 0 : r;
    }
  }
  p.wakeRetriers();
  return 0;
}
