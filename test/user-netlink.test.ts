// AF_NETLINK / NETLINK_ROUTE under rvisor exec where the QEMU comparison (ctest netlink) cannot
// judge: the answers an unprivileged user gets from Linux (QEMU runs as root here and rejects
// some malformed messages itself), and the host's interfaces as the dumps describe them compared
// with the host's own view (`ip -o link` / `ip -o addr` when iproute2 is installed, else
// /sys/class/net), and /proc/net files Go reads for multicast addresses.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRvisor, unpackGz } from './helpers.js';
import { createNetlink } from '../src/user/netlink-socket.js';
import type { Process } from '../src/user/process.js';
import { SOCK_RAW, type SockImpl } from '../src/user/socket.js';

const ctest = unpackGz('guest/ctests/bin/ctest.gz');

test('user-netlink: route changes, other ports and malformed messages as Linux answers an unprivileged user (ctest netlinklinux)', () => {
  const r = runRvisor(['exec', ctest, 'netlinklinux'], { timeoutMs: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  // rtnetlink_rcv_msg: RTM_NEW*/DEL*/SET* without CAP_NET_ADMIN → -EPERM, a type past RTM_MAX →
  // -EOPNOTSUPP, as NLMSG_ERROR carrying the request (only its header with NETLINK_CAP_ACK:
  // NLM_F_CAPPED); netlink_sendmsg: another port or a group → EPERM, a short sockaddr → EINVAL,
  // more than SO_SNDBUF - 32 bytes → EMSGSIZE; netlink_rcv_skb: an nlmsg_len below the header or
  // past the buffer ends it without a reply. (Recorded from this program built for the host and
  // run as uid 65534 on Linux 6.18.)
  const want = [
    'nl_send(s, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, &i, sizeof i) = 32',
    'RTM_NEWLINK: type 2 flags 0 seq 1 (52 bytes) error -1 (len 52) for type 16 seq 1',
    'nl_send(s, RTM_DELADDR, NLM_F_REQUEST, 2, &i, 8)             = 24',
    'RTM_DELADDR: type 2 flags 0 seq 2 (44 bytes) error -1 (len 44) for type 21 seq 2',
    'nl_send(s, 1000, NLM_F_REQUEST, 3, &i, sizeof i)             = 32',
    'type 1000: type 2 flags 0 seq 3 (52 bytes) error -95 (len 52) for type 1000 seq 3',
    'setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &v, sizeof v)    = 0',
    'nl_send(s, RTM_SETLINK, NLM_F_REQUEST, 4, &i, sizeof i)      = 32',
    'RTM_SETLINK capped: type 2 flags 0x100 seq 4 (36 bytes) error -1 (len 36) for type 19 seq 4',
    'sendto(s, buf, 16, 0, (struct sockaddr *)&to, sizeof to)     = -1 EPERM',
    'sendto(s, buf, 16, 0, (struct sockaddr *)&to, sizeof to)     = -1 EPERM',
    'connect(s, (struct sockaddr *)&to, sizeof to)                = -1 EPERM',
    'sendto(s, buf, 16, 0, (struct sockaddr *)&to, 6)             = -1 EINVAL',
    'sendto(s, buf, 16, 0, (struct sockaddr *)8, sizeof to)       = -1 EFAULT',
    'send(s, (void *)8, 16, 0)                                    = -1 EFAULT',
    'nl_send(s, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 5, NULL, 0) = 16',
    'recv(s, (void *)8, 16, 0)                                    = -1 EFAULT',
    'send(s, &h, sizeof h, 0)                                     = 16',
    'send(s, &h, sizeof h, 0)                                     = 16',
    'send(s, &h, 10, 0)                                           = 10',
    'recv(s, buf, sizeof buf, MSG_DONTWAIT)                       = -1 EAGAIN',
    'send(s, big, sizeof big, 0)                                  = -1 EMSGSIZE',
  ];
  assert.equal(r.stdout.toString(), want.join('\n') + '\n');
});

interface HostLink {
  index: number;
  name: string;
  mtu: number;
  addr: string;
}

const SCOPES: Record<string, number> = { global: 0, site: 200, link: 253, host: 254 };

function hasIp(): boolean {
  return spawnSync('ip', ['-V']).status === 0;
}

/** The host's links: from `ip -o link`, else /sys/class/net. */
function hostLinks(): HostLink[] {
  if (hasIp()) {
    const out = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
    return out.split('\n').filter((l) => l.trim()).map((l) => {
      const m = /^(\d+): ([^:@]+)(?:@\S+)?: <[^>]*> mtu (\d+) .*?link\/\S+(?: ([0-9a-f:]+))?/.exec(l);
      assert.ok(m, `ip -o link line: ${l}`);
      return { index: Number(m[1]), name: m[2]!, mtu: Number(m[3]), addr: m[4] ?? '' };
    });
  }
  return readdirSync('/sys/class/net').map((name) => {
    const rd = (f: string): string => readFileSync(`/sys/class/net/${name}/${f}`, 'utf8').trim();
    return { index: Number(rd('ifindex')), name, mtu: Number(rd('mtu')), addr: rd('address') };
  });
}

test('user-netlink: the RTM_GETLINK and RTM_GETADDR dumps describe the host\'s interfaces (ctest netlinkshow)', (t) => {
  const r = runRvisor(['exec', ctest, 'netlinkshow'], { timeoutMs: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.toString().split('\n').filter((l) => l);
  const links = lines.filter((l) => l.startsWith('link '));
  const host = hostLinks().sort((a, b) => a.index - b.index);
  assert.equal(links.length, host.length, r.stdout.toString());
  const flagsOf = new Map<number, number>();
  links.forEach((l, i) => {
    const m = /^link (\d+) (\S+) mtu (\d+)(?: addr (\S+))? type (\d+) flags (0x[0-9a-f]+|0)$/.exec(l);
    assert.ok(m, l);
    const h = host[i]!;
    assert.deepEqual([Number(m[1]), m[2], Number(m[3]), m[4] ?? ''], [h.index, h.name, h.mtu, h.addr], l);
    const flags = Number(m[6]);
    flagsOf.set(h.index, flags);
    // The device flags as sysfs shows them, plus IFF_RUNNING / IFF_LOWER_UP / IFF_DORMANT.
    const sys = parseInt(readFileSync(`/sys/class/net/${h.name}/flags`, 'utf8').trim(), 16);
    assert.equal(flags & ~(0x40 | 0x10000 | 0x20000), sys, l);
    assert.equal(Number(m[5]), Number(readFileSync(`/sys/class/net/${h.name}/type`, 'utf8').trim()), l);
  });
  const lo = links.find((l) => / lo mtu /.test(l));
  assert.match(lo ?? '', /^link 1 lo mtu 65536 addr 00:00:00:00:00:00 type 772 flags 0x10049$/);
  if (!hasIp()) {
    t.diagnostic('iproute2 not installed: addresses not compared');
    return;
  }
  // Addresses: every IPv6 one; IPv4 ones of interfaces that are up and running (the documented
  // limit: Node's list leaves the others out). IPv4 first, then IPv6.
  const got = lines.filter((l) => l.startsWith('addr '));
  const want: string[] = [];
  for (const l of spawnSync('ip', ['-o', 'addr'], { encoding: 'utf8' }).stdout.split('\n')) {
    const m = /^(\d+):\s+\S+\s+(inet6?) (\S+)(?: peer \S+)? .*?scope (\S+)/.exec(l);
    if (!m) continue;
    const index = Number(m[1]);
    const running = ((flagsOf.get(index) ?? 0) & 0x41) === 0x41;
    if (m[2] === 'inet' && !running) continue;
    want.push(`addr ${index} ${m[2]} ${m[3]} scope ${SCOPES[m[4]!] ?? m[4]}`);
  }
  const family = (s: string): number => (s.split(' ')[2] === 'inet' ? 0 : 1);
  want.sort((a, b) => family(a) - family(b));
  assert.deepEqual(got.slice().sort(), want.slice().sort());
  assert.deepEqual(got.map(family), want.map(family));
});

test('user-netlink: /proc/net/igmp and igmp6 are the host\'s (Go reads them for multicast addresses)', () => {
  const busybox = unpackGz('guest/busybox/busybox.gz');
  for (const f of ['igmp', 'igmp6']) {
    const r = runRvisor(['exec', busybox, 'cat', `/proc/net/${f}`], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), readFileSync(`/proc/net/${f}`, 'latin1'));
  }
});

// ---- the socket alone: strict checking, extended acks, dump chunks ----------------------------

/** A request message: header + body. */
function request(type: number, flags: number, seq: number, body: number[]): Uint8Array {
  const b = new Uint8Array(16 + body.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, b.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  b.set(body, 16);
  return b;
}

interface Msg { type: number; flags: number; seq: number; pid: number; body: Uint8Array }

function messages(d: Uint8Array): Msg[] {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out: Msg[] = [];
  for (let o = 0; o + 16 <= d.length;) {
    const len = v.getUint32(o, true);
    out.push({ type: v.getUint16(o + 4, true), flags: v.getUint16(o + 6, true), seq: v.getUint32(o + 8, true), pid: v.getUint32(o + 12, true), body: d.subarray(o + 16, o + len) });
    o += (len + 3) & ~3;
  }
  return out;
}

test('user-netlink: strict checking and extended acks as Linux 6.18 answers them; dumps come in chunks, NLMSG_DONE alone', () => {
  const proc = { pid: 4242 } as Process;
  const sk = createNetlink(SOCK_RAW, 0) as SockImpl;
  const recv = (max = 65536): Uint8Array => {
    const r = sk.recv(proc, max, 0, true);
    assert.ok(typeof r === 'object', `recv: ${String(r)}`);
    return r.data;
  };
  const on = Uint8Array.of(1, 0, 0, 0);
  // Without strict checking the address dump ignores ifa_index; every message is NLM_F_MULTI,
  // the dump's seq and the socket's port id (the pid), NLMSG_DONE alone in the last datagram.
  assert.equal(sk.send(proc, request(22, 0x301, 7, [0, 0, 0, 0, 99, 0, 0, 0]), 0, null, null, true), 24);
  const dgrams: Uint8Array[] = [];
  for (let d = recv(); ; d = recv()) {
    dgrams.push(d);
    if (messages(d).some((m) => m.type === 3)) break;
  }
  const all = dgrams.flatMap(messages);
  assert.ok(all.every((m) => m.seq === 7 && m.pid === 4242 && m.flags === 2));
  assert.deepEqual(messages(dgrams.at(-1)!).map((m) => m.type), [3]);
  assert.ok(all.filter((m) => m.type === 20).length >= 1);
  // A link dump: datagrams of at most NLMSG_GOODSIZE (3776) bytes with a 4096-byte buffer.
  sk.send(proc, request(18, 0x301, 8, [0]), 0, null, null, true);
  for (let d = recv(4096); ; d = recv(4096)) {
    assert.ok(d.length <= 3776, `${d.length}`);
    if (messages(d).some((m) => m.type === 3)) break;
  }
  assert.equal(sk.setopt(proc, 270, 12, on), 0); // NETLINK_GET_STRICT_CHK
  assert.equal(sk.setopt(proc, 270, 11, on), 0); // NETLINK_EXT_ACK
  const done = (seq: number, body: number[], type = 18): Msg => {
    sk.send(proc, request(type, 0x301, seq, body), 0, null, null, true);
    const ms = messages(recv());
    assert.equal(ms.length, 1);
    return ms[0]!;
  };
  const errOf = (m: Msg): [number, number, string] => {
    const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
    const tlv = m.body.length > 4 ? new TextDecoder().decode(m.body.subarray(8, 4 + v.getUint16(4, true) - 1)) : '';
    return [m.flags, v.getInt32(0, true), tlv];
  };
  assert.deepEqual(errOf(done(9, [0])), [0x202, -22, 'Invalid header for link dump']);
  assert.deepEqual(errOf(done(10, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), [0x202, -22, 'Filter by device index not supported for link dumps']);
  assert.deepEqual(errOf(done(11, [0, 0, 0, 1, 0, 0, 0, 0], 22)), [0x202, -22, 'ipv4: Invalid values in header for address dump request']);
  assert.deepEqual(errOf(done(12, [0, 0, 0, 0, 0xe7, 3, 0, 0], 22)), [0x22, -19, '']);
  // With strict checking ifa_index filters (NLM_F_DUMP_FILTERED): only lo's addresses.
  sk.send(proc, request(22, 0x301, 13, [2, 0, 0, 0, 1, 0, 0, 0]), 0, null, null, true);
  const lo = messages(recv());
  assert.ok(lo.length >= 1 && lo.every((m) => m.type === 20 && m.flags === 0x22 && new DataView(m.body.buffer, m.body.byteOffset).getUint32(4, true) === 1));
  assert.deepEqual(messages(recv()).map((m) => [m.type, m.flags]), [[3, 0x22]]);
  // A second dump while one runs (until its NLMSG_DONE is produced): -EBUSY.
  const ifinfo = new Array(16).fill(0);
  sk.send(proc, request(18, 0x301, 14, ifinfo), 0, null, null, true);
  sk.send(proc, request(18, 0x301, 15, ifinfo), 0, null, null, true);
  const seen: Msg[] = [];
  for (let i = 0; i < 64 && !seen.some((m) => m.type === 3); i++) seen.push(...messages(recv(4096)));
  assert.ok(seen.filter((m) => m.type === 16 && m.seq === 14).length >= 1);
  const busy = seen.filter((m) => m.type === 2);
  assert.equal(busy.length, 1);
  assert.equal(busy[0]!.seq, 15);
  assert.equal(new DataView(busy[0]!.body.buffer, busy[0]!.body.byteOffset).getInt32(0, true), -16);
  assert.equal(seen.at(-1)!.seq, 14);
  assert.equal(sk.recv(proc, 4096, 0, true), 'wait');
  sk.release();
});
