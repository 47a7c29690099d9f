// The VM's console on the host terminal, in QEMU's spirit: raw mode when stdin is a terminal,
// Ctrl-A X quits, Ctrl-A W saves the machine to a file and quits, Ctrl-A P presses the power key,
// Ctrl-A H lists the keys,
// Ctrl-A A sends a literal Ctrl-A. When stdin is not a
// terminal its bytes are typed into the guest as they come; its end does not stop the guest.

const CTRL_A = 0x01;

export interface ConsoleHandlers {
  /** Bytes for the guest. */
  input(bytes: Uint8Array): void;
  /** The user asked to quit (Ctrl-A X). */
  quit(): void;
  /** Ctrl-A S: print statistics. */
  stats?(): void;
  /** Ctrl-A W: save the machine to the save file and quit. */
  save?(): void;
  /** Ctrl-A P: press the machine's power key (the guest shuts down, as QEMU's system_powerdown). */
  powerKey?(): void;
}

export class HostConsole {
  private escape = false;
  readonly raw: boolean;
  private readonly onData = (chunk: Buffer) => this.data(chunk);

  constructor(private readonly h: ConsoleHandlers, private readonly stdin: NodeJS.ReadStream = process.stdin,
    private readonly stdout: NodeJS.WriteStream = process.stdout) {
    this.raw = Boolean(stdin.isTTY);
    if (this.raw) stdin.setRawMode(true);
    stdin.on('data', this.onData);
    stdin.on('error', () => {});
    stdin.resume();
  }

  write(bytes: Uint8Array): void {
    this.stdout.write(bytes);
  }

  private data(chunk: Buffer): void {
    if (!this.raw) {
      this.h.input(chunk);
      return;
    }
    const out: number[] = [];
    for (const b of chunk) {
      if (this.escape) {
        this.escape = false;
        const k = String.fromCharCode(b).toLowerCase();
        if (k === 'x') { this.h.quit(); return; }
        if (k === 'h') this.help();
        else if (k === 's') this.h.stats?.();
        else if (k === 'p') this.h.powerKey?.();
        else if (k === 'w' && this.h.save) {
          // What was typed before the key reaches the guest; what follows it in this chunk does not.
          if (out.length) this.h.input(Uint8Array.from(out));
          this.h.save();
          return;
        }
        else if (b === CTRL_A || k === 'a') out.push(CTRL_A);
        continue;
      }
      if (b === CTRL_A) this.escape = true;
      else out.push(b);
    }
    if (out.length) this.h.input(Uint8Array.from(out));
  }

  private help(): void {
    this.stdout.write('\r\nC-a h    print this help\r\nC-a x    exit rvisor\r\nC-a w    save the machine to the save file and exit\r\nC-a p    press the power key (the guest shuts down)\r\nC-a s    print statistics\r\nC-a a    send C-a\r\n');
  }

  close(): void {
    this.stdin.off('data', this.onData);
    if (this.raw) this.stdin.setRawMode(false);
    this.stdin.pause();
  }
}
