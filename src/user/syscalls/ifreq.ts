// The interface ioctls every socket accepts (struct ifreq, netdevice(7)), answered from the
// host's links (host-links.ts): SIOCGIFNAME (index → name), SIOCGIFINDEX, SIOCGIFFLAGS and
// SIOCGIFMTU (name → value). glibc's if_indextoname/if_nametoindex use the first two.
import { ERRNO } from '../errno.js';
import { hostLinks } from '../host-links.js';
import type { Process } from '../process.js';

const SIOCGIFNAME = 0x8910;
const SIOCGIFFLAGS = 0x8913;
const SIOCGIFMTU = 0x8921;
const SIOCGIFINDEX = 0x8933;
const IFNAMSIZ = 16;

/** The result of an interface ioctl on a socket, or null when `req` is not one. */
export function ifreqIoctl(p: Process, req: number, arg: bigint): number | null {
  if (req !== SIOCGIFNAME && req !== SIOCGIFFLAGS && req !== SIOCGIFMTU && req !== SIOCGIFINDEX) return null;
  const ifr = p.as.read(arg, IFNAMSIZ + 8);
  if (!ifr) return -ERRNO.EFAULT;
  const v = new DataView(ifr.buffer, ifr.byteOffset, ifr.byteLength);
  const links = hostLinks();
  if (req === SIOCGIFNAME) {
    const l = links.find((x) => x.index === v.getInt32(IFNAMSIZ, true));
    if (!l) return -ERRNO.ENODEV;
    const name = new Uint8Array(IFNAMSIZ);
    name.set(new TextEncoder().encode(l.name).subarray(0, IFNAMSIZ - 1));
    return p.as.write(arg, name) ? 0 : -ERRNO.EFAULT;
  }
  const raw = ifr.subarray(0, IFNAMSIZ - 1);
  const z = raw.indexOf(0);
  const name = new TextDecoder().decode(z < 0 ? raw : raw.subarray(0, z));
  const l = links.find((x) => x.name === name);
  if (!l) return -ERRNO.ENODEV;
  const out = new Uint8Array(4);
  const o = new DataView(out.buffer);
  if (req === SIOCGIFFLAGS) o.setUint16(0, l.flags & 0xffff, true);
  else o.setInt32(0, req === SIOCGIFMTU ? l.mtu : l.index, true);
  return p.as.write(arg + BigInt(IFNAMSIZ), req === SIOCGIFFLAGS ? out.subarray(0, 2) : out) ? 0 : -ERRNO.EFAULT;
}
