// The host's network for guest sockets. Node has no synchronous socket API and the main thread's
// event loop does not run while the scheduler runs guest code, so one worker thread owns every
// host socket (net servers and sockets, dgram sockets) and talks to the main side in messages:
// commands go to the worker with postMessage; the worker answers and reports events (a
// connection, data, end, an error, bytes written) on a MessageChannel port that the main side
// reads synchronously with receiveMessageOnPort, and after each message it bumps the shared host
// event word (host-input.ts), so the scheduler wakes threads waiting to retry a call and, when
// every guest thread is blocked, sleeps until the network has something.
//
// A request that needs its answer at once (bind a port, make a socket file) waits for the
// worker's reply with Atomics.wait on that word (bounded); everything else is asynchronous: the
// guest's call blocks in the scheduler until the event arrives. Received data is held on the
// main side; the worker pauses a TCP socket while more than READ_AHEAD bytes are unacknowledged.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ERRNO } from './errno.js';
import { addHostEventSource, hostEventWord } from './host-input.js';
import { hostTool } from './host-tools.js';
import { RAW_PROXY } from './raw-proxy.js';

export interface Endpoint {
  address: string;
  port: number;
  family: string;
}

/** An event from the worker about socket `id`. */
export type NetEvent =
  | { ev: 'conn'; id: number; cid: number; local: Endpoint; remote: Endpoint }
  | { ev: 'connected'; id: number; local: Endpoint; remote: Endpoint }
  | { ev: 'data'; id: number; data: Uint8Array }
  | { ev: 'dgram'; id: number; data: Uint8Array; from: Endpoint }
  | { ev: 'end'; id: number }
  | { ev: 'error'; id: number; code: string }
  | { ev: 'written'; id: number; n: number }
  | { ev: 'closed'; id: number }
  | { ev: 'raw'; id: number; data: Uint8Array; from: Uint8Array };

export const READ_AHEAD = 262144;

/** Socket options the worker applies to a host socket (inet-socket.ts hostOptions): TCP
 *  nodelay and keepalive (idle seconds); a UDP socket's TTL/hop limit, multicast TTL and loop. */
export interface HostOptions {
  nodelay: boolean;
  keepalive: boolean;
  keepidle: number;
  ttl: number;
  mcastTtl: number;
  mcastLoop: boolean;
}

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const net = require('node:net');
const dgram = require('node:dgram');
const fs = require('node:fs');
const path = require('node:path');
const cp = require('node:child_process');
const os = require('node:os');
const { port, evBuf, readAhead, perl, rawProxy } = workerData;
const ev = new Int32Array(evBuf);
const socks = new Map();
let nextCid = 1000000000;
function post(m, transfer) { port.postMessage(m, transfer); Atomics.add(ev, 0, 1); Atomics.notify(ev, 0); }
function ep(a, p, f) { return { address: a || '', port: p || 0, family: f || '' }; }
function code(e) { return (e && e.code) || 'EIO'; }
function applyOpts(st, o) {
  if (!st || !o) return;
  try {
    if (st.s) { st.s.setNoDelay(!!o.nodelay); st.s.setKeepAlive(!!o.keepalive, o.keepalive ? o.keepidle * 1000 : 0); }
    if (st.u) { st.u.setTTL(o.ttl); st.u.setMulticastTTL(o.mcastTtl); st.u.setMulticastLoopback(!!o.mcastLoop); }
  } catch (e) { /* a socket already closing */ }
}
function wire(id, s) {
  const st = { s, out: 0, paused: false };
  socks.set(id, st);
  s.on('data', (c) => {
    st.out += c.length;
    if (st.out > readAhead && !st.paused) { st.paused = true; s.pause(); }
    post({ ev: 'data', id, data: c });
  });
  s.on('end', () => post({ ev: 'end', id }));
  s.on('error', (e) => post({ ev: 'error', id, code: code(e) }));
  s.on('close', () => { socks.delete(id); post({ ev: 'closed', id }); });
  return st;
}
// Raw sockets: one perl process each (raw-proxy.ts), in length-prefixed frames.
function errName(n) { return Object.keys(os.constants.errno).find((k) => os.constants.errno[k] === n) || 'EIO'; }
function u32(n) { const b = Buffer.alloc(4); b.writeUInt32LE(n, 0); return b; }
function frame(op, body) { return Buffer.concat([Buffer.from(op, 'latin1'), u32(body.length), Buffer.from(body)]); }
function rawFrames(id, st) {
  for (;;) {
    const b = st.buf;
    if (b.length < 5) return;
    const op = String.fromCharCode(b[0]);
    if (op === 'P') {
      const la = b.readUInt32LE(1);
      if (b.length < 9 + la) return;
      const end = 9 + la + b.readUInt32LE(5 + la);
      if (b.length < end) return;
      const from = Uint8Array.prototype.slice.call(b, 5, 5 + la);
      const data = Uint8Array.prototype.slice.call(b, 9 + la, end);
      st.buf = b.subarray(end);
      post({ ev: 'raw', id, data, from });
      continue;
    }
    if (op === 'V') {
      const end = 5 + b.readUInt32LE(1);
      if (b.length < end) return;
      const value = Uint8Array.prototype.slice.call(b, 5, end);
      st.buf = b.subarray(end);
      const w = st.waiting.shift();
      if (w) post({ seq: w, err: null, value });
      continue;
    }
    const v = b.readUInt32LE(1);
    st.buf = b.subarray(5);
    if (op === 'X') post({ ev: 'error', id, code: errName(v) });
    else { const w = st.waiting.shift(); if (w) post({ seq: w, err: v ? errName(v) : null }); }
  }
}
parentPort.on('message', (m) => {
  const reply = (r) => post({ seq: m.seq, ...r });
  try {
    switch (m.op) {
      case 'mksock': {
        const tmp = path.join(path.dirname(m.path), '.rvisor-sock-' + process.pid + '-' + m.seq);
        const srv = net.createServer();
        srv.on('error', (e) => reply({ err: code(e) }));
        srv.listen(tmp, () => {
          let err = null;
          try { fs.linkSync(tmp, m.path); fs.chmodSync(m.path, m.mode); } catch (e) { err = code(e); }
          srv.close(() => reply({ err }));
        });
        break;
      }
      case 'listen': {
        const srv = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
        const st = { srv };
        socks.set(m.id, st);
        srv.on('error', (e) => { socks.delete(m.id); reply({ err: code(e) }); });
        srv.on('connection', (c) => {
          const cid = nextCid++;
          wire(cid, c);
          post({ ev: 'conn', id: m.id, cid, local: ep(c.localAddress, c.localPort, c.localFamily), remote: ep(c.remoteAddress, c.remotePort, c.remoteFamily) });
        });
        srv.listen({ host: m.host, port: m.port, backlog: m.backlog, exclusive: true, ipv6Only: m.v6only }, () => {
          const a = srv.address();
          reply({ err: null, local: ep(a.address, a.port, a.family) });
        });
        break;
      }
      case 'backlog': break;
      case 'accepted': { const st = socks.get(m.id); applyOpts(st, m.opts); if (st && st.s) st.s.resume(); break; }
      case 'connect': {
        const s = net.connect({ host: m.host, port: m.port, localAddress: m.localAddress, localPort: m.localPort, allowHalfOpen: true });
        applyOpts(wire(m.id, s), m.opts);
        s.on('connect', () => post({ ev: 'connected', id: m.id, local: ep(s.localAddress, s.localPort, s.localFamily), remote: ep(s.remoteAddress, s.remotePort, s.remoteFamily) }));
        break;
      }
      case 'write': {
        const st = socks.get(m.id);
        if (!st || !st.s) break;
        const n = m.data.length;
        st.s.write(m.data, (e) => { if (!e) post({ ev: 'written', id: m.id, n }); });
        break;
      }
      case 'ack': {
        const st = socks.get(m.id);
        if (!st || !st.s) break;
        st.out -= m.n;
        if (st.paused && st.out <= readAhead) { st.paused = false; st.s.resume(); }
        break;
      }
      case 'end': { const st = socks.get(m.id); if (st && st.s) st.s.end(); break; }
      case 'opts': applyOpts(socks.get(m.id), m.opts); break;
      case 'close': {
        const st = socks.get(m.id);
        socks.delete(m.id);
        if (!st) break;
        if (st.srv) st.srv.close();
        if (st.s) { if (m.reset && st.s.resetAndDestroy) st.s.resetAndDestroy(); else st.s.destroy(); }
        if (st.u) st.u.close();
        if (st.raw) st.raw.kill();
        break;
      }
      case 'raw-open': {
        const c = cp.spawn(perl, ['-e', rawProxy, String(m.family), String(m.proto)], { stdio: ['pipe', 'pipe', 'ignore'] });
        const st = { raw: c, buf: Buffer.alloc(0), waiting: [m.seq] };
        socks.set(m.id, st);
        const fail = () => { socks.delete(m.id); for (const w of st.waiting.splice(0)) post({ seq: w, err: 'EPERM' }); };
        c.on('error', fail);
        c.on('exit', fail);
        c.stdin.on('error', () => { /* the proxy ended: its exit reports it */ });
        c.stdout.on('data', (d) => { st.buf = st.buf.length ? Buffer.concat([st.buf, d]) : d; rawFrames(m.id, st); });
        break;
      }
      case 'raw-bind': {
        const st = socks.get(m.id);
        if (!st || !st.raw) { reply({ err: 'EBADF' }); break; }
        st.waiting.push(m.seq);
        st.raw.stdin.write(frame('B', m.addr));
        break;
      }
      case 'raw-setopt':
      case 'raw-getopt': {
        const st = socks.get(m.id);
        if (!st || !st.raw) { reply({ err: 'EBADF' }); break; }
        st.waiting.push(m.seq);
        const head = Buffer.concat([u32(m.level), u32(m.opt)]);
        st.raw.stdin.write(m.op === 'raw-setopt' ? frame('O', Buffer.concat([head, Buffer.from(m.value)])) : frame('G', head));
        break;
      }
      case 'raw-send': {
        const st = socks.get(m.id);
        if (!st || !st.raw) break;
        st.raw.stdin.write(frame('S', Buffer.concat([u32(m.addr.length), Buffer.from(m.addr), Buffer.from(m.data)])));
        break;
      }
      case 'udp-bind': {
        const u = dgram.createSocket({ type: m.type, reuseAddr: !!m.reuse, ipv6Only: !!m.v6only });
        let bound = false;
        u.on('error', (e) => { if (!bound) { u.close(); reply({ err: code(e) }); } else post({ ev: 'error', id: m.id, code: code(e) }); });
        u.on('message', (data, r) => post({ ev: 'dgram', id: m.id, data, from: ep(r.address, r.port, r.family) }));
        u.bind({ address: m.host, port: m.port, exclusive: true }, () => {
          bound = true;
          socks.set(m.id, { u });
          applyOpts(socks.get(m.id), m.opts);
          const a = u.address();
          reply({ err: null, local: ep(a.address, a.port, a.family) });
        });
        break;
      }
      case 'udp-route': {
        // The source address the host's routing picks for a destination (a UDP connect of a
        // socket bound to the wildcard address takes it, as Linux's ip4_datagram_connect).
        const t = dgram.createSocket(m.type);
        let done = false;
        const fin = (r) => { if (done) return; done = true; try { t.close(); } catch (e) { /* closed */ } reply(r); };
        t.on('error', (e) => fin({ err: code(e) }));
        t.connect(m.port || 9, m.host, (e) => {
          if (e) return fin({ err: code(e) });
          const a = t.address();
          fin({ err: null, local: ep(a.address, a.port, a.family) });
        });
        break;
      }
      case 'udp-send': {
        const st = socks.get(m.id);
        if (!st || !st.u) break;
        st.u.send(m.data, m.port, m.host, (e) => { if (e) post({ ev: 'error', id: m.id, code: code(e) }); });
        break;
      }
      default: reply({ err: 'EINVAL' });
    }
  } catch (e) {
    if (m.seq) reply({ err: code(e) });
    else post({ ev: 'error', id: m.id, code: code(e) });
  }
});
`;

interface Reply {
  seq: number;
  err: string | null;
  local?: Endpoint;
  /** raw-getopt: the option's bytes. */
  value?: Uint8Array;
}

class HostNet {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private seq = 1;
  private readonly handlers = new Map<number, (e: NetEvent) => void>();
  private readonly replies = new Map<number, Reply>();
  /** Events arrived since the scheduler last asked. */
  private arrived = false;

  constructor() {
    const ch = new MessageChannel();
    this.port = ch.port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { port: ch.port2, evBuf: hostEventWord().buffer, readAhead: READ_AHEAD, perl: hostTool('perl'), rawProxy: RAW_PROXY },
      transferList: [ch.port2],
      stdout: false,
      stderr: false,
      trackUnmanagedFds: false,
    });
    this.worker.unref();
    this.port.unref();
  }

  /** Takes every message the worker has sent; dispatches events. */
  pump(): void {
    for (;;) {
      const r = receiveMessageOnPort(this.port);
      if (!r) return;
      const m = r.message as (NetEvent & { seq?: undefined }) | Reply;
      this.arrived = true;
      if ('seq' in m && m.seq !== undefined) this.replies.set(m.seq, m as Reply);
      else this.handlers.get((m as NetEvent).id)?.(m as NetEvent);
    }
  }

  post(m: Record<string, unknown>, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(m, transfer ?? []);
  }

  /** Sends a request and waits (at most 10 s) for its reply. */
  request(m: Record<string, unknown>): Reply {
    const seq = this.seq++;
    this.post({ ...m, seq });
    const word = hostEventWord();
    const end = Date.now() + 10_000;
    for (;;) {
      const v = Atomics.load(word, 0);
      this.pump();
      const r = this.replies.get(seq);
      if (r) {
        this.replies.delete(seq);
        return r;
      }
      if (Date.now() > end) return { seq, err: 'ETIMEDOUT' };
      Atomics.wait(word, 0, v, 100);
    }
  }

  on(id: number, fn: (e: NetEvent) => void): void {
    this.handlers.set(id, fn);
  }

  off(id: number): void {
    this.handlers.delete(id);
  }

  status(): 'ready' | 'waiting' | 'none' {
    this.pump();
    if (this.arrived) {
      this.arrived = false;
      return 'ready';
    }
    return this.handlers.size > 0 ? 'waiting' : 'none';
  }

  shutdown(): void {
    void this.worker.terminate();
  }
}

let net: HostNet | null = null;

/** The network worker (started on first use). */
export function hostNet(): HostNet {
  if (!net) {
    const n = new HostNet();
    net = n;
    addHostEventSource({ status: () => n.status(), shutdown: () => n.shutdown() });
  }
  return net;
}

/** A Node error code as a negative guest errno (EIO if unknown). */
export function codeErrno(code: string | null | undefined): number {
  if (!code) return 0;
  if (code === 'EEXIST') return -ERRNO.EADDRINUSE;
  const n = (ERRNO as Record<string, number>)[code];
  return n !== undefined ? -n : -ERRNO.EIO;
}

/** Makes a socket file at host path `path` (bind of a named AF_UNIX socket): 0 or -errno
 *  (EADDRINUSE if the name exists). */
export function makeSocketFile(path: string, mode: number): number {
  const r = hostNet().request({ op: 'mksock', path, mode });
  return codeErrno(r.err);
}
