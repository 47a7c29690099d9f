// Runs a VirtBoard in this process (not through the CLI), so a test can reach the board's host-side
// methods while the guest runs: pressPowerKey(), addSteal(). Same surface as GuestSession:
// waitFor(pattern), send(line), run(cmd), and `ended` (the board's poweroff result).
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { VirtBoard, type BoardConfig, type DiskConfig, type StepResult } from '../src/machine/board.js';
import { HostMemory } from '../src/memory/host-memory.js';
import { readRepoFile } from './helpers.js';

/** A repository path (relative) or an absolute path; gunzipped when it ends in .gz. */
function load(path: string): Uint8Array {
  if (!isAbsolute(path)) return readRepoFile(path);
  const data = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(data) : data;
}

export interface BoardSessionOptions {
  kernel?: string; // default images/Image.gz
  initrd?: string; // default images/initramfs.cpio.gz
  harts?: number;
  disks?: DiskConfig[];
  memBytes?: number;
}

export class BoardSession {
  readonly board: VirtBoard;
  output = '';
  /** Resolves with the poweroff code (a reboot counts as an error here). */
  readonly ended: Promise<number>;
  private seen = 0;
  private stopped = false;
  private waiters: (() => void)[] = [];
  private wake: (() => void) | undefined;

  constructor(opts: BoardSessionOptions = {}) {
    const cfg: BoardConfig = {
      harts: opts.harts ?? 1, memBytes: opts.memBytes ?? 256 << 20,
      kernel: load(opts.kernel ?? 'images/Image.gz'), kernelName: opts.kernel ?? 'images/Image.gz',
      initrd: load(opts.initrd ?? 'images/initramfs.cpio.gz'), append: 'console=ttyS0',
      disks: opts.disks ?? [],
      entropy: (buf) => webcrypto.getRandomValues(buf),
      consoleOut: (bytes) => { this.output += Buffer.from(bytes).toString('latin1'); this.notify(); },
      hostNowMs: () => performance.now(),
      wallNs: () => BigInt(Date.now()) * 1000000n,
      maxIdleMs: 1000,
    };
    this.board = new VirtBoard(cfg, new HostMemory());
    this.ended = this.loop();
  }

  private async loop(): Promise<number> {
    try {
      for (;;) {
        if (this.stopped) return -1;
        const r: StepResult = this.board.step(20);
        if (r.kind === 'poweroff') return r.code;
        if (r.kind === 'reboot') throw new Error('the guest rebooted');
        if (r.kind === 'idle' && r.ms > 0) {
          await Promise.race([sleep(r.ms), new Promise<void>((res) => { this.wake = res; })]);
          this.wake = undefined;
        } else {
          await new Promise<void>((res) => setImmediate(res));
        }
      }
    } finally {
      this.stopped = true;
      this.notify();
      this.board.destroy();
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wakes the board loop (after input or a host-side event). */
  kick(): void {
    this.wake?.();
  }

  async waitFor(pattern: string | RegExp, timeoutMs = 60000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.output.slice(this.seen);
      const m = typeof pattern === 'string' ? (rest.includes(pattern) ? { index: rest.indexOf(pattern), 0: pattern } : null) : pattern.exec(rest);
      if (m) {
        const end = this.seen + m.index + m[0].length;
        const text = this.output.slice(this.seen, end);
        this.seen = end;
        return text;
      }
      if (this.stopped) throw new Error(`the board stopped before "${pattern}"; console tail:\n${this.output.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for "${pattern}"; console tail:\n${this.output.slice(-2000)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 1000));
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  send(line: string): void {
    this.board.pushInput(Buffer.from(line + '\n'));
    this.kick();
  }

  async run(cmd: string, timeoutMs = 60000): Promise<string> {
    const tag = `@@${Math.random().toString(36).slice(2, 8)}@@`;
    const [a, b] = [tag.slice(0, 4), tag.slice(4)];
    this.send(`${cmd}; echo "${a}""${b}"`);
    return (await this.waitFor(tag, timeoutMs)).replace(tag, '');
  }

  /** Stops the loop (if the guest has not powered off) and frees the board. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    await this.ended.catch(() => {});
  }
}
