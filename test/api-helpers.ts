// Helpers for the API, client and `rvisor serve`/`rvisor vm` tests: bounded waits, raw HTTP
// requests, temporary state dirs and a snapshot of a folder to prove "nothing changed on disk".
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
