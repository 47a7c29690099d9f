// `rvisor vm VERB`: the host's client in virsh's spirit. It talks to `rvisor serve` only through
// the programmatic remote API (src/api/client.ts): no machine assembly happens here.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RvisorError } from '../errors.js';
import { connect, type RemoteHostApi } from '../api/client.js';
import { migrateWithProgress } from './migrate-progress.js';
import type { CheckpointInfo, VmDefinitionInput, VmInfo, VmState, VmStats, HostStats } from '../vmm/types.js';

export const VM_USAGE = `usage: rvisor vm [--connect SOCKET|URL] [--token TOKEN] [--state-dir DIR] VERB [options]

verbs:
  define FILE                     define a VM from a JSON definition (relative paths in it are
                                  taken from FILE's folder; FILE "-" reads standard input)
  undefine NAME                   remove a VM that is shut off or crashed
  list [--all] [--json]           running and paused VMs (--all: every VM)
  info NAME [--json]              state and definition
  start NAME [--paused] [--force] [--prefault]
                                  boot the VM (--paused: leave its vCPUs stopped); a VM saved
                                  with "save" resumes from its managed save instead (--force:
                                  even if a disk or boot file changed since; --prefault: load
                                  all its memory first instead of each page on first touch)
  pause NAME | resume NAME        stop / continue the vCPUs
  shutdown NAME [--timeout S]     ask the guest to power off and wait (default 60 s)
  destroy NAME                    hard stop
  reboot NAME | reset NAME        restart the machine with the same definition
  save NAME FILE                  save the running or paused VM to the snapshot FILE and stop it;
                                  the next start resumes from it (managed save)
  restore FILE [--name NAME] [--paused] [--force] [--prefault]
                                  run a VM from a snapshot (default name: the one it was saved
                                  under; a new name is defined from the snapshot); its pages are
                                  read from FILE on first touch unless --prefault
  clone NAME NEW [--paused] [--json]
                                  a live copy NEW of the running or paused VM: both run on, RAM
                                  shared copy-on-write, each read-write disk copied (reflinked
                                  where possible), a new VM generation ID
  migrate NAME --to URL [--token-file F] [--max-downtime MS] [--copy-storage]
                                  move the running or paused VM live to the rvisor serve at URL
                                  (http://HOST:PORT of its --listen; F holds its token), with a
                                  progress bar; Ctrl-C or "migrate NAME --cancel" cancels (the VM
                                  runs on here); --max-downtime: longest stop (default 300 ms);
                                  --copy-storage: send the disks too (default: same paths there)
  snapshot create NAME SNAP       take the checkpoint SNAP (RAM, devices, a copy of each read-write
                                  disk) of a running or paused VM, which pauses only while it is
                                  copied; of a shut-off VM, its disks only
  snapshot list NAME [--json]     the VM's checkpoints with their parents (* marks the current one)
  snapshot revert NAME SNAP [--paused]
                                  back to the checkpoint: RAM, devices and disks (the VM ends
                                  running or paused as it was then; --paused: paused)
  snapshot delete NAME SNAP       remove a checkpoint (its children become its parent's)
  console NAME [--linger S]       attach to the serial console: on a terminal Ctrl-] detaches;
                                  from a pipe, stdin is typed in and the command ends once stdin
                                  has ended and the guest has been quiet for S seconds (default 1)
  stats NAME [--json]             CPU time, instructions, steal time, memory
  nodeinfo [--json]               the host: pCPUs, VMs, memory for guests (reserved, held,
                                  shared, zero, ballooned, swapped), page sharing, RSS
  schedinfo NAME [--weight N] [--cap N]
                                  show or change the scheduler parameters
  memtune NAME [--reservation SIZE] [--limit SIZE|none] [--shares N]
                                  show or change the memory controls (also while running):
                                  host memory guaranteed, the most it may hold, its claim
                                  under contention
  autostart NAME [--disable]      start the VM when the host starts (--disable: do not)

--connect picks the host: a Unix socket path (default: <state dir>/rvisor.sock) or
http://HOST:PORT, whose token comes from --token, $RVISOR_TOKEN or <state dir>/token.
The state dir is --state-dir, else $XDG_DATA_HOME/rvisor, else ~/.local/share/rvisor.`;

const CTRL_RIGHT_BRACKET = 0x1d;

const OPTIONS = {
  connect: { type: 'string' },
  token: { type: 'string' },
  'state-dir': { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  paused: { type: 'boolean' },
  timeout: { type: 'string' },
  linger: { type: 'string' },
  weight: { type: 'string' },
  cap: { type: 'string' },
  reservation: { type: 'string' },
  limit: { type: 'string' },
  shares: { type: 'string' },
  disable: { type: 'boolean' },
  name: { type: 'string' },
  force: { type: 'boolean' },
  prefault: { type: 'boolean' },
  to: { type: 'string' },
  'token-file': { type: 'string' },
  'max-downtime': { type: 'string' },
  'copy-storage': { type: 'boolean' },
  cancel: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
type Opt = keyof typeof OPTIONS;
const GLOBAL: Opt[] = ['connect', 'token', 'state-dir', 'help'];

/** Per verb: its positional arguments and the options it takes. */
const VERBS: Record<string, { args: string[]; opts: Opt[] }> = {
  define: { args: ['FILE'], opts: [] },
  undefine: { args: ['NAME'], opts: [] },
  list: { args: [], opts: ['all', 'json'] },
  info: { args: ['NAME'], opts: ['json'] },
  start: { args: ['NAME'], opts: ['paused', 'force', 'prefault'] },
  save: { args: ['NAME', 'FILE'], opts: [] },
  restore: { args: ['FILE'], opts: ['name', 'paused', 'force', 'prefault'] },
  pause: { args: ['NAME'], opts: [] },
  resume: { args: ['NAME'], opts: [] },
  shutdown: { args: ['NAME'], opts: ['timeout'] },
  destroy: { args: ['NAME'], opts: [] },
  reboot: { args: ['NAME'], opts: [] },
  reset: { args: ['NAME'], opts: [] },
  console: { args: ['NAME'], opts: ['linger'] },
  stats: { args: ['NAME'], opts: ['json'] },
  nodeinfo: { args: [], opts: ['json'] },
  schedinfo: { args: ['NAME'], opts: ['weight', 'cap'] },
  memtune: { args: ['NAME'], opts: ['reservation', 'limit', 'shares', 'json'] },
  autostart: { args: ['NAME'], opts: ['disable'] },
  clone: { args: ['NAME', 'NEW'], opts: ['paused', 'json'] },
  migrate: { args: ['NAME'], opts: ['to', 'token-file', 'max-downtime', 'copy-storage', 'cancel', 'json'] },
  'snapshot create': { args: ['NAME', 'SNAP'], opts: [] },
  'snapshot list': { args: ['NAME'], opts: ['json'] },
  'snapshot revert': { args: ['NAME', 'SNAP'], opts: ['paused'] },
  'snapshot delete': { args: ['NAME', 'SNAP'], opts: [] },
};

function usage(message: string): never {
  throw new RvisorError('USAGE', `${message}\n${VM_USAGE}`);
}

function parse(args: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    usage((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { values, positionals } = parsed;
  let [verb, ...rest] = positionals;
  if (values.help) return { help: true as const };
  if (verb === 'snapshot' && rest.length) [verb, rest] = [`snapshot ${rest[0]}`, rest.slice(1)];
  if (verb === undefined) usage('a verb is needed');
  const spec = VERBS[verb];
  if (!spec) usage(`unknown verb "${verb}"`);
  for (const k of Object.keys(values) as Opt[]) {
    if (!GLOBAL.includes(k) && !spec.opts.includes(k)) usage(`"vm ${verb}" does not take --${k}`);
  }
  if (rest.length !== spec.args.length) usage(`"vm ${verb}" takes ${spec.args.length ? spec.args.join(' ') : 'no arguments'}`);
  return { help: false as const, verb, arg: rest[0], arg2: rest[1], values };
}

function number(text: string, what: string, min: number, max: number, integer = true): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new RvisorError('USAGE', `--${what} ${text}: expected ${integer ? 'an integer' : 'a number'} ${min}..${max}`);
  }
  return n;
}

/** Reads a definition file ("-": standard input); relative file paths in it are taken from the
 *  file's folder (stdin: the working directory), since the host (another process, maybe another
 *  working directory) needs absolute ones. */
export function readDefinition(file: string): VmDefinitionInput {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RvisorError('ENOENT_FILE', `${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
  let def: unknown;
  try {
    def = JSON.parse(text);
  } catch (e) {
    throw new RvisorError('BAD_DEFINITION', `${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof def !== 'object' || def === null || Array.isArray(def)) throw new RvisorError('BAD_DEFINITION', `${file}: a definition is a JSON object`);
  const base = file === '-' ? process.cwd() : dirname(resolve(file));
  const abs = (p: unknown) => (typeof p === 'string' && p !== '' && !isAbsolute(p) ? resolve(base, p) : p);
  const d = { ...def } as Record<string, unknown>;
  for (const k of ['kernel', 'initrd', 'bios']) if (k in d) d[k] = abs(d[k]);
  if (Array.isArray(d.disks)) d.disks = d.disks.map((x: unknown) => (typeof x === 'object' && x !== null && 'path' in x ? { ...x, path: abs((x as { path: unknown }).path) } : x));
  return d as unknown as VmDefinitionInput;
}

/** The table of `virsh list`: Id (the run's id while running or paused, "-" otherwise), Name, State. */
export function formatList(vms: VmInfo[]): string {
  const rows = vms.map((v) => [v.id === null ? '-' : String(v.id), v.name, v.state]);
  const w = [2, 4].map((min, i) => Math.max(min, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => ` ${r[0]!.padEnd(w[0]!)}   ${r[1]!.padEnd(w[1]!)}   ${r[2]}`.trimEnd();
  const head = line(['Id', 'Name', 'State']);
  return [head, '-'.repeat(Math.max(head.length + 4, 24)), ...rows.map(line)].join('\n') + '\n';
}

function field(label: string, value: string): string {
  return `${(label + ':').padEnd(15)} ${value}\n`;
}

export function formatInfo(v: VmInfo): string {
  const d = v.definition;
  return field('Name', v.name) + field('State', `${v.state} (${v.reason})`) + field('Since', v.since) +
    field('vCPUs', String(d.vcpus)) + field('Memory', d.memory) + field('Kernel', d.kernel ?? '-') +
    field('Initrd', d.initrd ?? '-') + field('Append', d.append) + field('BIOS', d.bios ?? '- (the VMM is the SBI)') +
    (d.disks.length ? d.disks.map((x, i) => field(i === 0 ? 'Disks' : '', `${x.path}${x.format ? ` (${x.format})` : ''}${x.readonly ? ' (read-only)' : ''}`)).join('') : field('Disks', '-')) +
    field('Weight', String(d.weight)) + field('Cap', d.cap ? `${d.cap}%` : '0 (none)') + field('Autostart', d.autostart ? 'enable' : 'disable') +
    (d.jit !== undefined || d.jitThreshold !== undefined
      ? field('JIT', `${d.jit ?? 'host default'}${d.jitThreshold !== undefined ? `, threshold ${d.jitThreshold}` : ''}`) : '');
}

/** `snapshot list`: one row per checkpoint, oldest first, with its parent; * marks the current one. */
export function formatCheckpoints(list: CheckpointInfo[]): string {
  const rows = list.map((c) => [`${c.name}${c.current ? ' *' : ''}`, c.parent ?? '-', c.state, c.created]);
  const w = [4, 6, 7].map((min, i) => Math.max(min, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => ` ${r[0]!.padEnd(w[0]!)}   ${r[1]!.padEnd(w[1]!)}   ${r[2]!.padEnd(w[2]!)}   ${r[3]}`.trimEnd();
  const head = line(['Name', 'Parent', 'State', 'Created']);
  return [head, '-'.repeat(head.length + 4), ...rows.map(line)].join('\n') + '\n';
}

const secs = (ns: number) => `${(ns / 1e9).toFixed(3)} s`;
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

export function formatNodeinfo(h: HostStats): string {
  const m = h.memory;
  return field('pCPUs', String(h.pcpus)) +
    field('VMs', `${h.vms.total} defined, ${h.vms.running} running, ${h.vms.paused} paused, ${h.vms.crashed} crashed`) +
    field('Host memory', `${mib(m.hostMemBytes)} for guests, ${mib(m.reservedBytes)} reserved, ${mib(m.heldBytes)} held`) +
    field('Guest memory', `${mib(m.presentBytes)} present (${mib(m.sharedBytes)} shared), ${mib(m.zeroBytes)} zero, ` +
      `${mib(m.balloonedBytes)} ballooned, ${mib(m.swappedBytes)} swapped`) +
    field('Page sharing', `${m.sharing.stableFrames} frames shared by ${m.sharing.stablePages} pages, ${m.sharing.scannedPages} pages scanned ` +
      `(rate ${m.sharing.rateLimitPagesPerSec}/s)`) +
    field('Arenas', h.arenas.map((a) => `#${a.index} ${a.vms} VMs ${mib(a.framesInUse * 4096)} in use`).join(', ') || '-') +
    field('RSS', mib(h.rssBytes));
}

export function formatStats(s: VmStats): string {
  const m = s.memory;
  const stat = (k: string) => (m.balloon?.stats[k] === undefined ? '-' : mib(m.balloon.stats[k]!));
  return field('Name', s.name) + field('State', s.state) + field('CPU time', secs(s.cpuTimeNs)) +
    field('Instructions', String(s.instructions)) + field('Steal time', secs(s.stealNs)) +
    field('Memory', `${mib(m.nominalBytes)} defined, ${mib(m.presentBytes)} present (${mib(m.sharedBytes)} shared), ` +
      `${mib(m.zeroBytes)} zero, ${mib(m.balloonedBytes)} ballooned, ${mib(m.swappedBytes)} swapped`) +
    field('Memory controls', `reservation ${mib(m.reservationBytes)}, limit ${m.limitBytes === null ? 'none' : mib(m.limitBytes)}, shares ${m.shares}` +
      `${m.targetBytes === null ? '' : `, target ${mib(m.targetBytes)}`}${m.activeFraction === null ? '' : `, active ${Math.round(m.activeFraction * 100)}%`}`) +
    field('Swap', `${m.swapOuts} pages out, ${m.swapIns} in`) +
    (m.balloon ? field('Balloon', `target ${mib(m.balloon.targetBytes)}, actual ${mib(m.balloon.actualBytes)}; guest free ${stat('free_memory')}, ` +
      `available ${stat('available_memory')}, caches ${stat('disk_caches')}, total ${stat('total_memory')}`) : '') +
    field('Last pCPU', s.lastPcpu === null ? '-' : String(s.lastPcpu)) +
    s.vcpus.map((c) => field(`vCPU ${c.id}`, `cpu ${secs(c.cpuTimeNs)}, ${c.instructions} instructions, steal ${secs(c.stealNs)}`)).join('');
}

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

/** Reports a lifecycle verb by the state the VM ended in: the one asked for, or an error naming
 *  the state and its reason (e.g. a guest that crashed instead of powering off). */
function say(v: VmInfo, want: VmState[], done: string): void {
  if (!want.includes(v.state)) throw new RvisorError('VM_STATE', `VM ${v.name} is ${v.state} (${v.reason}), not ${want.join(' or ')}`);
  process.stdout.write(`VM ${v.name} ${done}\n`);
}

export async function vmCommand(args: string[]): Promise<number> {
  const p = parse(args);
  if (p.help) {
    process.stdout.write(VM_USAGE + '\n');
    return 0;
  }
  const { verb, values } = p;
  const arg = p.arg!;
  // Check what can be checked before connecting.
  const def = verb === 'define' ? readDefinition(arg) : undefined;
  const timeoutMs = values.timeout === undefined ? undefined : Math.round(number(values.timeout, 'timeout', 0, 3600, false) * 1000);
  const linger = values.linger === undefined ? 1 : number(values.linger, 'linger', 0, 3600, false);
  const sched = {
    ...(values.weight === undefined ? {} : { weight: number(values.weight, 'weight', 1, 65535) }),
    ...(values.cap === undefined ? {} : { cap: number(values.cap, 'cap', 0, 800) }),
  };
  const tune = {
    ...(values.reservation === undefined ? {} : { reservation: values.reservation }),
    ...(values.limit === undefined ? {} : { limit: values.limit === 'none' ? null : values.limit }),
    ...(values.shares === undefined ? {} : { shares: number(values.shares, 'shares', 1, 10000000) }),
  };

  const host = await connect(values.connect, { token: values.token, stateDir: values['state-dir'] });
  const out = (s: string) => process.stdout.write(s);
  try {
    switch (verb) {
      case 'define': { const v = await host.define(def!); out(`VM ${v.name} defined from ${arg === '-' ? 'standard input' : arg}\n`); break; }
      case 'undefine': await host.undefine(arg); out(`VM ${arg} undefined\n`); break;
      case 'list': {
        const vms = (await host.list()).filter((v) => values.all || v.state === 'running' || v.state === 'paused');
        out(values.json ? json(vms) : formatList(vms));
        break;
      }
      case 'info': { const v = await host.info(arg); out(values.json ? json(v) : formatInfo(v)); break; }
      case 'start': {
        const v = await host.start(arg, { paused: values.paused === true, ...(values.force ? { force: true } : {}), ...(values.prefault ? { prefault: true } : {}) });
        const restored = v.reason.startsWith('restored');
        say(v, values.paused ? ['paused'] : ['running'], `${restored ? 'resumed from its managed save' : 'started'}${values.paused ? ' (paused)' : ''}`);
        break;
      }
      case 'save': {
        const file = resolve(p.arg2!);
        const r = await host.save(arg, file);
        out(`VM ${arg} saved to ${r.file} (${(r.bytes / 1048576).toFixed(1)} MiB, ${r.pagesStored} of ${r.pagesPresent} present pages stored, ${Math.round(r.durationMs)} ms)\n`);
        break;
      }
      case 'restore': {
        const v = await host.restore(resolve(arg), {
          ...(values.name !== undefined ? { name: values.name } : {}), ...(values.paused ? { paused: true } : {}), ...(values.force ? { force: true } : {}),
          ...(values.prefault ? { prefault: true } : {}),
        });
        say(v, values.paused ? ['paused'] : ['running'], `restored from ${arg}${values.paused ? ' (paused)' : ''}`);
        break;
      }
      case 'clone': {
        const c = await host.clone(arg, p.arg2!, values.paused ? { paused: true } : {});
        out(values.json ? json(c) : `VM ${c.vm.name} cloned from ${arg} (${c.vm.state}; ${c.pagesShared} pages shared copy-on-write; ${arg} paused ${c.pausedMs.toFixed(1)} ms)\n`);
        break;
      }
      case 'migrate': {
        if (values.cancel) {
          await host.migrateCancel(arg);
          out(`Migration of VM ${arg} cancelled (it runs on here)\n`);
          break;
        }
        if (values.to === undefined) usage('migrate needs --to URL (or --cancel)');
        let token: string | undefined;
        if (values['token-file'] !== undefined) {
          try {
            token = readFileSync(values['token-file'], 'utf8').trim();
          } catch (e) {
            throw new RvisorError('ENOENT_FILE', `--token-file ${values['token-file']}: ${(e as Error).message}`);
          }
        }
        const maxDowntimeMs = values['max-downtime'] === undefined ? undefined : number(values['max-downtime'], 'max-downtime', 1, 600000);
        const r = await migrateWithProgress(host, arg, {
          to: values.to, ...(token !== undefined ? { token } : {}), ...(maxDowntimeMs !== undefined ? { maxDowntimeMs } : {}),
          ...(values['copy-storage'] ? { copyStorage: true } : {}),
        });
        out(values.json ? json(r) : `VM ${arg} migrated to ${r.to} in ${(r.totalMs / 1000).toFixed(2)} s: ${r.rounds} round${r.rounds === 1 ? '' : 's'}, ${r.pagesSent} pages sent `
          + `(${(r.bytesSent / 1048576).toFixed(1)} MiB), downtime ${r.downtimeMs.toFixed(1)} ms${r.throttlePct ? `, throttled up to ${r.throttlePct}%` : ''}\n`);
        break;
      }
      case 'pause': say(await host.pause(arg), ['paused'], 'paused'); break;
      case 'resume': say(await host.resume(arg), ['running'], 'resumed'); break;
      case 'shutdown': say(await host.shutdown(arg, timeoutMs === undefined ? {} : { timeoutMs }), ['shutoff'], 'shut down'); break;
      case 'destroy': say(await host.destroy(arg), ['shutoff'], 'destroyed'); break;
      case 'reboot': say(await host.reboot(arg), ['running', 'paused'], 'rebooted'); break;
      case 'reset': say(await host.reset(arg), ['running', 'paused'], 'reset'); break;
      case 'stats': { const s = await host.stats(arg); out(values.json ? json(s) : formatStats(s)); break; }
      case 'nodeinfo': { const h = await host.hostStats(); out(values.json ? json(h) : formatNodeinfo(h)); break; }
      case 'schedinfo': {
        const s = Object.keys(sched).length ? await host.setSchedinfo(arg, sched) : await host.schedinfo(arg);
        out(`weight : ${s.weight}\ncap    : ${s.cap}\n`);
        break;
      }
      case 'memtune': {
        const t = await host.memtune(arg, tune);
        out(values.json ? json(t) : `reservation : ${t.reservation}\nlimit       : ${t.limit ?? 'none'}\nshares      : ${t.shares}\n`);
        break;
      }
      case 'autostart': {
        const on = values.disable !== true;
        await host.setAutostart(arg, on);
        out(`VM ${arg} ${on ? 'marked' : 'unmarked'} as autostarted\n`);
        break;
      }
      case 'snapshot create': { const c = await host.snapshotCreate(arg, p.arg2!); out(`Snapshot ${c.name} of VM ${arg} created (${c.state === 'shutoff' ? 'disks only' : c.state}${c.parent ? `, parent ${c.parent}` : ''})\n`); break; }
      case 'snapshot list': { const l = await host.snapshotList(arg); out(values.json ? json(l) : formatCheckpoints(l)); break; }
      case 'snapshot revert': {
        const v = await host.snapshotRevert(arg, p.arg2!, values.paused ? { paused: true } : {});
        out(`VM ${arg} reverted to snapshot ${p.arg2!} (${v.state})\n`);
        break;
      }
      case 'snapshot delete': await host.snapshotDelete(arg, p.arg2!); out(`Snapshot ${p.arg2!} of VM ${arg} deleted\n`); break;
      case 'console': return await consoleSession(host, arg, linger);
    }
    return 0;
  } finally {
    await host.close();
  }
}

/** Attaches this terminal (or these pipes) to the VM's console until the user detaches (Ctrl-]),
 *  stdin has ended and the guest has been quiet for `lingerS`, or the VM stops. */
async function consoleSession(host: RemoteHostApi, name: string, lingerS: number): Promise<number> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const interactive = Boolean(stdin.isTTY);
  let quietTimer: NodeJS.Timeout | undefined;
  let stdinEnded = false;
  let finish!: () => void;
  const done = new Promise<void>((r) => { finish = r; });
  const armQuiet = () => {
    if (!stdinEnded) return;
    if (quietTimer) clearTimeout(quietTimer);
    quietTimer = setTimeout(finish, lingerS * 1000);
  };
  // Whoever reads our output went away (e.g. `| head`): detach quietly, as SIGPIPE would end a tool.
  let outputGone = false;
  const onOutError = () => { outputGone = true; finish(); };
  stdout.on('error', onOutError);
  const con = await host.attachConsole(name, (bytes) => { if (!outputGone) stdout.write(bytes); armQuiet(); });
  if (interactive) process.stderr.write(`Connected to VM ${name} (detach with Ctrl-])\r\n`);
  stdout.write(con.scrollback);

  const onData = (chunk: Buffer) => {
    if (interactive) {
      const i = chunk.indexOf(CTRL_RIGHT_BRACKET);
      if (i >= 0) {
        if (i > 0) con.write(chunk.subarray(0, i));
        finish();
        return;
      }
    }
    con.write(chunk);
  };
  const onEnd = () => { stdinEnded = true; armQuiet(); };
  if (interactive) stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.on('error', onEnd);
  stdin.resume();

  let stopped: { code: number; reason: string } | undefined;
  void con.closed.then((c) => { stopped = c; finish(); });
  await done;

  if (quietTimer) clearTimeout(quietTimer);
  stdout.off('error', onOutError);
  if (outputGone) stdout.on('error', () => {});
  stdin.off('data', onData);
  stdin.off('end', onEnd);
  if (interactive) stdin.setRawMode(false);
  stdin.pause();
  if (!stdinEnded && !interactive) stdin.destroy();
  if (stopped === undefined) con.detach();
  if (interactive) process.stderr.write('\r\n');
  if (stopped !== undefined && stopped.code !== 1000) {
    throw new RvisorError('HOST_UNREACHABLE', `the console of ${name} was closed by the host (${stopped.code}${stopped.reason ? `: ${stopped.reason}` : ''})`);
  }
  if (stopped !== undefined && interactive) process.stderr.write(`rvisor: ${stopped.reason || `VM ${name} stopped`}\n`);
  return 0;
}
