// A physical CPU of `rvisor serve`: a worker thread that runs slices of VMs when the control plane
// says so (protocol.ts). It instantiates the wasm core (compiled once, by the main thread) once per
// arena, keeps the boards of the VMs it ran last, and reports every slice with the board's state.
// An exception while building or running a board ends that VM only (it is reported as crashed);
// the worker goes on with the next slice.
import { parentPort, workerData, threadId } from 'node:worker_threads';
import { webcrypto } from 'node:crypto';
import { HostMemory } from '../memory/host-memory.js';
import { Core, setCoreModule } from '../cpu/core.js';
import { VirtBoard, type BoardState } from '../machine/board.js';
import { diskFromShared } from '../host/disk/host-disk.js';
import { BootImageCache, boardConfig, type MachineIo } from './machine.js';
import { RvisorError } from '../errors.js';
import { nodePageSources } from './lazy-pages.js';
import { useNodeSwap } from './swap-file.js';
import type { FromWorker, ToWorker, VmLaunch } from './protocol.js';
import { jitConfig } from '../jit/config.js';

interface WorkerInit {
  module: WebAssembly.Module;
  arenas: WebAssembly.Memory[];
}

interface Live {
  board: VirtBoard;
  out: Uint8Array[];
}

const port = parentPort!;
const init = workerData as WorkerInit;
setCoreModule(init.module);
useNodeSwap(); // hypervisor swap: the VMs' swap files are read and written from this thread too
const arenas: { host: HostMemory; core: Core | undefined }[] = [];
init.arenas.forEach((m, i) => (arenas[i] = { host: HostMemory.attach(m, threadId + 1), core: undefined }));
const live = new Map<number, Live>();
const images = new BootImageCache();
const now = () => performance.timeOrigin + performance.now();

function coreFor(index: number): { host: HostMemory; core: Core } {
  const a = arenas[index];
  if (!a) throw new Error(`arena ${index} is unknown to this worker`);
  a.core ??= new Core(a.host, jitConfig());
  return { host: a.host, core: a.core };
}

function build(vm: number, launch: VmLaunch, from: 'boot' | BoardState, newGeneration: boolean): Live {
  const out: Uint8Array[] = [];
  const io: MachineIo = {
    consoleOut: (bytes) => out.push(bytes),
    hostNowMs: now,
    wallNs: () => BigInt(Date.now()) * 1000000n,
    entropy: (buf) => webcrypto.getRandomValues(buf),
    maxIdleMs: 10000,
    pageSources: nodePageSources,
  };
  const disks = launch.disks.map((d) => ({ backend: diskFromShared(d), readOnly: d.readOnly }));
  const cfg = boardConfig(launch.spec, images.images(launch.spec, launch.stamps), disks, io);
  const { host, core } = coreFor(launch.arena);
  const board = new VirtBoard(cfg, host, from === 'boot' ? { core } : { core, restore: from, newGeneration });
  const entry = { board, out };
  live.set(vm, entry);
  return entry;
}

function drain(out: Uint8Array[]): Uint8Array | null {
  if (!out.length) return null;
  const total = out.reduce((n, b) => n + b.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const b of out.splice(0)) {
    all.set(b, at);
    at += b.length;
  }
  return all;
}

function runSlice(m: Extract<ToWorker, { t: 'run' }>): FromWorker {
  const t0 = now();
  let entry: Live | undefined;
  let building = false;
  try {
    if (m.from === 'live') {
      entry = live.get(m.vm);
      if (!entry) throw new Error('internal: the VM\'s board is not live on this pCPU');
    } else {
      building = true;
      entry = build(m.vm, m.launch, m.from, m.newGeneration);
      building = false;
    }
    const board = entry.board;
    if (m.stealNs > 0) {
      for (let h = 0; h < board.harts.length; h++) board.addSteal(h, BigInt(Math.round(m.stealNs)));
    }
    if (m.balloonTarget !== undefined && board.balloon && board.balloon.target !== m.balloonTarget) {
      board.setBalloonTarget(m.balloonTarget);
    }
    if (m.balloonStats) board.balloon?.requestStats();
    if (m.input.length) board.pushInput(m.input);
    if (m.powerKey) board.pressPowerKey();
    const insns0 = board.hartInsns.slice(), ms0 = board.hartMs.slice();
    const result = board.step(m.sliceMs);
    if (m.fault) throw new Error('fault injected by the test hook');
    const state = board.save();
    return {
      t: 'ran', vm: m.vm, ranMs: now() - t0, result, output: drain(entry.out), state,
      hartInsns: board.hartInsns.map((v, i) => Number(v - insns0[i]!)),
      hartMs: board.hartMs.map((v, i) => v - ms0[i]!),
    };
  } catch (e) {
    live.delete(m.vm);
    // A machine booted in this slice has no state at the control plane yet: free what it holds
    // here (a board rebuilt from state is freed by the control plane from that state).
    if (m.from === 'boot' && entry) {
      try {
        entry.board.destroy();
      } catch {
        // the board is broken; its frames stay allocated
      }
    }
    const reason = e instanceof Error ? e.message : String(e);
    const buildError = building && e instanceof RvisorError ? e.code : undefined;
    return { t: 'crashed', vm: m.vm, ranMs: now() - t0, reason, output: entry ? drain(entry.out) : null, ...(buildError ? { buildError } : {}) };
  }
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'arena':
      arenas[m.index] = { host: HostMemory.attach(m.memory, threadId + 1), core: undefined };
      break;
    case 'drop':
      live.delete(m.vm);
      break;
    case 'run': {
      const reply = runSlice(m);
      port.postMessage(reply, reply.output ? [reply.output.buffer as ArrayBuffer] : []);
      break;
    }
  }
});
