// The IP/IPv6 options QEMU 7.2 cannot show (it answers ENOPROTOOPT itself for them, so the
// sockopts ctest leaves them out), checked against Linux's ip_setsockopt/ipv6_setsockopt rules:
// IP_TRANSPARENT/IPV6_TRANSPARENT need CAP_NET_ADMIN to turn on, IP_BIND_ADDRESS_NO_PORT is a
// flag, IP_MULTICAST_ALL takes only 0 or 1 (default 1), IPV6_DONTFRAG is a flag,
// IPV6_AUTOFLOWLABEL defaults to on (auto_flowlabels = 1), IPV6_FREEBIND and IP_FREEBIND are
// one flag; the levels a socket does not have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IP, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, IPV6, InetOptions, TCP, type OptSocket } from '../src/user/inet-options.js';

const EINVAL = -22;
const EPERM = -1;
const ENOPROTOOPT = -92;
const EOPNOTSUPP = -95;

function sock(domain: number, type: number): OptSocket {
  return { domain, type, hasPort: () => false, closed: () => true, listening: () => false };
}
const int = (v: number): Uint8Array => new Uint8Array(new Int32Array([v]).buffer);

test('options QEMU cannot show follow Linux', () => {
  const s6 = sock(10, 2);
  const o = new InetOptions();
  const get = (s: OptSocket, level: number, opt: number): number | { v: number } => o.get(s, level, opt);
  assert.deepEqual(get(s6, IPPROTO_IP, IP.TRANSPARENT), { v: 0 });
  assert.equal(o.set(s6, IPPROTO_IP, IP.TRANSPARENT, int(1)), EPERM);
  assert.equal(o.set(s6, IPPROTO_IP, IP.TRANSPARENT, int(0)), 0);
  assert.equal(o.set(s6, IPPROTO_IPV6, IPV6.TRANSPARENT, int(1)), EPERM);
  assert.equal(o.set(s6, IPPROTO_IP, IP.BIND_ADDRESS_NO_PORT, int(7)), 0);
  assert.deepEqual(get(s6, IPPROTO_IP, IP.BIND_ADDRESS_NO_PORT), { v: 1 });
  assert.deepEqual(get(s6, IPPROTO_IP, IP.MULTICAST_ALL), { v: 1 });
  assert.equal(o.set(s6, IPPROTO_IP, IP.MULTICAST_ALL, int(2)), EINVAL);
  assert.equal(o.set(s6, IPPROTO_IP, IP.MULTICAST_ALL, int(0)), 0);
  assert.deepEqual(get(s6, IPPROTO_IP, IP.MULTICAST_ALL), { v: 0 });
  assert.deepEqual(get(s6, IPPROTO_IPV6, IPV6.DONTFRAG), { v: 0 });
  assert.equal(o.set(s6, IPPROTO_IPV6, IPV6.DONTFRAG, int(5)), 0);
  assert.deepEqual(get(s6, IPPROTO_IPV6, IPV6.DONTFRAG), { v: 1 });
  assert.equal(o.set(s6, IPPROTO_IPV6, IPV6.DONTFRAG, new Uint8Array(2)), EINVAL);
  assert.deepEqual(get(s6, IPPROTO_IPV6, IPV6.AUTOFLOWLABEL), { v: 1 });
  assert.equal(o.set(s6, IPPROTO_IPV6, IPV6.FREEBIND, int(1)), 0);
  assert.deepEqual(get(s6, IPPROTO_IP, IP.FREEBIND), { v: 1 });
  // Levels: IPv6 options on IPv4 sockets, TCP options on UDP sockets.
  const s4 = sock(2, 2);
  assert.equal(get(s4, IPPROTO_IPV6, IPV6.V6ONLY), EOPNOTSUPP);
  assert.equal(o.set(s4, IPPROTO_IPV6, IPV6.V6ONLY, int(1)), ENOPROTOOPT);
  assert.equal(get(s6, IPPROTO_TCP, TCP.NODELAY), ENOPROTOOPT);
  assert.equal(get(s4, IPPROTO_TCP, TCP.NODELAY), EOPNOTSUPP);
  assert.equal(o.set(s4, IPPROTO_TCP, TCP.NODELAY, int(1)), ENOPROTOOPT);
  // Receive-side options rvisor cannot deliver are refused, not silently accepted.
  assert.equal(o.set(s4, IPPROTO_IP, 8 /* IP_PKTINFO */, int(1)), ENOPROTOOPT);
  assert.equal(o.set(s6, IPPROTO_IPV6, 49 /* IPV6_RECVPKTINFO */, int(1)), ENOPROTOOPT);
});

test('an accepted connection starts with its listener\'s options', () => {
  const t = sock(10, 1);
  const l = new InetOptions();
  assert.equal(l.set(t, IPPROTO_TCP, TCP.KEEPCNT, int(4)), 0);
  assert.equal(l.set(t, IPPROTO_IP, IP.TOS, int(0x23)), 0);
  const a = new InetOptions(l);
  assert.deepEqual(a.get(t, IPPROTO_TCP, TCP.KEEPCNT), { v: 4 });
  assert.deepEqual(a.get(t, IPPROTO_IP, IP.TOS), { v: 0x20 }); // ECN bits are not the user's on TCP
  assert.equal(a.set(t, IPPROTO_TCP, TCP.KEEPCNT, int(128)), EINVAL);
  assert.deepEqual(l.get(t, IPPROTO_TCP, TCP.KEEPCNT), { v: 4 });
});
