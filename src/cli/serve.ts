// `rvisor serve`: the hypervisor host as a daemon. Opens the host (registry, pCPU workers,
// autostart VMs), serves its API on the state dir's Unix socket and optionally on TCP, and stops
// cleanly on SIGINT/SIGTERM: API first (consoles and event streams end), then the host.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RvisorError } from '../errors.js';
import { openHost } from '../vmm/host.js';
import { clearStaleSocket, defaultStateDir, parseListen, socketPath, startApi } from '../api/listen.js';

export const SERVE_USAGE = `usage: rvisor serve [--state-dir DIR] [--pcpus N] [--listen HOST:PORT] [--host-mem SIZE]
                    [--page-sharing-rate N] [--idle-tax PCT]
  --state-dir DIR     where VM definitions, the API socket and the token live
                      (default: $XDG_DATA_HOME/rvisor, else ~/.local/share/rvisor)
  --pcpus N           worker threads that run guest code (default: the host's cores)
  --listen HOST:PORT  also serve the API on TCP; every request needs
                      "Authorization: Bearer <token>" with the token from <state dir>/token
  --host-mem SIZE     memory the host gives to guests, e.g. 8G (default: 3/4 of this machine's);
                      reservations must fit in it (admission control), and past it the host
                      takes memory back (balloon, then swap) by shares and idle tax
  --page-sharing-rate N
                      guest pages per second the page-sharing scanner looks at (default 25600;
                      0: off)
  --idle-tax PCT      idle memory tax, per cent (default 75, as ESX)
The API is always on <state dir>/rvisor.sock (mode 0600, no token). SIGINT or SIGTERM stops
every VM and the host.`;

export async function serveCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args, strict: true, allowPositionals: false,
      options: {
        'state-dir': { type: 'string' }, pcpus: { type: 'string' }, listen: { type: 'string' }, 'host-mem': { type: 'string' },
        'page-sharing-rate': { type: 'string' }, 'idle-tax': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new RvisorError('USAGE', `${(e as Error).message}\n${SERVE_USAGE}`);
  }
  if (values.help) {
    process.stdout.write(SERVE_USAGE + '\n');
    return 0;
  }
  let pcpus: number | undefined;
  if (values.pcpus !== undefined) {
    pcpus = Number(values.pcpus);
    if (!/^\d+$/.test(values.pcpus) || pcpus < 1 || pcpus > 256) throw new RvisorError('USAGE', `--pcpus ${values.pcpus}: expected 1..256`);
  }
  if (values.listen !== undefined) parseListen(values.listen);
  const int = (v: string | undefined, what: string, max: number): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) > max) throw new RvisorError('USAGE', `--${what} ${v}: expected an integer 0..${max}`);
    return Number(v);
  };
  const pageSharingRate = int(values['page-sharing-rate'], 'page-sharing-rate', 10_000_000);
  const idleTaxPct = int(values['idle-tax'], 'idle-tax', 99);
  const memory = {
    ...(values['host-mem'] === undefined ? {} : { hostMem: values['host-mem'] }),
    ...(pageSharingRate === undefined ? {} : { pageSharingRate }), ...(idleTaxPct === undefined ? {} : { idleTaxPct }),
  };
  const stateDir = resolve(values['state-dir'] ?? defaultStateDir());
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // Before the host reads the registry: refuse if another daemon serves this state dir.
  await clearStaleSocket(socketPath(stateDir));

  const host = await openHost({ stateDir, ...(pcpus === undefined ? {} : { pcpus }), ...memory });
  for (const w of (host as { warnings?: string[] }).warnings ?? []) process.stderr.write(`rvisor: warning: ${w}\n`);
  let api;
  try {
    api = await startApi({
      host, stateDir, ...(values.listen === undefined ? {} : { listen: values.listen }),
      onInternalError: (e) => process.stderr.write(`rvisor: internal error in the API: ${(e as Error)?.stack ?? String(e)}\n`),
    });
  } catch (e) {
    await host.close();
    throw e;
  }
  process.stdout.write(`rvisor: host with ${host.pcpus} pCPUs, state in ${stateDir}\n`);
  process.stdout.write(`rvisor: API on unix:${api.socketPath}\n`);
  if (api.tcp) process.stdout.write(`rvisor: API on ${api.tcp.url} (bearer token in ${api.tokenPath})\n`);
  if (api.tcp) process.stdout.write(`rvisor: web console on ${api.tcp.url.replace(/\/$/, '')}/ui\n`);

  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      // A second signal while stopping ends the process at once.
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolveSignal(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  process.stdout.write(`rvisor: ${signal}: stopping\n`);
  const api2 = api;
  // (a step that hangs would keep the process alive: it exits at once instead)
  if (!await within(STOP_STEP_MS, 'closing the API', () => api2.close())) process.exit(1);
  if (!await within(STOP_STEP_MS, 'stopping the VMs and pCPU workers', () => host.close())) process.exit(1);
  process.stdout.write('rvisor: stopped\n');
  return 0;
}

/** Longest one step of stopping may take before serve gives up on it (says which, exits 1). */
const STOP_STEP_MS = 20_000;

/** Runs a step of stopping: true if it finished within ms; else reports it (the process then
 *  exits rather than hang on a step that cannot finish). */
async function within(ms: number, what: string, step: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => { timer = setTimeout(() => r(false), ms); });
  try {
    const done = await Promise.race([step().then(() => true as const), late]);
    if (!done) process.stderr.write(`rvisor: ${what} did not finish within ${ms / 1000} s; exiting anyway\n`);
    return done;
  } finally {
    clearTimeout(timer);
  }
}
