// The host's network interfaces as rtnetlink describes them (rtnetlink.ts encodes them): links
// from /sys/class/net/IF (ifindex, flags, type, mtu, hardware and broadcast addresses, operational
// state, queue counts, statistics), IPv6 addresses from /proc/net/if_inet6 (address, prefix,
// scope, flags of every interface), IPv4 addresses from Node's os.networkInterfaces().
//
// Differences from Linux, where these sources say less than the kernel: IPv4 addresses of an
// interface that is not up and running are missing (libuv leaves them out); an IPv4 address's
// scope is host for 127.0.0.0/8 and universe otherwise, its broadcast address is the subnet's
// when the link has IFF_BROADCAST; IPv6 flags are their low 8 bits; lifetimes are reported as
// forever and creation times as 0.
import { readFileSync, readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

const SYS = '/sys/class/net';

export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;
export const IFF_DORMANT = 0x20000;

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const IFA_F_PERMANENT = 0x80;

/** The link statistics, in rtnl_link_stats64's order (sysfs statistics/ file names). */
export const STAT_NAMES = [
  'rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes', 'rx_errors', 'tx_errors', 'rx_dropped', 'tx_dropped',
  'multicast', 'collisions', 'rx_length_errors', 'rx_over_errors', 'rx_crc_errors', 'rx_frame_errors',
  'rx_fifo_errors', 'rx_missed_errors', 'tx_aborted_errors', 'tx_carrier_errors', 'tx_fifo_errors',
  'tx_heartbeat_errors', 'tx_window_errors', 'rx_compressed', 'tx_compressed', 'rx_nohandler',
] as const;

const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

export interface Link {
  index: number;
  name: string;
  /** ARPHRD_* */
  type: number;
  /** dev_get_flags(): the device flags plus RUNNING, LOWER_UP, DORMANT. */
  flags: number;
  mtu: number;
  txqlen: number;
  /** IF_OPER_* */
  operstate: number;
  linkmode: number;
  group: number;
  txQueues: number;
  rxQueues: number;
  iflink: number;
  carrier: number;
  carrierChanges: number;
  carrierUp: number;
  carrierDown: number;
  protoDown: number;
  alias: string;
  address: Uint8Array;
  broadcast: Uint8Array;
  stats: bigint[];
}

export interface Addr {
  family: 2 | 10;
  index: number;
  prefix: number;
  scope: number;
  flags: number;
  address: Uint8Array;
  broadcast: Uint8Array | null;
  label: string | null;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'latin1').trim();
  } catch {
    return null;
  }
}

function num(path: string, radix = 10): number {
  const s = read(path);
  if (s === null || s === '') return 0;
  const n = radix === 16 ? parseInt(s.replace(/^0x/, ''), 16) : parseInt(s, 10);
  return Number.isFinite(n) ? n : 0;
}

function hwaddr(s: string | null, len: number): Uint8Array {
  const b = new Uint8Array(len);
  if (!s) return b;
  s.split(':').slice(0, len).forEach((x, i) => (b[i] = parseInt(x, 16) || 0));
  return b;
}

function queues(dir: string, prefix: string): number {
  try {
    return readdirSync(`${dir}/queues`).filter((n) => n.startsWith(prefix)).length;
  } catch {
    return 0;
  }
}

function readLink(name: string): Link | null {
  const d = `${SYS}/${name}`;
  const index = num(`${d}/ifindex`);
  if (index <= 0) return null;
  const devFlags = num(`${d}/flags`, 16);
  const oper = OPERSTATES.indexOf(read(`${d}/operstate`) ?? 'unknown');
  const operstate = oper < 0 ? 0 : oper;
  const carrier = read(`${d}/carrier`) === '1' ? 1 : 0;
  let flags = devFlags;
  if (devFlags & IFF_UP) {
    if (operstate === 6 || operstate === 0) flags |= IFF_RUNNING;
    if (carrier) flags |= IFF_LOWER_UP;
    if (read(`${d}/dormant`) === '1') flags |= IFF_DORMANT;
  }
  const alen = num(`${d}/addr_len`);
  return {
    index,
    name,
    type: num(`${d}/type`),
    flags,
    mtu: num(`${d}/mtu`),
    txqlen: num(`${d}/tx_queue_len`),
    operstate,
    linkmode: num(`${d}/link_mode`),
    group: num(`${d}/netdev_group`),
    txQueues: queues(d, 'tx-'),
    rxQueues: queues(d, 'rx-'),
    iflink: num(`${d}/iflink`),
    carrier,
    carrierChanges: num(`${d}/carrier_changes`),
    carrierUp: num(`${d}/carrier_up_count`),
    carrierDown: num(`${d}/carrier_down_count`),
    protoDown: num(`${d}/proto_down`),
    alias: read(`${d}/ifalias`) ?? '',
    address: hwaddr(read(`${d}/address`), alen),
    broadcast: hwaddr(read(`${d}/broadcast`), alen),
    stats: STAT_NAMES.map((s) => {
      const v = read(`${d}/statistics/${s}`);
      return v !== null && /^\d+$/.test(v) ? BigInt(v) : 0n;
    }),
  };
}

/** The host's links, by index. */
export function hostLinks(): Link[] {
  let names: string[];
  try {
    names = readdirSync(SYS);
  } catch {
    return [];
  }
  const links: Link[] = [];
  for (const n of names) {
    const l = readLink(n);
    if (l) links.push(l);
  }
  return links.sort((a, b) => a.index - b.index);
}

function v4(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map(Number));
}

/** The host's IPv4 addresses, by interface index (each interface's in the host's order). */
function ipv4Addrs(links: Link[]): Addr[] {
  const byName = new Map(links.map((l) => [l.name, l]));
  const out: Addr[] = [];
  for (const [label, list] of Object.entries(networkInterfaces())) {
    const link = byName.get(label.replace(/:.*$/, ''));
    if (!link || !list) continue;
    for (const a of list) {
      if (a.family !== 'IPv4') continue;
      const address = v4(a.address);
      const mask = v4(a.netmask);
      const prefix = Number(a.cidr?.split('/')[1] ?? 32);
      const broadcast = link.flags & IFF_BROADCAST && prefix < 31 ? address.map((x, i) => x | (~mask[i]! & 0xff)) : null;
      const scope = address[0] === 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
      out.push({ family: 2, index: link.index, prefix, scope, flags: IFA_F_PERMANENT, address, broadcast, label });
    }
  }
  return out.sort((a, b) => a.index - b.index);
}

function rtScope(s: number): number {
  if (s & 0x10) return RT_SCOPE_HOST;
  if (s & 0x20) return RT_SCOPE_LINK;
  if (s & 0x40) return RT_SCOPE_SITE;
  return RT_SCOPE_UNIVERSE;
}

/** The host's IPv6 addresses (/proc/net/if_inet6), by interface index, global scopes first. */
function ipv6Addrs(): Addr[] {
  const text = read('/proc/net/if_inet6') ?? '';
  const out: Addr[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^[0-9a-f]{32}$/.test(f[0]!)) continue;
    const address = new Uint8Array(16);
    for (let i = 0; i < 16; i++) address[i] = parseInt(f[0]!.slice(i * 2, i * 2 + 2), 16);
    out.push({
      family: 10, index: parseInt(f[1]!, 16), prefix: parseInt(f[2]!, 16), scope: rtScope(parseInt(f[3]!, 16)),
      flags: parseInt(f[4]!, 16), address, broadcast: null, label: null,
    });
  }
  return out.sort((a, b) => a.index - b.index || a.scope - b.scope);
}

/** The host's addresses: family 2 (AF_INET), 10 (AF_INET6) or 0 (both, IPv4 first). */
export function hostAddrs(family: number, links: Link[]): Addr[] {
  const out: Addr[] = [];
  if (family !== 10) out.push(...ipv4Addrs(links));
  if (family !== 2) out.push(...ipv6Addrs());
  return out;
}
