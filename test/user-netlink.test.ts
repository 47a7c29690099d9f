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
