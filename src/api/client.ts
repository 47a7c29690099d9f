// The programmatic remote API: HostApi over HTTP, to a `rvisor serve` on its Unix socket or on
// TCP with the bearer token. Every call is a request, so every method returns a promise
// (RemoteHostApi is HostApi with its results wrapped in promises); errors come back as the same
// RvisorError codes the host threw. The `rvisor vm` CLI uses only this.
//
//   const host = await connect();                       // the default state dir's socket
//   await host.define({ name: 'web', memory: '128M' });
//   await host.start('web');
//   const con = await host.attachConsole('web', (b) => process.stdout.write(b));
//   con.write(new TextEncoder().encode('uname -a\n'));
import { request as httpRequest, Agent, type IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { RvisorError } from '../errors.js';
import type {
  CheckpointInfo, CloneInfo, CloneOptions, MigrateOptions, MigrationInfo, RevertOptions, ConsoleAttachment, HostApi, HostEvent, HostStats, MemoryTuneInfo, RestoreOptions, SaveInfo, SchedInfo, ShutdownOptions, StartOptions, VmDefinitionInput, VmInfo, VmStats,
} from '../vmm/types.js';
import { errorFromBody } from './errors.js';
import type { HostInfo } from './schemas.js';
import { defaultStateDir, readToken, socketPath } from './paths.js';

type Promised<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : T[K] };

/** A console viewer over a WebSocket. */
export interface RemoteConsole extends ConsoleAttachment {
  /** Settles when the connection ends: the viewer detached, the VM stopped (1000) or the host went away. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** HostApi as a remote client sees it. `close()` closes this client's connections; it does not
 *  stop the host. Event listeners are fed by one event stream (GET /events), opened with the first. */
export interface RemoteHostApi extends Omit<Promised<HostApi>, 'attachConsole' | 'on' | 'off' | 'close'> {
  /** The host's rvisor version. */
  readonly version: string;
  /** What this client is connected to (socket path or URL). */
  readonly target: string;
  attachConsole(name: string, onOutput: (bytes: Uint8Array) => void): Promise<RemoteConsole>;
  on(event: 'event', listener: (e: HostEvent) => void): this;
  /** The event stream failed or ended (the host stopped). */
  on(event: 'error', listener: (e: RvisorError) => void): this;
  off(event: 'event' | 'error', listener: (...a: never[]) => void): this;
  /** Resolves once the event stream is open (events from then on are delivered). */
  eventsOpen(): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Bearer token for an http:// host (default: $RVISOR_TOKEN, else the state dir's token file). */
  token?: string;
  /** Where the default socket and the token file are (default: the default state dir). */
  stateDir?: string;
}

type Target = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number; url: string };

function parseTarget(target: string | undefined, stateDir: string): Target {
  if (target === undefined || target === '') return { kind: 'unix', path: socketPath(stateDir) };
  if (/^https?:\/\//i.test(target)) {
    const u = new URL(target);
    if (u.protocol !== 'http:') throw new RvisorError('USAGE', `--connect ${target}: only http:// URLs (or a Unix socket path) are supported`);
    return { kind: 'tcp', host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80), url: `http://${u.host}` };
  }
  return { kind: 'unix', path: target.replace(/^unix:/, '') };
}

/** Connects to a host: `target` is a Unix socket path or an http://HOST:PORT URL (default: the
 *  default state dir's socket). Fails with HOST_UNREACHABLE when nothing answers. */
export async function connect(target?: string, opts: ConnectOptions = {}): Promise<RemoteHostApi> {
  const stateDir = opts.stateDir ?? defaultStateDir();
  const t = parseTarget(target, stateDir);
  const token = t.kind === 'tcp' ? (opts.token ?? process.env.RVISOR_TOKEN ?? readToken(stateDir)) : undefined;
  const client = new HostClient(t, token);
  await client.init();
  return client;
}

class HostClient implements RemoteHostApi {
  stateDir = '';
  pcpus = 0;
  version = '';
  readonly target: string;
  private readonly agent = new Agent({ keepAlive: true });
  private readonly eventListeners = new Set<(e: HostEvent) => void>();
  private readonly errorListeners = new Set<(e: RvisorError) => void>();
  private events: { req: ReturnType<typeof httpRequest>; open: Promise<void> } | undefined;
  private readonly consoles = new Set<WebSocket>();

  constructor(private readonly t: Target, private readonly token: string | undefined) {
    this.target = t.kind === 'unix' ? t.path : t.url;
  }

  async init(): Promise<void> {
    const h = await this.call<HostInfo>('GET', '/host');
    this.stateDir = h.stateDir;
    this.pcpus = h.pcpus;
    this.version = h.version;
  }

  private headers(body: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (body) h['content-type'] = 'application/json';
    if (this.token !== undefined) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  private unreachable(e: Error): RvisorError {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such socket' : code === 'ECONNREFUSED' ? 'connection refused' : code === 'EACCES' ? 'permission denied' : e.message;
    return new RvisorError('HOST_UNREACHABLE', `cannot reach the rvisor host at ${this.target}: ${why} (is "rvisor serve" running?)`, { cause: e });
  }

  private open(method: string, path: string, body: boolean, agent: Agent | false = this.agent) {
    const common = { method, path, headers: this.headers(body), agent };
    return this.t.kind === 'unix' ? httpRequest({ ...common, socketPath: this.t.path }) : httpRequest({ ...common, host: this.t.host, port: this.t.port });
  }

  /** One request; JSON in and out; an error body becomes its RvisorError. */
  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = this.open(method, path, body !== undefined);
      req.on('error', (e) => reject(this.unreachable(e)));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(this.unreachable(e)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            reject(new RvisorError('HOST_UNREACHABLE', `${this.target} answered ${method} ${path} with something that is not JSON (is it an rvisor host?)`));
            return;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(errorFromBody(status, parsed));
        });
      });
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  private vm(name: string, rest = ''): string {
    return `/vms/${encodeURIComponent(name)}${rest}`;
  }

  list(): Promise<VmInfo[]> { return this.call('GET', '/vms'); }
  info(name: string): Promise<VmInfo> { return this.call('GET', this.vm(name)); }
  define(def: VmDefinitionInput): Promise<VmInfo> { return this.call('POST', '/vms', def); }
  async undefine(name: string): Promise<void> { await this.call('DELETE', this.vm(name)); }
  start(name: string, opts: StartOptions = {}): Promise<VmInfo> { return this.call('POST', this.vm(name, '/start'), opts); }
  pause(name: string): Promise<VmInfo> { return this.call('POST', this.vm(name, '/pause')); }
  resume(name: string): Promise<VmInfo> { return this.call('POST', this.vm(name, '/resume')); }
  shutdown(name: string, opts: ShutdownOptions = {}): Promise<VmInfo> { return this.call('POST', this.vm(name, '/shutdown'), opts); }
  destroy(name: string): Promise<VmInfo> { return this.call('POST', this.vm(name, '/destroy')); }
  reboot(name: string): Promise<VmInfo> { return this.call('POST', this.vm(name, '/reboot')); }
  reset(name: string): Promise<VmInfo> { return this.call('POST', this.vm(name, '/reset')); }
  save(name: string, file: string): Promise<SaveInfo> { return this.call('POST', this.vm(name, '/save'), { file }); }
  restore(file: string, opts: RestoreOptions = {}): Promise<VmInfo> { return this.call('POST', '/restore', { file, ...opts }); }
  migrate(name: string, opts: MigrateOptions): Promise<MigrationInfo> { return this.call('POST', this.vm(name, '/migrate'), opts); }
  async migrateCancel(name: string): Promise<boolean> { await this.call('DELETE', this.vm(name, '/migrate')); return true; }
  clone(name: string, newName: string, opts: CloneOptions = {}): Promise<CloneInfo> { return this.call('POST', this.vm(name, '/clone'), { name: newName, ...opts }); }
  snapshotCreate(name: string, snap: string): Promise<CheckpointInfo> { return this.call('POST', this.vm(name, '/snapshots'), { name: snap }); }
  snapshotList(name: string): Promise<CheckpointInfo[]> { return this.call('GET', this.vm(name, '/snapshots')); }
  snapshotRevert(name: string, snap: string, opts: RevertOptions = {}): Promise<VmInfo> { return this.call('POST', this.vm(name, `/snapshots/${encodeURIComponent(snap)}/revert`), opts); }
  async snapshotDelete(name: string, snap: string): Promise<void> { await this.call('DELETE', this.vm(name, `/snapshots/${encodeURIComponent(snap)}`)); }
  setAutostart(name: string, on: boolean): Promise<VmInfo> { return this.call('PUT', this.vm(name, '/autostart'), { autostart: on }); }
  schedinfo(name: string): Promise<SchedInfo> { return this.call('GET', this.vm(name, '/schedinfo')); }
  setSchedinfo(name: string, s: Partial<SchedInfo>): Promise<SchedInfo> { return this.call('PUT', this.vm(name, '/schedinfo'), s); }
  memtune(name: string, update?: Partial<MemoryTuneInfo>): Promise<MemoryTuneInfo> {
    return update && Object.keys(update).length ? this.call('PUT', this.vm(name, '/memtune'), update) : this.call('GET', this.vm(name, '/memtune'));
  }
  stats(name: string): Promise<VmStats> { return this.call('GET', this.vm(name, '/stats')); }
  async hostStats(): Promise<HostStats> { return (await this.call<HostInfo>('GET', '/host')).stats; }

  attachConsole(name: string, onOutput: (bytes: Uint8Array) => void): Promise<RemoteConsole> {
    const path = this.vm(name, '/console');
    const url = this.t.kind === 'unix' ? `ws+unix:${this.t.path}:${path}` : `ws://${new URL(this.t.url).host}${path}`;
    const headers: Record<string, string> = this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {};
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    this.consoles.add(ws);
    let resolveClosed!: (v: { code: number; reason: string }) => void;
    const closed = new Promise<{ code: number; reason: string }>((r) => { resolveClosed = r; });
    return new Promise<RemoteConsole>((resolve, reject) => {
      let attached = false;
      ws.on('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: unknown;
          try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { body = undefined; }
          reject(errorFromBody(res.statusCode ?? 0, body));
          ws.terminate();
        });
      });
      ws.on('error', (e) => { if (!attached) reject(this.unreachable(e)); });
      ws.on('message', (data: Buffer) => {
        if (!attached) {
          attached = true;
          resolve({
            scrollback: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
            write: (bytes) => { if (ws.readyState === ws.OPEN) ws.send(bytes); },
            detach: () => ws.close(1000, 'detach'),
            closed,
          });
          return;
        }
        onOutput(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      });
      ws.on('close', (code, reasonBuf) => {
        this.consoles.delete(ws);
        const reason = reasonBuf.toString('utf8');
        if (!attached) {
          // Refused after the upgrade: the reason is "CODE message".
          const m = /^([A-Z_]+) (.*)$/s.exec(reason);
          reject(m ? errorFromBody(0, { error: { code: m[1], message: m[2] } }) : new RvisorError('HOST_UNREACHABLE', `the console of ${name} closed before attaching (${code} ${reason})`));
        }
        resolveClosed({ code, reason });
      });
    });
  }

  on(event: 'event' | 'error', listener: ((e: HostEvent) => void) | ((e: RvisorError) => void)): this {
    if (event === 'error') { this.errorListeners.add(listener as (e: RvisorError) => void); return this; }
    this.eventListeners.add(listener as (e: HostEvent) => void);
    this.openEvents();
    return this;
  }

  off(event: 'event' | 'error', listener: (...a: never[]) => void): this {
    if (event === 'error') { this.errorListeners.delete(listener as unknown as (e: RvisorError) => void); return this; }
    this.eventListeners.delete(listener as unknown as (e: HostEvent) => void);
    if (this.eventListeners.size === 0) this.closeEvents();
    return this;
  }

  eventsOpen(): Promise<void> {
    return this.events?.open ?? Promise.reject(new RvisorError('USAGE', 'no event listener: call on("event", …) first'));
  }

  private fail(e: RvisorError): void {
    this.events = undefined;
    for (const l of this.errorListeners) l(e);
  }

  private openEvents(): void {
    if (this.events) return;
    const req = this.open('GET', '/events', false, false);
    req.setHeader('accept', 'text/event-stream');
    const open = new Promise<void>((resolve, reject) => {
      req.on('error', (e) => { const err = this.unreachable(e); reject(err); if (this.events?.req === req) this.fail(err); });
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let body: unknown;
            try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { body = undefined; }
            const err = errorFromBody(res.statusCode ?? 0, body);
            reject(err);
            if (this.events?.req === req) this.fail(err);
          });
          return;
        }
        resolve();
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          buf += chunk;
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
            if (data === '') continue;
            let e: HostEvent;
            try { e = JSON.parse(data) as HostEvent; } catch { continue; }
            for (const l of [...this.eventListeners]) l(e);
          }
        });
        res.on('end', () => { if (this.events?.req === req) this.fail(new RvisorError('HOST_UNREACHABLE', `the event stream of ${this.target} ended (the host stopped)`)); });
        res.on('error', () => {});
      });
    });
    open.catch(() => {});
    this.events = { req, open };
    req.end();
  }

  private closeEvents(): void {
    const ev = this.events;
    this.events = undefined;
    ev?.req.destroy();
  }

  async close(): Promise<void> {
    this.eventListeners.clear();
    this.closeEvents();
    for (const ws of this.consoles) ws.terminate();
    this.consoles.clear();
    this.agent.destroy();
  }
}
