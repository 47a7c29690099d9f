// `rvisor serve`: the hypervisor host as a daemon. Opens the host (registry, pCPU workers,
// autostart VMs), serves its API on the state dir's Unix socket and optionally on TCP, and stops
// cleanly on SIGINT/SIGTERM: API first (consoles and event streams end), then the host.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RvisorError } from '../errors.js';
import { openHost } from '../vmm/host.js';
import { clearStaleSocket, defaultStateDir, parseListen, socketPath, startApi } from '../api/listen.js';

export const SERVE_USAGE = `usage: rvisor serve [--state-dir DIR] [--pcpus N] [--listen HOST:PORT]
  --state-dir DIR     where VM definitions, the API socket and the token live
                      (default: $XDG_DATA_HOME/rvisor, else ~/.local/share/rvisor)
  --pcpus N           worker threads that run guest code (default: the host's cores)
  --listen HOST:PORT  also serve the API on TCP; every request needs
                      "Authorization: Bearer <token>" with the token from <state dir>/token
The API is always on <state dir>/rvisor.sock (mode 0600, no token). SIGINT or SIGTERM stops
every VM and the host.`;

export async function serveCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args, strict: true, allowPositionals: false,
      options: { 'state-dir': { type: 'string' }, pcpus: { type: 'string' }, listen: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
  const stateDir = resolve(values['state-dir'] ?? defaultStateDir());
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // Before the host reads the registry: refuse if another daemon serves this state dir.
  await clearStaleSocket(socketPath(stateDir));

  const host = await openHost({ stateDir, ...(pcpus === undefined ? {} : { pcpus }) });
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
  await api.close();
  await host.close();
  process.stdout.write('rvisor: stopped\n');
  return 0;
}
