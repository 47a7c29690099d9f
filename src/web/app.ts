// The web console (`rvisor serve` at /ui): a browser page that speaks only the host's REST API —
// the VMs and their states, the lifecycle verbs, and each VM's serial console in a terminal
// (xterm.js, served by the host at /ui/xterm.js) over the console WebSocket. On the TCP listener
// the API's bearer token is asked for once and kept in this tab's sessionStorage; REST calls
// send it as `Authorization: Bearer`, the WebSocket (whose browser API cannot set headers) offers
// it as the subprotocol `rvisor.bearer.<token>` beside `rvisor.console`.
import type { Terminal as XTerm } from '@xterm/xterm';

declare const Terminal: typeof import('@xterm/xterm').Terminal;

interface VmInfo {
  name: string;
  state: 'shutoff' | 'running' | 'paused' | 'crashed';
  reason?: string;
  definition: { vcpus: number; memory: string; disks: { path: string; format?: string }[] };
}

const TOKEN_KEY = 'rvisor.token';
let token = sessionStorage.getItem(TOKEN_KEY) ?? '';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

class AuthNeeded extends Error {}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (r.status === 401) throw new AuthNeeded('the API needs its bearer token');
  const data = r.status === 204 ? null : await r.json();
  if (!r.ok) throw new Error(data?.error ? `${data.error.code}: ${data.error.message}` : `${r.status} ${r.statusText}`);
  return data as T;
}

function status(text: string, error = false): void {
  const s = $('status');
  s.textContent = text;
  s.className = error ? 'error' : '';
}

const ACTIONS: Record<VmInfo['state'], [string, string][]> = {
  running: [['console', 'Console'], ['pause', 'Pause'], ['shutdown', 'Shut down'], ['reboot', 'Reboot'], ['destroy', 'Force off']],
  paused: [['console', 'Console'], ['resume', 'Resume'], ['destroy', 'Force off']],
  shutoff: [['start', 'Start']],
  crashed: [['start', 'Start'], ['destroy', 'Clear']],
};

async function refresh(): Promise<void> {
  let vms: VmInfo[];
  try {
    vms = await api<VmInfo[]>('GET', '/vms');
  } catch (e) {
    if (e instanceof AuthNeeded) askToken();
    else status(`cannot list VMs: ${(e as Error).message}`, true);
    return;
  }
  $('login').hidden = true;
  const body = $<HTMLTableSectionElement>('vms');
  body.replaceChildren(...vms.map((vm) => {
    const tr = document.createElement('tr');
    const cell = (text: string, cls = '') => {
      const td = document.createElement('td');
      td.textContent = text;
      td.className = cls;
      tr.append(td);
      return td;
    };
    cell(vm.name);
    cell(vm.reason ? `${vm.state} (${vm.reason})` : vm.state, `state ${vm.state}`);
    cell(String(vm.definition.vcpus));
    cell(vm.definition.memory);
    cell(vm.definition.disks.map((d) => d.path.split('/').pop()).join(', ') || '-');
    const actions = cell('');
    for (const [verb, label] of ACTIONS[vm.state]) {
      const b = document.createElement('button');
      b.textContent = label;
      b.onclick = () => void act(vm.name, verb);
      actions.append(b);
    }
    return tr;
  }));
  if (!vms.length) status('no VM is defined (rvisor vm define FILE)');
}

async function act(name: string, verb: string): Promise<void> {
  if (verb === 'console') {
    openConsole(name);
    return;
  }
  if (verb === 'destroy' && !confirm(`Force ${name} off? The guest gets no chance to shut down.`)) return;
  status(`${verb} ${name}…`);
  try {
    await api('POST', `/vms/${encodeURIComponent(name)}/${verb}`, verb === 'start' || verb === 'shutdown' ? {} : undefined);
    status(`${verb} ${name}: done`);
  } catch (e) {
    status(`${verb} ${name}: ${(e as Error).message}`, true);
  }
  await refresh();
}

let open: { ws: WebSocket; term: XTerm } | undefined;

function openConsole(name: string): void {
  open?.ws.close();
  open?.term.dispose();
  $('console-title').textContent = `Console: ${name}`;
  $('console').hidden = false;
  const term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 14, scrollback: 5000 });
  term.open($('terminal'));
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/vms/${encodeURIComponent(name)}/console`;
  const ws = new WebSocket(url, token ? ['rvisor.console', `rvisor.bearer.${token}`] : ['rvisor.console']);
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (m) => term.write(typeof m.data === 'string' ? m.data : new Uint8Array(m.data as ArrayBuffer));
  ws.onclose = (c) => term.write(`\r\n\x1b[33m[console closed${c.reason ? `: ${c.reason}` : ''}]\x1b[0m\r\n`);
  term.onData((d) => { if (ws.readyState === WebSocket.OPEN) ws.send(d); });
  term.focus();
  open = { ws, term };
}

function askToken(): void {
  $('login').hidden = false;
  status('this listener needs the host\'s bearer token (the file `token` in its state dir)', true);
}

$<HTMLFormElement>('login').onsubmit = (ev) => {
  ev.preventDefault();
  token = $<HTMLInputElement>('token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  void refresh();
};
$('close-console').onclick = () => {
  open?.ws.close();
  open?.term.dispose();
  open = undefined;
  $('console').hidden = true;
};

void refresh();
setInterval(() => void refresh(), 3000);
