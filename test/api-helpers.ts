// Helpers for the API, client and `rvisor serve`/`rvisor vm` tests: bounded waits, raw HTTP
// requests, temporary state dirs and a snapshot of a folder to prove "nothing changed on disk".
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runRvisor, type RunResult } from './helpers.js';

/** Rejects when `p` has not settled within `ms`: every wait in these tests is bounded. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); })])
    .finally(() => clearTimeout(timer));
}

/** Polls `cond` every 10 ms for at most `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A fresh temporary state dir (short: Unix socket paths are limited to about 100 bytes). */
export function tempStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'rv-api-'));
}

export interface RawResponse { status: number; body: any; headers: Record<string, unknown> }

/** One HTTP request as any client could send it (bad JSON, missing token, …). */
export function rawRequest(opts: {
  socketPath?: string; port?: number; method?: string; path: string; headers?: Record<string, string>; body?: string;
}): Promise<RawResponse> {
  return within(new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers };
    const req = request({
      ...(opts.socketPath ? { socketPath: opts.socketPath } : { host: '127.0.0.1', port: opts.port }),
      method: opts.method ?? 'GET', path: opts.path, headers,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try { body = text ? JSON.parse(text) : undefined; } catch { /* not JSON: keep the text */ }
        resolve({ status: res.statusCode!, body, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  }), 30_000, `${opts.method ?? 'GET'} ${opts.path}`);
}

/** Every entry under `dir` with its kind, size, modification time and content hash (the socket
 *  and directories included: a file created and removed again changes its folder's mtime). */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out[r + '/'] = `dir mtime=${st.mtimeMs}`;
        walk(p, r);
      } else if (st.isFile()) {
        out[r] = `file ${st.size} mtime=${st.mtimeMs} mode=${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
      } else {
        out[r] = `other mode=${(st.mode & 0o777).toString(8)}`;
      }
    }
  };
  out['./'] = `dir mtime=${lstatSync(dir).mtimeMs}`;
  walk(dir, '');
  return out;
}

export interface Serve {
  dir: string;
  out(): string;
  err(): string;
  pid: number;
  exited: Promise<number | null>;
}

/** Starts `rvisor serve` on a fresh state dir; it is killed (and the dir removed) after the test
 *  whatever happens. */
export async function startServe(t: { after(fn: () => Promise<void>): void }, extra: string[] = []): Promise<Serve> {
  const dir = tempStateDir();
  const child = spawn(process.execPath, [CLI, 'serve', '--state-dir', dir, '--pcpus', '1', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await within(exited, 10_000, 'serve killed');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await until(() => (extra.includes('--listen') ? /API on http:/ : /API on unix:/).test(out) || child.exitCode !== null, 30_000, 'serve listening');
  assert.equal(child.exitCode, null, `serve failed: ${err}`);
  return { dir, out: () => out, err: () => err, pid: child.pid!, exited };
}

/** `rvisor vm --state-dir DIR ARGS…` as a function. */
export function vmIn(dir: string) {
  return (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunResult & { out: string } => {
    const r = runRvisor(['vm', '--state-dir', dir, ...args], { timeoutMs: 90_000, ...opts });
    return { ...r, out: r.stdout.toString() };
  };
}
