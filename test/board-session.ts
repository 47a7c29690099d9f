// Runs a VirtBoard in this process (not through the CLI), so a test can reach the board's host-side
// methods while the guest runs: pressPowerKey(), addSteal(). Same surface as GuestSession:
// waitFor(pattern), send(line), run(cmd), and `ended` (the board's poweroff result).
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { VirtBoard, type BoardConfig, type BoardState, type DiskConfig, type StepResult } from '../src/machine/board.js';
import { HostMemory } from '../src/memory/host-memory.js';
import { readRepoFile } from './helpers.js';
import { ConsoleText } from './console-text.js';

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
  /** Rebuild the machine from a state (see hold()) in the memory that holds it, instead of booting. */
  restore?: { host: HostMemory; state: BoardState };
}

export class BoardSession {
  readonly board: VirtBoard;
  /** Resolves with the poweroff code (a reboot counts as an error here). */
  readonly ended: Promise<number>;
  private stopped = false;
  private kept = false;
  readonly console = new ConsoleText(() => (this.stopped ? 'the board stopped' : undefined));
  private wake: (() => void) | undefined;

  constructor(opts: BoardSessionOptions = {}) {
    const cfg: BoardConfig = {
      harts: opts.harts ?? 1, memBytes: opts.memBytes ?? 256 << 20,
      kernel: load(opts.kernel ?? 'images/Image.gz'), kernelName: opts.kernel ?? 'images/Image.gz',
      initrd: load(opts.initrd ?? 'images/initramfs.cpio.gz'), append: 'console=ttyS0',
      disks: opts.disks ?? [],
      entropy: (buf) => webcrypto.getRandomValues(buf),
      consoleOut: (bytes) => this.console.add(Buffer.from(bytes).toString('latin1')),
      hostNowMs: () => performance.now(),
      wallNs: () => BigInt(Date.now()) * 1000000n,
      maxIdleMs: 1000,
    };
    this.board = opts.restore
      ? new VirtBoard(cfg, opts.restore.host, { restore: opts.restore.state })
      : new VirtBoard(cfg, new HostMemory());
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
      this.console.notify();
      // hold(): the RAM and harts now belong to the state; only this board's core goes
      if (this.kept) this.board.core.destroy();
      else this.board.destroy();
    }
  }

  /** Everything the guest printed so far. */
  get output(): string {
    return this.console.text;
  }

  /** Wakes the board loop (after input or a host-side event). */
  kick(): void {
    this.wake?.();
  }

  waitFor(pattern: string | RegExp, timeoutMs = 60000): Promise<string> {
    return this.console.waitFor(pattern, timeoutMs);
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

  /** Stops the loop and returns the machine's state (JSON round trip, as in a snapshot), leaving its
   *  RAM and harts in place for `new BoardSession({ restore: { host: board.host, state } })`. */
  async hold(): Promise<BoardState> {
    const state = JSON.parse(JSON.stringify(this.board.save())) as BoardState;
    this.kept = true;
    await this.stop();
    return state;
  }

  /** Stops the loop (if the guest has not powered off) and frees the board. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    await this.ended.catch(() => {});
  }
}
