// Drives `rvisor run` like a user at a terminal: starts it with piped stdin/stdout, waits for text
// on the console, types lines. Used by the boot tests.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CLI } from './helpers.js';

export class GuestSession {
  readonly proc: ChildProcessWithoutNullStreams;
  output = '';
  stderr = '';
  private seen = 0;
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [CLI, 'run', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d: Buffer) => { this.output += d.toString('latin1'); this.notify(); });
    this.proc.stderr.on('data', (d: Buffer) => { this.stderr += d.toString(); this.notify(); });
    this.exited = new Promise((res) => this.proc.on('exit', (code) => { this.notify(); res(code); }));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pattern` appears in the console output after the previous match; returns the
   *  output up to and including it. */
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
      if (this.proc.exitCode !== null) throw new Error(`rvisor exited (${this.proc.exitCode}) before "${pattern}"; stderr: ${this.stderr}\nconsole tail:\n${this.output.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for "${pattern}"; console tail:\n${this.output.slice(-2000)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 1000));
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  send(line: string): void {
    this.proc.stdin.write(line + '\n');
  }

  /** Types a command and waits for a marker it prints, returning the output in between. */
  async run(cmd: string, timeoutMs = 60000): Promise<string> {
    const tag = `@@${Math.random().toString(36).slice(2, 8)}@@`;
    const [a, b] = [tag.slice(0, 4), tag.slice(4)];
    this.send(`${cmd}; echo "${a}""${b}"`); // the echoed command line never contains the joined tag
    return (await this.waitFor(tag, timeoutMs)).replace(tag, '');
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
