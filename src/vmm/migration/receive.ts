// The destination side of a live migration (protocol.ts): builds the incoming VM in this host
// while the source streams it, and runs it only on `commit`. Anything else — a refusal, a
// malformed message, `cancel`, a socket that closes — frees what was built and undefines the VM,
// so the destination keeps nothing half-made.
import { closeSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { RvisorError } from '../../errors.js';
import { Hart } from '../../cpu/hart.js';
import { HART_P2M, HART_RAM_BASE, HART_RAM_SIZE } from '../../cpu/layout.js';
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
/** The largest disk a migration may create here (16 TiB). */
const MAX_DISK = 2 ** 44;

/** What the receiver needs of the host (host.ts hands these in). */
export interface ReceiveHost<V> {
  vmsDir: string;
  exists(name: string): boolean;
  /** Defines the VM as *incoming*: every verb refuses it and a host restarted before the switch
   *  removes it (host.ts). */
  define(def: VmDefinition): V;
  /** Removes an incoming VM's definition and folder. */
  undefine(name: string): void;
  /** The switch happened: the VM is an ordinary VM from now on (with the autostart it had). */
  arrived(name: string, autostart: boolean): void;
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
  autostart: boolean;
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
    const autostart = def.autostart;
    def = { ...def, autostart: false }; // until the switch: a host restarted meanwhile must not boot it
    const disks: { fd: number; size: number }[] = [];
    let made: string | undefined;
    let vm: V;
    try {
      if (m.copyDisks) {
        if (!Array.isArray(m.copyDisks) || m.copyDisks.length !== def.disks.length) throw new RvisorError('BAD_REQUEST', 'copied disks do not match the definition');
        // --copy-storage: the disks arrive into files of the VM's own (new) folder.
        const dir = join(h.vmsDir, def.name);
        try {
          mkdirSync(dir, { mode: 0o700 });
        } catch {
          throw new RvisorError('VM_EXISTS', `a VM folder named ${def.name} already exists on the destination`);
        }
        made = dir;
        // The copies are raw, whatever the source's format (the guest's bytes arrive, not its image).
        def = { ...def, disks: def.disks.map((d, i) => ({ ...d, path: join(dir, `disk-${i}.img`), format: 'raw' as const })) };
        m.copyDisks.forEach((size, i) => {
          if (!Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0 || size > MAX_DISK) throw new RvisorError('BAD_REQUEST', `disk ${i}: bad size ${size}`);
          const fd = openSync(def.disks[i]!.path, 'wx', 0o600);
          disks.push({ fd, size });
          ftruncateSync(fd, size);
        });
      }
      vm = h.define(def);
    } catch (e) {
      for (const d of disks) closeSync(d.fd);
      if (made) rmSync(made, { recursive: true, force: true });
      throw e;
    }
    defined = def.name;
    const arena = h.place(memBytes, def.vcpus);
    inc = { name: def.name, vm, memBytes, vcpus: def.vcpus, paused: m.paused === true, autostart, arena, ram: new GuestRam(arena.host, RAM_BASE, memBytes), harts: [], disks };
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
    if (inc.machine) throw new RvisorError('BAD_REQUEST', 'a second machine state');
    const b = m.board;
    if (!Array.isArray(m.harts) || m.harts.length !== inc.vcpus || b?.version !== 1 || !Array.isArray(b.harts) || b.harts.length !== inc.vcpus ||
        typeof b.devices !== 'object' || b.devices === null || !Array.isArray(b.devices.virtio) || !/^\d+$/.test(String(m.ticks)) ||
        typeof m.sinceStopMs !== 'number' || !(m.sinceStopMs >= 0 && m.sinceStopMs < 600000)) {
      throw new RvisorError('BAD_REQUEST', 'the machine state does not fit the definition');
    }
    const host = inc.arena.host;
    for (const s of m.harts) {
      const base = host.allocHart();
      inc.harts.push(base);
      const hart = new Hart(host, base);
      try {
        hart.restore(s.state);
      } catch (e) {
        throw new RvisorError('BAD_REQUEST', `a hart's state is malformed (${(e as Error).message})`);
      }
      // Where its RAM is comes from this host, never from the stream.
      hart.setField(HART_P2M, BigInt(inc.ram.p2m));
      hart.setField(HART_RAM_BASE, BigInt(RAM_BASE));
      hart.setField(HART_RAM_SIZE, BigInt(inc.memBytes));
    }
    for (const d of inc.disks) closeSync(d.fd); // complete: the VM opens them itself
    inc.disks = [];
    // The guest's clock goes on from where it stopped plus the time the switch took, measured on
    // each side's own clock (the source's time from the stop to this message, then ours from now
    // on: the clock below runs from `now()`), so skew between the hosts' wall clocks does not
    // move guest time.
    const ticks = BigInt(m.ticks) + BigInt(Math.floor((m.sinceStopMs * TIMEBASE_HZ) / 1000));
    inc.machine = {
      arena: inc.arena, reason: 'migrated',
      board: {
        ...b, harts: b.harts.map((x, i) => ({ base: inc!.harts[i]!, run: x.run })), ram: inc.ram.save(),
        clock: { ticks: ticks.toString(), running: true, atMs: now() }, // keeps host time, paused or not
      },
    };
    reply({ t: 'built' });
  };

  const commit = (): void => {
    if (!inc?.machine) throw new RvisorError('BAD_REQUEST', 'commit before the machine state');
    handedOver = true; // launch owns the machine and the arena room now, also if it fails
    over = true; // nothing the source sends from here on counts
    const { vm, machine, paused, name, autostart } = inc;
    inc = undefined;
    h.arrived(name, autostart);
    h.launch(vm, paused, machine).then((info) => {
      defined = undefined;
      reply({ t: 'done', vm: info });
      ws.close(1000, 'migrated');
    }, (e: unknown) => {
      // It did not run (launch freed the machine): the VM goes again, whatever the link does.
      try { h.undefine(name); } catch { /* gone */ }
      defined = undefined;
      const code = e instanceof RvisorError ? e.code : 'MIGRATION_FAILED';
      reply({ t: 'error', code, message: (e as Error).message ?? String(e) });
      ws.close(1000, 'migration failed');
    });
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
        case 'commit': return commit();
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
