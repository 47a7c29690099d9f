// A pseudo-terminal pair kept inside rvisor (/dev/ptmx → master, /dev/pts/N → slave) and its
// line discipline, as Linux's n_tty does it: bytes written to the master are the terminal's
// input (ICRNL/INLCR/IGNCR, ISIG characters, canonical line editing with ERASE/KILL/WERASE/EOF,
// echo with ECHOE/ECHOK/ECHONL/ECHOCTL); bytes written to the slave are its output (OPOST:
// ONLCR/OCRNL/ONOCR/ONLRET/XTABS) and, like echoes, become what the master reads. The master
// end is always raw (Linux gives it its own termios with every flag off; termios requests on
// the master act on the slave's, as here). Plain data and pure functions of it: the system
// calls (syscalls/pty-files.ts) do the blocking, the signals and the job control checks.

/** termios flags (asm-generic/termbits.h). */
export const IGNCR = 0o200, ICRNL = 0o400, INLCR = 0o100, ISTRIP = 0o40, IXON = 0o2000, IXANY = 0o4000, IUTF8 = 0o40000, IUCLC = 0o1000;
export const OPOST = 0o1, OLCUC = 0o2, ONLCR = 0o4, OCRNL = 0o10, ONOCR = 0o20, ONLRET = 0o40, TABDLY = 0o14000, XTABS = 0o14000;
export const ISIG = 0o1, ICANON = 0o2, ECHO = 0o10, ECHOE = 0o20, ECHOK = 0o40, ECHONL = 0o100, NOFLSH = 0o200, TOSTOP = 0o400;
export const ECHOCTL = 0o1000, ECHOKE = 0o4000, IEXTEN = 0o100000;
/** c_cc indices. */
export const VINTR = 0, VQUIT = 1, VERASE = 2, VKILL = 3, VEOF = 4, VTIME = 5, VMIN = 6, VSTART = 8, VSTOP = 9;
export const VSUSP = 10, VEOL = 11, VREPRINT = 12, VWERASE = 14, VLNEXT = 15, VEOL2 = 16;

export const TERMIOS_SIZE = 36;
/** The line discipline's buffer (N_TTY_BUF_SIZE - 1 usable bytes). */
const LDISC_MAX = 4095;
/** What the other side may have buffered before writes block (the tty buffer's memory limit). */
const MASTER_BUF_MAX = 65536;

const SIGINT = 2, SIGQUIT = 3, SIGTSTP = 20;

/** An input entry in the slave's buffer: the byte, flagged when it ends a canonical line; the EOF
 *  character ends a line without being data. */
const EOL_FLAG = 0x100;
const EOF_ENTRY = 0x200 | EOL_FLAG;

/** The termios a new slave has (tty_std_termios with the pty's c_cflag). */
export function slaveDefaultTermios(): Uint8Array {
  const b = new Uint8Array(TERMIOS_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, ICRNL | IXON, true);
  v.setUint32(4, OPOST | ONLCR, true);
  v.setUint32(8, 0o17 | 0o60 | 0o200, true); // B38400 | CS8 | CREAD
  v.setUint32(12, ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN, true);
  [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0].forEach((c, i) => (b[17 + i] = c));
  return b;
}

const isCntrl = (c: number): boolean => c < 0x20 || c === 0x7f;
const isWordChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;

export class Pty {
  termios = slaveDefaultTermios();
  /** struct winsize: rows, cols, xpixel, ypixel. */
  winsize = new Uint8Array(8);
  /** unlockpt has not been called yet: the slave cannot be opened. */
  locked = true;
  masterRefs = 0;
  slaveRefs = 0;
  /** The master has been closed: the slave is hung up. */
  masterClosed = false;
  /** Every slave has been closed since one was opened (the master's reads fail with EIO). */
  slaveClosed = false;
  /** The session this is the controlling terminal of (0: none) and its foreground group. */
  session = 0;
  fgPgrp = 0;
  /** Output stopped by the STOP character (IXON). */
  stopped = false;
  /** The slave's input: entries (byte | EOL_FLAG) and how many of them form complete lines. */
  private input: number[] = [];
  private canonHead = 0;
  /** A literal-next (^V) is pending. */
  private lnext = false;
  /** What the master reads: the slave's output and the echoes. */
  private toMaster: number[] = [];
  private column = 0;
  /** Monotonic time the last input byte arrived (VTIME's inter-byte timer). */
  lastInputNs = 0n;

  /** Called when the last master description closes (the slave hangs up). */
  onMasterClosed: (() => void) | null = null;

  constructor(readonly index: number) {}

  /** One open file description of an end was released (fd-table.ts). */
  endClosed(master: boolean): void {
    if (master) {
      if (--this.masterRefs > 0) return;
      this.masterClosed = true;
      this.flushInput();
      this.onMasterClosed?.();
    } else if (--this.slaveRefs === 0) this.slaveClosed = true;
  }

  get iflag(): number { return this.flag(0); }
  get oflag(): number { return this.flag(4); }
  get lflag(): number { return this.flag(12); }
  cc(i: number): number { return this.termios[17 + i]!; }
  private flag(off: number): number {
    return new DataView(this.termios.buffer).getUint32(off, true);
  }
  /** Is c the special character at index i (0 disables it)? */
  private is(c: number, i: number): boolean {
    const v = this.cc(i);
    return v !== 0 && v === c;
  }

  get canonical(): boolean {
    return (this.lflag & ICANON) !== 0;
  }

  /** Installs a new termios (TCSETS*): switching canonical mode turns the buffer into one line
   *  (to canonical) or plain bytes (from canonical), as n_tty does. */
  setTermios(t: Uint8Array): void {
    const wasCanon = this.canonical;
    const hadIxon = (this.iflag & IXON) !== 0;
    this.termios = t.slice(0, TERMIOS_SIZE);
    if (wasCanon !== this.canonical) {
      this.input = this.input.filter((e) => e !== EOF_ENTRY).map((e) => e & 0xff);
      if (this.canonical && this.input.length > 0) this.input[this.input.length - 1]! |= EOL_FLAG;
      this.canonHead = this.canonical ? this.input.length : 0;
      this.lnext = false;
    }
    if (hadIxon && !(this.iflag & IXON)) this.stopped = false;
  }

  // ---- the slave's input (written on the master) -----------------------------------------------

  /** Room for more input: how many bytes a write on the master can hand over now. */
  inputRoom(): number {
    if (this.canonical) return MASTER_BUF_MAX; // a full line buffer drops characters instead
    return Math.max(0, LDISC_MAX - this.input.length);
  }

  /** Receives bytes written on the master. Returns how many were taken and the signals the
   *  ISIG characters raise for the foreground process group. */
  receive(data: Uint8Array, nowNs: bigint): { taken: number; signals: number[] } {
    const signals: number[] = [];
    let taken = 0;
    for (const byte of data) {
      if (!this.canonical && this.input.length >= LDISC_MAX) break;
      taken++;
      this.receiveChar(byte, signals);
    }
    if (taken > 0) this.lastInputNs = nowNs;
    return { taken, signals };
  }

  private receiveChar(c0: number, signals: number[]): void {
    let c = c0;
    const ifl = this.iflag;
    const lfl = this.lflag;
    if (ifl & ISTRIP) c &= 0x7f;
    if (ifl & IUCLC && lfl & IEXTEN && c >= 0x41 && c <= 0x5a) c += 0x20;
    if (this.lnext) {
      this.lnext = false;
      this.putData(c, true);
      return;
    }
    if (ifl & IXON) {
      if (this.is(c, VSTART)) {
        this.stopped = false;
        return;
      }
      if (this.is(c, VSTOP)) {
        this.stopped = true;
        return;
      }
    }
    if (lfl & ISIG) {
      const sig = this.is(c, VINTR) ? SIGINT : this.is(c, VQUIT) ? SIGQUIT : this.is(c, VSUSP) ? SIGTSTP : 0;
      if (sig) {
        signals.push(sig);
        if (!(lfl & NOFLSH)) {
          this.flushInput();
          this.flushOutput();
        }
        if (ifl & IXON) this.stopped = false;
        if (lfl & ECHO) this.echoChar(c);
        return;
      }
    }
    if (this.stopped && ifl & IXON && ifl & IXANY) this.stopped = false;
    if (c === 0x0d) {
      if (ifl & IGNCR) return;
      if (ifl & ICRNL) c = 0x0a;
    } else if (c === 0x0a && ifl & INLCR) c = 0x0d;
    if (this.canonical) {
      if (this.is(c, VERASE) || this.is(c, VKILL) || (this.is(c, VWERASE) && lfl & IEXTEN)) {
        this.erase(c);
        return;
      }
      if (this.is(c, VLNEXT) && lfl & IEXTEN) {
        this.lnext = true;
        if (lfl & ECHO && lfl & ECHOCTL) this.output([0x5e, 0x08]);
        return;
      }
      if (this.is(c, VREPRINT) && lfl & ECHO && lfl & IEXTEN) {
        this.echoChar(c);
        this.output([0x0a]);
        for (let i = this.canonHead; i < this.input.length; i++) this.echoChar(this.input[i]! & 0xff);
        return;
      }
      if (c === 0x0a) {
        if (lfl & (ECHO | ECHONL)) this.output([0x0a]);
        this.commitLine(0x0a);
        return;
      }
      if (this.is(c, VEOF)) {
        this.commitLine(-1);
        return;
      }
      if (this.is(c, VEOL) || (this.is(c, VEOL2) && lfl & IEXTEN)) {
        if (lfl & ECHO) this.echoChar(c);
        this.commitLine(c);
        return;
      }
    }
    this.putData(c, false);
  }

  /** An ordinary character: echoed (ECHO) and queued (dropped when a canonical line is full). */
  private putData(c: number, literal: boolean): void {
    if (this.lflag & ECHO) {
      if (c === 0x0a && !literal) this.output([0x0a]);
      else this.echoChar(c);
    }
    if (this.input.length >= LDISC_MAX) return;
    this.input.push(c);
  }

  private commitLine(c: number): void {
    if (this.input.length >= LDISC_MAX) this.input.pop();
    this.input.push(c < 0 ? EOF_ENTRY : c | EOL_FLAG);
    this.canonHead = this.input.length;
  }

  /** ERASE, WERASE or KILL in canonical mode, with the echoes ECHOE/ECHOK/ECHOKE/ECHOCTL ask for. */
  private erase(c: number): void {
    const lfl = this.lflag;
    const kind = this.is(c, VERASE) ? 'erase' : this.is(c, VWERASE) ? 'werase' : 'kill';
    if (this.input.length === this.canonHead) return;
    if (kind === 'kill') {
      if (!(lfl & ECHO)) {
        this.input.length = this.canonHead;
        return;
      }
      if (!(lfl & ECHOK) || !(lfl & ECHOKE) || !(lfl & ECHOE)) {
        this.input.length = this.canonHead;
        this.echoChar(c);
        if (lfl & ECHOK) this.output([0x0a]);
        return;
      }
    }
    let seenWord = 0;
    while (this.input.length > this.canonHead) {
      // One character: with IUTF8 its continuation bytes go with it.
      let start = this.input.length - 1;
      if (this.iflag & IUTF8) while (start > this.canonHead && (this.input[start]! & 0xc0) === 0x80) start--;
      const ch = this.input[start]! & 0xff;
      if (kind === 'werase') {
        if (isWordChar(ch)) seenWord++;
        else if (seenWord) break;
      }
      this.input.length = start;
      if (lfl & ECHO) {
        if (kind === 'erase' && !(lfl & ECHOE)) this.echoChar(this.cc(VERASE));
        else {
          const bs = [0x08, 0x20, 0x08];
          if (isCntrl(ch) && ch !== 0x09 && lfl & ECHOCTL) this.output(bs);
          if (!isCntrl(ch) || ch === 0x09 || lfl & ECHOCTL) this.output(bs);
        }
      }
      if (kind === 'erase') break;
    }
  }

  /** Echo of one input character: "^X" for a control character with ECHOCTL. */
  private echoChar(c: number): void {
    if (this.lflag & ECHOCTL && isCntrl(c) && c !== 0x09 && c !== 0x0a) {
      this.toMaster.push(0x5e, c ^ 0x40);
      this.column += 2;
    } else this.output([c]);
  }

  /** Bytes to the master through output processing (OPOST). */
  private output(bytes: Iterable<number>): void {
    const ofl = this.oflag;
    for (let c of bytes) {
      if (!(ofl & OPOST)) {
        this.toMaster.push(c);
        continue;
      }
      switch (c) {
        case 0x0a:
          if (ofl & ONLRET) this.column = 0;
          if (ofl & ONLCR) {
            this.column = 0;
            this.toMaster.push(0x0d, 0x0a);
            continue;
          }
          break;
        case 0x0d:
          if (ofl & ONOCR && this.column === 0) continue;
          if (ofl & OCRNL) {
            c = 0x0a;
            if (ofl & ONLRET) this.column = 0;
            break;
          }
          this.column = 0;
          break;
        case 0x09: {
          const spaces = 8 - (this.column & 7);
          this.column += spaces;
          if ((ofl & TABDLY) === XTABS) {
            for (let i = 0; i < spaces; i++) this.toMaster.push(0x20);
            continue;
          }
          break;
        }
        case 0x08:
          if (this.column > 0) this.column--;
          break;
        default:
          if (!isCntrl(c)) {
            if (ofl & OLCUC && c >= 0x61 && c <= 0x7a) c -= 0x20;
            if (!(this.iflag & IUTF8) || (c & 0xc0) !== 0x80) this.column++;
          }
      }
      this.toMaster.push(c);
    }
  }

  /** Is there something a read on the slave returns now (a line; in raw mode `min` bytes)? */
  slaveReadable(min = 1): boolean {
    if (this.canonical) return this.canonHead > 0;
    return this.input.length >= min;
  }

  /** Bytes available to a read on the slave (FIONREAD: complete lines in canonical mode). */
  slaveInq(): number {
    if (!this.canonical) return this.input.length;
    let n = 0;
    for (let i = 0; i < this.canonHead; i++) if (this.input[i] !== EOF_ENTRY) n++;
    return n;
  }

  /** A read on the slave: canonical, at most one line (an EOF character ends it and is not
   *  returned); otherwise up to `want` of the bytes there. */
  slaveRead(want: number): Uint8Array {
    const out: number[] = [];
    if (this.canonical) {
      let i = 0;
      while (i < this.canonHead && out.length < want) {
        const e = this.input[i++]!;
        if (e === EOF_ENTRY) break;
        out.push(e & 0xff);
        if (e & EOL_FLAG) break;
      }
      this.input.splice(0, i);
      this.canonHead -= i;
    } else {
      const n = Math.min(want, this.input.length);
      for (let i = 0; i < n; i++) out.push(this.input[i]! & 0xff);
      this.input.splice(0, n);
    }
    return Uint8Array.from(out);
  }

  flushInput(): void {
    this.input = [];
    this.canonHead = 0;
    this.lnext = false;
  }

  // ---- the slave's output (read on the master) ---------------------------------------------------

  /** Room for output before a write on the slave blocks. */
  outputRoom(): number {
    return this.stopped ? 0 : Math.max(0, MASTER_BUF_MAX - this.toMaster.length);
  }

  /** A write on the slave: output processing into the master's buffer; returns the count taken. */
  slaveWrite(data: Uint8Array): number {
    const n = Math.min(data.length, this.outputRoom());
    this.output(data.subarray(0, n));
    return n;
  }

  masterAvailable(): number {
    return this.toMaster.length;
  }

  masterRead(want: number): Uint8Array {
    const n = Math.min(want, this.toMaster.length);
    const out = Uint8Array.from(this.toMaster.slice(0, n));
    this.toMaster.splice(0, n);
    return out;
  }

  flushOutput(): void {
    this.toMaster = [];
  }
}
