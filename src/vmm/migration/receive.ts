// The destination side of a live migration (protocol.ts): builds the incoming VM in this host
// while the source streams it, and runs it only on `commit`. Anything else — a refusal, a
// malformed message, `cancel`, a socket that closes — frees what was built and undefines the VM,
// so the destination keeps nothing half-made.
import { closeSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { RvisorError } from '../../errors.js';
import { Hart } from '../../cpu/hart.js';
import { HART_P2M } from '../../cpu/layout.js';
import { GuestRam } from '../../machine/ram.js';
import { RAM_BASE, TIMEBASE_HZ } from '../../machine/memory-map.js';
import { normalizeDefinition } from '../definition.js';
import { parseSize } from '../size.js';
import { now } from '../dispatcher.js';
import type { Arena } from '../arenas.js';
import type { PreparedMachine } from '../clone.js';
import type { VmDefinition, VmInfo } from '../types.js';
import { decodeData, MIGRATION_VERSION, type DestinationMessage, type SourceMessage } from './protocol.js';

const PAGE = 4096;

/** What the receiver needs of the host (host.ts hands these in). */
export interface ReceiveHost<V> {
  vmsDir: string;
  exists(name: string): boolean;
  define(def: VmDefinition): V;
  undefine(name: string): void;
  place(memBytes: number, vcpus: number): Arena;
  release(a: Arena, memBytes: number, vcpus: number): void;
  /** Runs the VM from the machine (host.ts launch; it owns the machine from then on). */
  launch(vm: V, paused: boolean, machine: PreparedMachine): Promise<VmInfo>;
}

interface Incoming<V> {
  name: string;
  vm: V;
  memBytes: number;
  vcpus: number;
  paused: boolean;
  arena: Arena;
  ram: GuestRam;
  harts: number[];
  disks: { fd: number; size: number }[];
  machine?: PreparedMachine;
}

export function receiveMigration<V>(h: ReceiveHost<V>, ws: WebSocket): void {
  let inc: Incoming<V> | undefined;
  let defined: string | undefined;
  let handedOver = false;
  let over = false;
  const reply = (m: DestinationMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
  };
  const cleanup = () => {
    if (handedOver) return;
    if (inc) {
      for (const d of inc.disks) try { closeSync(d.fd); } catch { /* closed */ }
      inc.ram.free();
      for (const b of inc.harts) inc.arena.host.freeHart(b);
      h.release(inc.arena, inc.memBytes, inc.vcpus);
      inc = undefined;
    }
    if (defined !== undefined) {
      try { h.undefine(defined); } catch { /* gone */ }
      defined = undefined;
    }
  };
  const fail = (e: unknown) => {
    if (over) return;
    over = true;
    const code = e instanceof RvisorError ? e.code : 'MIGRATION_FAILED';
    reply({ t: 'error', code, message: (e as Error).message ?? String(e) });
    cleanup();
    ws.close(1000, 'migration refused');
  };

  const begin = (m: Extract<SourceMessage, { t: 'begin' }>) => {
    if (m.version !== MIGRATION_VERSION) throw new RvisorError('MIGRATION_FAILED', `the source speaks migration protocol ${m.version}, this host ${MIGRATION_VERSION}`);
    let def = normalizeDefinition(m.definition);
    if (h.exists(def.name)) throw new RvisorError('VM_EXISTS', `a VM named ${def.name} is already defined on the destination`);
    const memBytes = parseSize(def.memory, 'memory');
    if (memBytes !== m.memBytes) throw new RvisorError('BAD_REQUEST', 'the definition\'s memory and the stream\'s differ');
    const disks: { fd: number; size: number }[] = [];
    if (m.copyDisks) {
      if (m.copyDisks.length !== def.disks.length) throw new RvisorError('BAD_REQUEST', 'copied disks do not match the definition');
      // --copy-storage: the disks arrive into files of the VM's own folder.
      const dir = join(h.vmsDir, def.name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      defined = def.name; // the folder is removed on failure like a defined VM's
      def = { ...def, disks: def.disks.map((d, i) => ({ ...d, path: join(dir, `disk-${i}.img`) })) };
      m.copyDisks.forEach((size, i) => {
        if (!Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0) throw new RvisorError('BAD_REQUEST', `disk ${i}: bad size ${size}`);
        const fd = openSync(def.disks[i]!.path, 'w', 0o600);
        disks.push({ fd, size });
        ftruncateSync(fd, size);
      });
    }
    let vm: V;
    try {
      vm = h.define(def);
    } catch (e) {
      if (m.copyDisks) rmSync(join(h.vmsDir, def.name), { recursive: true, force: true });
      defined = undefined;
      for (const d of disks) closeSync(d.fd);
      throw e;
    }
    defined = def.name;
    const arena = h.place(memBytes, def.vcpus);
    inc = { name: def.name, vm, memBytes, vcpus: def.vcpus, paused: m.paused, arena, ram: new GuestRam(arena.host, RAM_BASE, memBytes), harts: [], disks };
    reply({ t: 'ready' });
  };

  const data = (buf: Uint8Array) => {
    if (!inc) throw new RvisorError('BAD_REQUEST', 'data before begin');
    const d = decodeData(buf, inc.ram.pages);
    const host = inc.arena.host;
    if (d.kind === 'pages') {
      d.pages.forEach((p, i) => {
        const at = inc!.ram.frame(p, true); // first: it may grow the memory (and renew host.bytes)
        host.bytes.set(d.data.subarray(i * PAGE, (i + 1) * PAGE), at);
      });
    } else if (d.kind === 'zero') {
      for (const p of d.pages) {
        const f = host.view.getUint32(inc.ram.p2m + p * 4, true);
        if (f !== 0) { const at = inc.ram.frame(p, true); host.bytes.fill(0, at, at + PAGE); }
      }
    } else {
      const disk = inc.disks[d.disk];
      if (!disk || d.offset + d.data.length > disk.size) throw new RvisorError('BAD_REQUEST', `disk chunk outside disk ${d.disk}`);
      let done = 0;
      while (done < d.data.length) done += writeSync(disk.fd, d.data, done, d.data.length - done, d.offset + done);
    }
  };

  const state = (m: Extract<SourceMessage, { t: 'state' }>) => {
    if (!inc) throw new RvisorError('BAD_REQUEST', 'state before begin');
    if (!Array.isArray(m.harts) || m.harts.length !== inc.vcpus || m.board?.version !== 1 || m.board.harts?.length !== inc.vcpus) {
      throw new RvisorError('BAD_REQUEST', 'the machine state does not fit the definition');
    }
    const host = inc.arena.host;
    for (const s of m.harts) {
      const base = host.allocHart();
      inc.harts.push(base);
      const hart = new Hart(host, base);
      hart.restore(s.state);
      hart.setField(HART_P2M, BigInt(inc.ram.p2m));
    }
    for (const d of inc.disks) closeSync(d.fd); // complete: the VM opens them itself
    inc.disks = [];
    // The guest's clock goes on from where it stopped, plus the wall time the switch took.
    const gap = BigInt(Date.now()) * 1000000n - BigInt(m.wallNs);
    const ticks = BigInt(m.ticks) + (gap > 0n ? (gap * BigInt(TIMEBASE_HZ)) / 1000000000n : 0n);
    inc.machine = {
      arena: inc.arena, reason: 'migrated',
      board: {
        ...m.board, harts: m.board.harts.map((x, i) => ({ base: inc!.harts[i]!, run: x.run })), ram: inc.ram.save(),
        clock: { ticks: ticks.toString(), running: true, atMs: now() }, // keeps host time, paused or not
      },
    };
    reply({ t: 'built' });
  };

  const commit = async () => {
    if (!inc?.machine) throw new RvisorError('BAD_REQUEST', 'commit before the machine state');
    handedOver = true; // launch owns the machine and the arena room now, also if it fails
    const { vm, machine, paused } = inc;
    inc = undefined;
    try {
      const info = await h.launch(vm, paused, machine);
      defined = undefined;
      over = true;
      reply({ t: 'done', vm: info });
      ws.close(1000, 'migrated');
    } catch (e) {
      handedOver = false; // the VM stays defined but did not run: undefine it
      fail(e);
    }
  };

  ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (over) return;
    try {
      const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
      if (isBinary) return data(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
      const m = JSON.parse(buf.toString('utf8')) as SourceMessage;
      switch (m.t) {
        case 'begin': if (inc || defined) throw new RvisorError('BAD_REQUEST', 'a second begin'); return begin(m);
        case 'state': return state(m);
        case 'commit': void commit(); return;
        case 'cancel': over = true; cleanup(); ws.close(1000, 'cancelled'); return;
        default: throw new RvisorError('BAD_REQUEST', `unknown message ${JSON.stringify((m as { t: unknown }).t)}`);
      }
    } catch (e) {
      fail(e);
    }
  });
  ws.on('close', () => {
    if (!handedOver) cleanup();
    over = true;
  });
  ws.on('error', () => ws.terminate());
}
