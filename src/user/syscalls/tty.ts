// ioctl on descriptors: terminal requests (TCGETS/TCSETS*, window size, process group), FIONREAD,
// FIONBIO and FIOCLEX/FIONCLEX, answered from the host terminal when the descriptor is one
// (its foreground group is rvisor's own record, job-control.ts); rvisor's own ptys are answered
// by pty-files.ts.

import { fstatSync } from 'node:fs';
import { isatty } from 'node:tty';
import { ERRNO, hostErrno } from '../errno.js';
import { O_NONBLOCK, kernelOffset } from '../fd-table.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { int, u32, type SysResult } from './abi.js';
import { ifreqIoctl } from './ifreq.js';
import { ptyIoctl } from './pty-files.js';
import { loopIoctl } from '../loop-device.js';
import { hostTtyForeground, setHostTtyForeground } from '../job-control.js';

const TCGETS = 0x5401;
const TCSETS = 0x5402;
const TCSETSW = 0x5403;
const TCSETSF = 0x5404;
const TIOCGPGRP = 0x540f;
const TIOCSPGRP = 0x5410;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const TIOCGSID = 0x5429;
const FIONREAD = 0x541b;
const FIONBIO = 0x5421;
const FIOCLEX = 0x5451;
const FIONCLEX = 0x5450;

/** The termios a terminal reports before the guest changes it (the kernel's struct termios:
 *  c_iflag, c_oflag, c_cflag, c_lflag, c_line, c_cc[19]), like a fresh Linux tty in cooked mode. */
function defaultTermios(): Uint8Array {
  const b = new Uint8Array(36);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0o400 | 0o2000 | 0o40000, true); // ICRNL | IXON | IUTF8
  v.setUint32(4, 0o1 | 0o4, true); // OPOST | ONLCR
  v.setUint32(8, 0o17 | 0o60 | 0o200 | 0o2000, true); // B38400 | CS8 | CREAD | HUPCL
  v.setUint32(12, 0o1 | 0o2 | 0o10 | 0o20 | 0o40 | 0o1000 | 0o4000 | 0o100000, true); // ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN
  const cc = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0];
  cc.forEach((c, i) => (b[17 + i] = c));
  return b;
}

const termiosByFd = new Map<number, Uint8Array>();
let stdinRaw = false;

interface RawCapable {
  setRawMode?: (raw: boolean) => void;
  pause?: () => void;
}

function setStdinRaw(raw: boolean): void {
  if (raw === stdinRaw) return;
  try {
    (process.stdin as unknown as RawCapable).setRawMode?.(raw);
    stdinRaw = raw;
  } catch {
    // not a terminal after all
  }
}

/** Leaves the terminal in cooked mode if the guest switched it to raw input (at exit). */
export function restoreTerminal(): void {
  if (!stdinRaw) return;
  setStdinRaw(false);
  (process.stdin as unknown as RawCapable).pause?.();
}

function windowSize(hostFd: number): [number, number] {
  try {
    const s = hostFd === 2 ? process.stderr : process.stdout;
    const tty = s as unknown as { isTTY?: boolean; getWindowSize?: () => [number, number] };
    if (tty.isTTY && tty.getWindowSize) return tty.getWindowSize();
  } catch {
    // fall through to the classic default
  }
  return [80, 24];
}

export const sysIoctl = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const fd = int(a[0]);
  const f = p.fds.get(fd);
  if (!f) return -ERRNO.EBADF;
  const req = u32(a[1]);
  const arg = a[2]!;
  if (req === FIOCLEX || req === FIONCLEX) {
    p.fds.setCloexec(fd, req === FIOCLEX);
    return 0;
  }
  if (req === FIONBIO) {
    const v = p.as.readU32(arg);
    if (v === null) return -ERRNO.EFAULT;
    f.flags = v ? f.flags | O_NONBLOCK : f.flags & ~O_NONBLOCK;
    return 0;
  }
  if (f.kind === 'pty') return ptyIoctl(p, t, f, req, arg);
  if (f.kind !== 'host') {
    if (req === FIONREAD && f.kind === 'pipe') return p.as.writeU32(arg, f.pipe.size) ? 0 : -ERRNO.EFAULT;
    if (req === FIONREAD && f.kind === 'inotify') return p.as.writeU32(arg, f.queued) ? 0 : -ERRNO.EFAULT;
    if (f.kind === 'socket') {
      const r = ifreqIoctl(p, req, arg);
      if (r !== null) return r;
    }
    if (req === FIONREAD && f.kind === 'socket') {
      const n = f.sk.unread();
      return n < 0 ? n : p.as.writeU32(arg, n) ? 0 : -ERRNO.EFAULT;
    }
    return -ERRNO.ENOTTY;
  }
  const loop = loopIoctl(p, f, req, arg);
  if (loop !== null) return loop;
  const tty = isatty(f.hostFd);
  if (req === FIONREAD) {
    if (tty) return p.as.writeU32(arg, 0) ? 0 : -ERRNO.EFAULT;
    try {
      const st = fstatSync(f.hostFd);
      if (!st.isFile()) return -ERRNO.ENOTTY;
      const pos = f.pos ?? kernelOffset(f.hostFd);
      return p.as.writeU32(arg, Math.max(0, st.size - pos)) ? 0 : -ERRNO.EFAULT;
    } catch (e) {
      return hostErrno(e);
    }
  }
  if (!tty) return -ERRNO.ENOTTY;
  switch (req) {
    case TCGETS: {
      const t = termiosByFd.get(f.hostFd) ?? defaultTermios();
      return p.as.write(arg, t) ? 0 : -ERRNO.EFAULT;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
      const t = p.as.read(arg, 36);
      if (!t) return -ERRNO.EFAULT;
      termiosByFd.set(f.hostFd, t);
      // Raw versus cooked input is the one setting that matters to interactive programs.
      if (f.hostFd === 0) {
        const lflag = new DataView(t.buffer).getUint32(12, true);
        setStdinRaw((lflag & 0o2) === 0);
      }
      return 0;
    }
    case TIOCGWINSZ: {
      const [cols, rows] = windowSize(f.hostFd);
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      v.setUint16(0, rows, true);
      v.setUint16(2, cols, true);
      return p.as.write(arg, b) ? 0 : -ERRNO.EFAULT;
    }
    case TIOCSWINSZ:
      return 0;
    case TIOCGPGRP:
      if (p.ctty !== 'host') return -ERRNO.ENOTTY;
      return p.as.writeU32(arg, hostTtyForeground(p.kernel)) ? 0 : -ERRNO.EFAULT;
    case TIOCSPGRP: {
      const v = p.as.readU32(arg);
      if (v === null) return -ERRNO.EFAULT;
      return setHostTtyForeground(p, v | 0);
    }
    case TIOCGSID:
      if (p.ctty !== 'host' || !p.kernel.init) return -ERRNO.ENOTTY;
      return p.as.writeU32(arg, p.kernel.init.sid) ? 0 : -ERRNO.EFAULT;
    default:
      return -ERRNO.EINVAL;
  }
};

