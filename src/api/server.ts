// The REST API of `rvisor serve` (fastify): HostApi as HTTP + JSON, the event stream as
// server-sent events, consoles as WebSockets. One fastify instance is built per listener: the
// Unix socket (no token: its 0600 mode is the protection) and, optionally, TCP where every request
// needs `Authorization: Bearer <token>`. Every request is validated and every response checked
// against the schemas in schemas.ts, which also generate the OpenAPI document.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fastify, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { isWebUiRequest, registerWebUi } from './web-ui.js';
import fastifyWebsocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Kind, Type, type TSchema } from '@sinclair/typebox';
import type { WebSocket } from 'ws';
import { RvisorError, type ErrorCode } from '../errors.js';
import type { ConsoleAttachment, HostApi, HostEvent } from '../vmm/types.js';
import { errorBody, httpStatus } from './errors.js';
import {
  AutostartBody, ErrorSchema, HostEventSchema, HostInfoSchema, NameParams, SchedInfoSchema, SchedInfoUpdateSchema, MemoryTuneSchema, MemoryTuneUpdateSchema,
  CheckpointBody, CheckpointInfoSchema, CloneBody, CloneInfoSchema, MigrateBody, MigrationInfoSchema, RevertBody, SnapParams, ShutdownBody, StartBody, SaveBody, SaveInfoSchema, RestoreBody, VmDefinitionInputSchema, VmInfoSchema, VmStatsSchema, VM_NAME_PATTERN, MEMORY_PATTERN, ABS_PATH_PATTERN,
} from './schemas.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A console viewer that falls this far behind (bytes queued on its socket) is disconnected
 *  rather than let the host buffer without bound. */
const MAX_VIEWER_BACKLOG = 8 * 1024 * 1024;
/** Comment lines keep idle event streams from being cut by proxies. */
const EVENT_PING_MS = 15_000;

export interface ApiOptions {
  /** When set, every request must carry `Authorization: Bearer <token>` (the TCP listener). */
  token?: string;
  /** Called with unexpected exceptions (bugs) before they are answered with 500 INTERNAL. */
  onInternalError?: (e: unknown) => void;
}

const errors = { '4xx': ErrorSchema, '5xx': ErrorSchema };
const lifecycle = ['pause', 'resume', 'destroy', 'reboot', 'reset'] as const;

/** Close codes of a console WebSocket refused after the upgrade: 4000 + the HTTP status. */
export function consoleCloseCode(code: ErrorCode): number {
  return 4000 + httpStatus(code);
}

function fail(reply: FastifyReply, code: ErrorCode, message: string, status = httpStatus(code)): FastifyReply {
  return reply.code(status).type('application/json').send(errorBody(code, message));
}

/** The request's credentials: its Authorization header, or for a WebSocket upgrade from a
 *  browser (whose WebSocket API cannot set headers) the subprotocol `rvisor.bearer.<token>`. */
function authorization(req: FastifyRequest): string {
  if (req.headers.authorization !== undefined || !req.headers.upgrade) return req.headers.authorization ?? '';
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const bearer = offered.find((p) => p.startsWith(BEARER_PROTOCOL));
  return bearer === undefined ? '' : `Bearer ${bearer.slice(BEARER_PROTOCOL.length)}`;
}

/** The WebSocket subprotocol that carries the bearer token (offered after `rvisor.console`, which
 *  the server selects: ws takes the first one offered). */
export const BEARER_PROTOCOL = 'rvisor.bearer.';

/** Builds (but does not start) the API for `host`. */
export async function buildApi(host: HostApi, opts: ApiOptions = {}): Promise<FastifyInstance> {
  const app = fastify({
    logger: false,
    // Unknown keys are refused, not silently dropped; nothing is coerced into another type.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    forceCloseConnections: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Responses: checked against their schema, then written as JSON. A response that does not fit
  // is a bug in rvisor and becomes 500 INTERNAL rather than an answer breaking the contract.
  app.setSerializerCompiler(({ schema, method, url }) => {
    // Entries that only document a status (101 Switching Protocols) are never serialized.
    if (!(Kind in (schema as object))) return () => { throw new Error(`${method} ${url}: no schema to answer with`); };
    const checker = TypeCompiler.Compile(schema as TSchema);
    return (data: unknown) => {
      if (!checker.Check(data)) {
        const first = checker.Errors(data).First();
        throw new Error(`response of ${method} ${url} does not fit its schema: ${first?.path || '/'} ${first?.message ?? ''}`);
      }
      return JSON.stringify(data);
    };
  });

  app.setErrorHandler((err: FastifyError | RvisorError | Error, req, reply) => {
    if (err instanceof RvisorError) return fail(reply, err.code, err.message);
    const fe = err as FastifyError;
    if (fe.validation) {
      const v = fe.validation[0]!;
      const ctx = fe.validationContext ?? 'request';
      let message: string;
      if (ctx === 'params') {
        message = `VM name ${JSON.stringify((req.params as { name?: string }).name)} is invalid: it must match ${VM_NAME_PATTERN.slice(1, -1)}`;
      } else if (v.keyword === 'pattern') {
        const value = JSON.stringify(v.instancePath.split('/').slice(1).reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], req.body));
        const pattern = (v.params as { pattern?: string }).pattern;
        const why = pattern === VM_NAME_PATTERN ? `is not a valid VM name (${VM_NAME_PATTERN.slice(1, -1)})`
          : pattern === MEMORY_PATTERN ? 'is not a size such as "256M" or "1G" (units B, K, M, G)'
            : pattern === ABS_PATH_PATTERN ? 'must be an absolute path (the host\'s working directory means nothing to a client)'
              : v.message ?? 'is invalid';
        message = `${ctx}${v.instancePath} ${value} ${why}`;
      } else if (v.keyword === 'additionalProperties') {
        message = `${ctx}${v.instancePath}: unknown key "${String((v.params as { additionalProperty?: string }).additionalProperty)}"`;
      } else {
        message = `${ctx}${v.instancePath} ${v.message ?? 'is invalid'}`;
      }
      const isDefinition = ctx === 'body' && req.method === 'POST' && req.routeOptions.url === '/vms';
      return fail(reply, isDefinition ? 'BAD_DEFINITION' : 'BAD_REQUEST', message);
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return fail(reply, 'BAD_REQUEST', fe.message, fe.statusCode);
    }
    opts.onInternalError?.(err);
    return fail(reply, 'INTERNAL', `internal error: ${err.message}`);
  });

  app.setNotFoundHandler((req, reply) => fail(reply, 'BAD_REQUEST', `no such endpoint: ${req.method} ${req.url.split('?')[0]}`, 404));

  if (opts.token !== undefined) {
    const want = createHash('sha256').update(`Bearer ${opts.token}`).digest();
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      if (isWebUiRequest(req.method, req.url)) return; // the web console's files hold nothing secret
      const got = createHash('sha256').update(authorization(req)).digest();
      if (!timingSafeEqual(want, got)) {
        reply.header('www-authenticate', 'Bearer realm="rvisor"');
        const message = req.headers.authorization ? 'the bearer token is wrong' : 'this listener needs "Authorization: Bearer <token>" (the token is in the host\'s state dir)';
        // A refused WebSocket upgrade's socket belongs to nobody once answered: close it, or it
        // stays open (and keeps the server from closing).
        if (req.headers.upgrade) reply.raw.once('finish', () => req.raw.socket.destroy());
        return fail(reply, 'UNAUTHORIZED', message);
      }
    });
  }

  await app.register(fastifySwagger, {
    // Shared schemas are named in components.schemas by their $id (VmInfo, VmDefinition, …).
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'rvisor host API',
        version: VERSION,
        description: 'The REST API of `rvisor serve`. On the Unix socket `<state-dir>/rvisor.sock` (mode 0600) no ' +
          'token is needed; on the TCP listener (`--listen`) every request needs `Authorization: Bearer <token>`, ' +
          'the token being stored in `<state-dir>/token`. Errors are `{"error": {"code", "message"}}` with a stable code.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'TCP listener only' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'vms', description: 'VM definitions and lifecycle' },
        { name: 'snapshots', description: 'Named checkpoints of a VM (RAM, devices, disks)' },
        { name: 'host', description: 'The host' },
      ],
    },
  });
  await app.register(fastifyWebsocket, { options: { maxPayload: 1024 * 1024 } });
  registerWebUi(app as unknown as FastifyInstance);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/vms', {
    schema: { tags: ['vms'], summary: 'List the defined VMs', response: { 200: Type.Array(VmInfoSchema), ...errors } },
  }, async () => await host.list());

  app.post('/vms', {
    schema: {
      tags: ['vms'], summary: 'Define a VM', description: 'Missing fields take the host\'s defaults (kernel and initrd: the bundled guest\'s).',
      body: VmDefinitionInputSchema, response: { 201: VmInfoSchema, ...errors },
    },
  }, async (req, reply) => {
    const input = req.body;
    const def = input.disks === undefined ? { ...input, disks: undefined } : { ...input, disks: input.disks.map((d) => ({ path: d.path, readonly: d.readonly ?? false })) };
    if (def.disks === undefined) delete (def as { disks?: unknown }).disks;
    const info = await host.define(def);
    return reply.code(201).send(info);
  });

  app.get('/vms/:name', {
    schema: { tags: ['vms'], summary: 'A VM\'s state and definition', params: NameParams, response: { 200: VmInfoSchema, ...errors } },
  }, async (req) => await host.info(req.params.name));

  app.delete('/vms/:name', {
    schema: { tags: ['vms'], summary: 'Undefine a VM (shutoff or crashed only)', params: NameParams, response: { 204: Type.Null({ description: 'Undefined' }), ...errors } },
  }, async (req, reply) => {
    await host.undefine(req.params.name);
    return reply.code(204).send(null);
  });

  // Verbs whose body is optional: a missing body is an empty object.
  const emptyBody = async (req: FastifyRequest) => { req.body ??= {}; };

  app.post('/vms/:name/start', {
    preValidation: emptyBody,
    schema: { tags: ['vms'], summary: 'Start a VM (optionally paused)', params: NameParams, body: StartBody, response: { 200: VmInfoSchema, ...errors } },
  }, async (req) => await host.start(req.params.name, {
    ...(req.body.paused === undefined ? {} : { paused: req.body.paused }), ...(req.body.force === undefined ? {} : { force: req.body.force }),
    ...(req.body.prefault === undefined ? {} : { prefault: req.body.prefault }),
  }));

  app.post('/vms/:name/save', {
    schema: {
      tags: ['vms'], summary: 'Save a running or paused VM to a snapshot file and stop it',
      description: 'The VM ends shutoff (reason saved). Its folder keeps the snapshot as a managed save: the next start resumes ' +
        'from it (and drops it). Format: docs/snapshot-format.md.',
      params: NameParams, body: SaveBody, response: { 200: SaveInfoSchema, ...errors },
    },
  }, async (req) => await host.save(req.params.name, req.body.file));

  app.post('/restore', {
    schema: {
      tags: ['vms'], summary: 'Run a VM from a snapshot file',
      description: 'Into the VM `name` (default: the name it was saved under), which must be shutoff or crashed and of the snapshot\'s ' +
        'configuration; a new name is defined from the snapshot\'s configuration. A missing (ENOENT_FILE), foreign (SNAPSHOT_FOREIGN), newer ' +
        '(SNAPSHOT_VERSION), corrupt or truncated (SNAPSHOT_CORRUPT) or mismatched (SNAPSHOT_MISMATCH) file, or a disk changed since the save ' +
        '(DISK_CHANGED, unless force), is refused and changes nothing.',
      body: RestoreBody, response: { 200: VmInfoSchema, ...errors },
    },
  }, async (req) => {
    const { file, ...opts } = req.body;
    return await host.restore(file, opts);
  });

  app.post('/vms/:name/clone', {
    schema: {
      tags: ['vms'], summary: 'Clone a running or paused VM live',
      description: 'Defines and starts the VM `name` from the original\'s current state; both keep running. Guest RAM is shared ' +
        'copy-on-write (the original pauses only while its page map is copied), each read-write disk is copied into the clone\'s folder ' +
        '(reflinked where the file system can), and the clone gets a new VM generation ID. VM_EXISTS (409), VM_STATE, ENOMEM_HOST (no room ' +
        'in the original\'s memory arena).',
      params: NameParams, body: CloneBody, response: { 201: CloneInfoSchema, ...errors },
    },
  }, async (req, reply) => reply.code(201).send(await host.clone(req.params.name, req.body.name, req.body.paused === undefined ? {} : { paused: req.body.paused })));

  app.post('/vms/:name/migrate', {
    schema: {
      tags: ['vms'], summary: 'Migrate a running or paused VM live to another host',
      description: 'Pre-copy rounds driven by the dirty-page log while the guest runs, then stop-and-copy once the rest fits ' +
        '`maxDowntimeMs` (default 300) at the measured rate; a guest dirtying memory faster than the link is throttled (auto-converge). ' +
        'Progress goes to the event stream (type migration). The VM ends shutoff here (reason migrated). A cancel (DELETE), a dead link or ' +
        'a refusal leaves it running here and nothing at the destination: MIGRATION_CANCELLED, MIGRATION_FAILED, UNAUTHORIZED, VM_EXISTS.',
      params: NameParams, body: MigrateBody, response: { 200: MigrationInfoSchema, ...errors },
    },
  }, async (req) => await host.migrate(req.params.name, req.body));

  app.delete('/vms/:name/migrate', {
    schema: {
      tags: ['vms'], summary: 'Cancel the VM\'s migration in progress (it runs on here)', params: NameParams,
      response: { 204: Type.Null({ description: 'Cancelled' }), ...errors },
    },
  }, async (req, reply) => {
    if (!host.migrateCancel(req.params.name)) throw new RvisorError('VM_STATE', `VM ${req.params.name} has no migration in progress that can still be cancelled`);
    return reply.code(204).send(null);
  });

  app.route({
    method: 'GET',
    url: '/migrations/incoming',
    schema: {
      tags: ['vms'], summary: 'Receive a live migration (WebSocket; used by another host\'s migrate)',
      description: 'The migration stream of docs/migration.md. Over TCP it needs this host\'s bearer token like every request.',
      response: { 101: Type.Null({ description: 'Switching to the WebSocket protocol' }), ...errors },
    },
    handler: async (_req, reply) => fail(reply, 'BAD_REQUEST', 'this endpoint is a WebSocket: send an Upgrade request'),
    wsHandler: (socket: WebSocket) => {
      if (!('acceptMigration' in host)) { socket.close(1011, 'this host cannot receive migrations'); return; }
      (host as HostApi & { acceptMigration(ws: WebSocket): void }).acceptMigration(socket);
    },
  });

  app.post('/vms/:name/snapshots', {
    schema: {
      tags: ['snapshots'], summary: 'Take a named checkpoint of a VM',
      description: 'A running or paused VM: RAM, devices and a point-in-time copy of each read-write disk (reflinked where the file system ' +
        'can); the guest pauses only while its state is copied. A shut-off VM: its disks only. Its parent is the checkpoint the VM was last ' +
        'created from or reverted to. SNAPSHOT_EXISTS (409), VM_STATE (crashed, or a managed save pending).',
      params: NameParams, body: CheckpointBody, response: { 201: CheckpointInfoSchema, ...errors },
    },
  }, async (req, reply) => reply.code(201).send(await host.snapshotCreate(req.params.name, req.body.name)));

  app.get('/vms/:name/snapshots', {
    schema: { tags: ['snapshots'], summary: 'A VM\'s checkpoints, oldest first', params: NameParams, response: { 200: Type.Array(CheckpointInfoSchema), ...errors } },
  }, async (req) => await host.snapshotList(req.params.name));

  app.post('/vms/:name/snapshots/:snap/revert', {
    preValidation: emptyBody,
    schema: {
      tags: ['snapshots'], summary: 'Revert a VM to a checkpoint: RAM, devices and disks',
      description: 'The VM (in any state) is stopped, its disks are copied back and the machine resumes running or paused as it was when ' +
        'the checkpoint was taken (or paused if asked); a disks-only checkpoint leaves it shutoff. Refused, changing nothing: SNAPSHOT_NOT_FOUND, ' +
        'SNAPSHOT_MISMATCH (the definition or a boot file changed since), DISK_IN_USE, DISK_CHANGED (a read-only disk changed).',
      params: SnapParams, body: RevertBody, response: { 200: VmInfoSchema, ...errors },
    },
  }, async (req) => await host.snapshotRevert(req.params.name, req.params.snap, req.body.paused === undefined ? {} : { paused: req.body.paused }));

  app.delete('/vms/:name/snapshots/:snap', {
    schema: { tags: ['snapshots'], summary: 'Delete a checkpoint (its children become its parent\'s)', params: SnapParams, response: { 204: Type.Null({ description: 'Deleted' }), ...errors } },
  }, async (req, reply) => {
    await host.snapshotDelete(req.params.name, req.params.snap);
    return reply.code(204).send(null);
  });

  app.post('/vms/:name/shutdown', {
    preValidation: emptyBody,
    schema: {
      tags: ['vms'], summary: 'Ask the guest to power off; answers once it is shutoff',
      description: 'Fails with 504 SHUTDOWN_TIMEOUT if the guest is still running after timeoutMs (the VM keeps running).',
      params: NameParams, body: ShutdownBody, response: { 200: VmInfoSchema, ...errors },
    },
  }, async (req) => await host.shutdown(req.params.name, req.body.timeoutMs === undefined ? {} : { timeoutMs: req.body.timeoutMs }));

  for (const verb of lifecycle) {
    const summary = {
      pause: 'Pause a running VM (vCPUs stop at a slice boundary; guest time stands still)',
      resume: 'Resume a paused VM',
      destroy: 'Hard stop (running, paused or crashed → shutoff)',
      reboot: 'Reset the machine with the same definition',
      reset: 'Reset the machine with the same definition',
    }[verb];
    app.post(`/vms/:name/${verb}`, {
      schema: { tags: ['vms'], summary, params: NameParams, response: { 200: VmInfoSchema, ...errors } },
    }, async (req) => await host[verb](req.params.name));
  }

  app.put('/vms/:name/autostart', {
    schema: { tags: ['vms'], summary: 'Start the VM when the host starts, or not', params: NameParams, body: AutostartBody, response: { 200: VmInfoSchema, ...errors } },
  }, async (req) => await host.setAutostart(req.params.name, req.body.autostart));

  app.get('/vms/:name/schedinfo', {
    schema: { tags: ['vms'], summary: 'Scheduler parameters', params: NameParams, response: { 200: SchedInfoSchema, ...errors } },
  }, async (req) => await host.schedinfo(req.params.name));

  app.put('/vms/:name/schedinfo', {
    schema: { tags: ['vms'], summary: 'Change weight and/or cap (also while running)', params: NameParams, body: SchedInfoUpdateSchema, response: { 200: SchedInfoSchema, ...errors } },
  }, async (req) => await host.setSchedinfo(req.params.name, req.body));

  app.get('/vms/:name/memtune', {
    schema: { tags: ['vms'], summary: 'Memory controls: reservation, limit, shares', params: NameParams, response: { 200: MemoryTuneSchema, ...errors } },
  }, async (req) => await host.memtune(req.params.name));

  app.put('/vms/:name/memtune', {
    schema: {
      tags: ['vms'], summary: 'Change reservation, limit and/or shares (also while running: a larger reservation passes admission control first)',
      params: NameParams, body: MemoryTuneUpdateSchema, response: { 200: MemoryTuneSchema, ...errors },
    },
  }, async (req) => await host.memtune(req.params.name, req.body));

  app.get('/vms/:name/stats', {
    schema: { tags: ['vms'], summary: 'CPU time, instructions, steal time and memory of a VM', params: NameParams, response: { 200: VmStatsSchema, ...errors } },
  }, async (req) => await host.stats(req.params.name));

  app.get('/host', {
    schema: { tags: ['host'], summary: 'The host: version, state dir, pCPUs and statistics', response: { 200: HostInfoSchema, ...errors } },
  }, async () => ({ version: VERSION, stateDir: host.stateDir, pcpus: host.pcpus, stats: await host.hostStats() }));

  // The event stream: server-sent events, one `data:` line of JSON (a HostEvent) per event.
  const checkEvent = TypeCompiler.Compile(HostEventSchema);
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => { for (const end of [...streams]) end(); });
  app.get('/events', {
    schema: {
      tags: ['host'], summary: 'Stream of host events (server-sent events)',
      description: 'Each event is one `data:` line holding a HostEvent as JSON; lines starting with ":" are keep-alives.',
      response: { 200: { description: 'An endless text/event-stream', content: { 'text/event-stream': { schema: HostEventSchema } } } as unknown as TSchema, ...errors },
    },
  }, (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': rvisor events\n\n');
    const listener = (e: HostEvent) => {
      if (!checkEvent.Check(e)) {
        opts.onInternalError?.(new Error(`host event does not fit its schema: ${JSON.stringify(e)}`));
        return;
      }
      res.write(`data: ${JSON.stringify(e)}\n\n`);
    };
    const ping = setInterval(() => res.write(': ping\n\n'), EVENT_PING_MS);
    const end = () => {
      if (!streams.delete(end)) return;
      clearInterval(ping);
      host.off('event', listener);
      res.end();
    };
    streams.add(end);
    host.on('event', listener);
    req.raw.on('close', end);
    res.on('error', end);
  });

  // Consoles: a WebSocket per viewer. The first message is the scrollback (the last 64 KiB of
  // output, possibly empty), then output as it comes; messages from the viewer are typed into the
  // guest. The socket closes (1000) when the VM stops.
  app.route({
    method: 'GET',
    url: '/vms/:name/console',
    schema: {
      tags: ['vms'], summary: 'The VM\'s serial console (WebSocket)',
      description: 'Upgrade to a WebSocket. The server first sends one binary message holding the scrollback (the last ' +
        '64 KiB of console output, possibly empty), then the output as it comes; every message the client sends ' +
        '(binary or text) is typed into the guest. Several viewers may attach. The server closes with 1000 when the VM ' +
        'stops. Refusals before the upgrade are ordinary JSON errors (404 unknown VM, 409 not running or paused).',
      params: NameParams,
      response: { 101: Type.Null({ description: 'Switching to the WebSocket protocol' }), ...errors },
    },
    preHandler: async (req) => {
      const info = await host.info((req.params as { name: string }).name);
      if (info.state !== 'running' && info.state !== 'paused') throw new RvisorError('VM_STATE', `VM ${info.name} is ${info.state}: its console is there only while it runs`);
    },
    handler: async (_req, reply) => fail(reply, 'BAD_REQUEST', 'this endpoint is a WebSocket: send an Upgrade request'),
    wsHandler: (socket: WebSocket, req) => {
      const name = (req.params as { name: string }).name;
      let ready = false;
      const early: Buffer[] = [];
      const send = (bytes: Uint8Array) => {
        if (socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > MAX_VIEWER_BACKLOG) { socket.close(1008, 'viewer too slow'); return; }
        socket.send(bytes);
      };
      let att: ConsoleAttachment;
      try {
        att = host.attachConsole(name, (bytes) => { const copy = Buffer.from(bytes); if (ready) send(copy); else early.push(copy); });
      } catch (e) {
        const code: ErrorCode = e instanceof RvisorError ? e.code : 'INTERNAL';
        if (!(e instanceof RvisorError)) opts.onInternalError?.(e);
        socket.close(consoleCloseCode(code), `${code} ${(e as Error).message}`.slice(0, 120));
        return;
      }
      send(att.scrollback);
      for (const b of early) send(b);
      early.length = 0;
      ready = true;
      const onEvent = (e: HostEvent) => {
        if (e.type === 'state' && e.name === name && (e.state === 'shutoff' || e.state === 'crashed')) socket.close(1000, `VM ${name} ${e.state}`);
        if (e.type === 'undefined' && e.name === name) socket.close(1000, `VM ${name} undefined`);
      };
      host.on('event', onEvent);
      socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        try { att.write(bytes); } catch { /* the VM stopped: the state event closes the socket */ }
      });
      socket.on('close', () => { host.off('event', onEvent); att.detach(); });
      socket.on('error', () => socket.terminate());
    },
  });

  return app;
}

/** The OpenAPI document the API serves (and docs/openapi.json holds), as committed: stable
 *  key order, two-space indentation, final newline. */
export async function openApiDocument(host?: HostApi): Promise<string> {
  const app = await buildApi(host ?? ({} as HostApi));
  await app.ready();
  const doc = app.swagger();
  await app.close();
  return JSON.stringify(doc, null, 2) + '\n';
}
