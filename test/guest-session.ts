// Drives `rvisor run` like a user at a terminal: starts it with piped stdin/stdout, waits for text
// on the console, types lines. Used by the boot tests.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CLI } from './helpers.js';
import { ConsoleText } from './console-text.js';

export class GuestSession {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly console = new ConsoleText(() =>
    this.proc.exitCode === null ? undefined : `rvisor exited (${this.proc.exitCode}); stderr: ${this.stderr}\n`);
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [CLI, 'run', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d: Buffer) => this.console.add(d.toString('latin1')));
    this.proc.stderr.on('data', (d: Buffer) => { this.stderr += d.toString(); this.console.notify(); });
    this.exited = new Promise((res) => this.proc.on('exit', (code) => { this.console.notify(); res(code); }));
  }

  /** Everything the guest printed so far. */
  get output(): string {
    return this.console.text;
  }

  /** Waits until `pattern` appears in the console output after the previous match; returns the
   *  output up to and including it. */
  waitFor(pattern: string | RegExp, timeoutMs = 60000): Promise<string> {
    return this.console.waitFor(pattern, timeoutMs);
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
