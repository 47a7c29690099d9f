// Where the API listens: always the Unix socket `<stateDir>/rvisor.sock` (mode 0600, no token),
// and with `listen` also TCP, where every request needs the bearer token kept in
// `<stateDir>/token` (generated at the first start, mode 0600, reused afterwards).
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { RvisorError } from '../errors.js';
import type { HostApi } from '../vmm/types.js';
import { buildApi } from './server.js';
import { loadOrCreateToken, socketPath, tokenPath } from './paths.js';

export { defaultStateDir, loadOrCreateToken, readToken, socketPath, tokenPath } from './paths.js';

/** `HOST:PORT` (IPv6 as `[::1]:PORT`) → its parts. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new RvisorError('USAGE', `--listen ${text}: expected HOST:PORT, e.g. 127.0.0.1:8443`);
  return { host: (m[1] ?? m[2])!, port };
}

/** Is something answering on this Unix socket? */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (alive: boolean) => { s.destroy(); resolve(alive); };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    setTimeout(() => done(false), 2000).unref();
  });
}

/** Makes `path` free for a new socket: a socket file nobody answers on (left by a daemon that was
 *  killed) is removed; a live one (another `rvisor serve` on this state dir) or any other kind of
 *  file is an error. `rvisor serve` calls it before opening the host, so a second daemon never
 *  touches the first one's registry. */
export async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) throw new RvisorError('USAGE', `${path} exists and is not a socket: remove it or use another --state-dir`);
  if (await socketAlive(path)) throw new RvisorError('USAGE', `another rvisor serve is already listening on ${path}`);
  unlinkSync(path);
}

export interface ApiListeners {
  /** The Unix socket's path. */
  socketPath: string;
  /** The TCP listener, when asked for. */
  tcp?: { host: string; port: number; url: string };
  tokenPath: string;
  /** Stops accepting, ends event streams and consoles, removes the socket file. */
  close(): Promise<void>;
}

export interface ListenOptions {
  host: HostApi;
  stateDir: string;
  /** `HOST:PORT` for the TCP listener (port 0: any free port). */
  listen?: string;
  onInternalError?: (e: unknown) => void;
}

/** Starts the API on the state dir's Unix socket and, if asked, on TCP. */
export async function startApi(o: ListenOptions): Promise<ApiListeners> {
  const tcpAddr = o.listen === undefined ? undefined : parseListen(o.listen);
  const token = loadOrCreateToken(o.stateDir);
  const path = socketPath(o.stateDir);
  if (Buffer.byteLength(path) > 100) throw new RvisorError('USAGE', `${path}: the path is too long for a Unix socket (use a shorter --state-dir)`);
  await clearStaleSocket(path);

  const apps: FastifyInstance[] = [];
  const closeAll = async () => {
    await Promise.allSettled(apps.map((a) => a.close()));
    try { unlinkSync(path); } catch { /* gone already */ }
  };
  try {
    const unixApp = await buildApi(o.host, { onInternalError: o.onInternalError });
    apps.push(unixApp);
    await unixApp.ready();
    // The socket is created with mode 0600 (umask around the synchronous bind), so no other user
    // can connect even for an instant; chmod makes sure of it whatever the umask was.
    await new Promise<void>((resolve, reject) => {
      const server = unixApp.server;
      const onError = (e: Error) => reject(new RvisorError('USAGE', `cannot listen on ${path}: ${e.message}`));
      server.once('error', onError);
      const old = process.umask(0o177);
      try {
        server.listen(path, () => { server.off('error', onError); resolve(); });
      } finally {
        process.umask(old);
      }
    });
    chmodSync(path, 0o600);

    let tcp: ApiListeners['tcp'];
    if (tcpAddr) {
      const tcpApp = await buildApi(o.host, { token, onInternalError: o.onInternalError });
      apps.push(tcpApp);
      try {
        await tcpApp.listen({ host: tcpAddr.host, port: tcpAddr.port });
      } catch (e) {
        throw new RvisorError('USAGE', `cannot listen on ${o.listen}: ${(e as Error).message}`);
      }
      const a = tcpApp.server.address() as AddressInfo;
      const hostPart = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      tcp = { host: a.address, port: a.port, url: `http://${hostPart}:${a.port}` };
    }
    return { socketPath: path, tcp, tokenPath: tokenPath(o.stateDir), close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
