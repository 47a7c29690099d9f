// A VM's controls changed while it runs: `rvisor vm memtune` (HostApi.memtune: reservation, limit,
// shares, as virsh memtune; a new reservation of a running VM passes admission control first, a
// refusal changes nothing) and `schedinfo` (weight and cap).
import { totalmem } from 'node:os';
import { checkCap, checkMemoryTune, checkWeight } from './definition.js';
import type { Dispatcher, VmRun } from './dispatcher.js';
import { parseSize, sizeBytes } from './size.js';
import { RvisorError } from '../errors.js';
import type { MemoryManager, MemoryOptions } from './memory-manager.js';
import type { HostEvent, HostOptions, MemoryTuneInfo, SchedInfo, VmDefinition } from './types.js';

/** Page-sharing scan rate by default, pages per second. */
export const DEFAULT_SHARING_RATE = 25600;

/** The memory manager's options from the host's: --host-mem defaults to 3/4 of the machine's RAM. */
export function memoryOptions(o: HostOptions): MemoryOptions {
  const hostMemBytes = o.hostMem === undefined ? Math.floor((totalmem() * 0.75) / 4096) * 4096 : sizeBytes(o.hostMem, '--host-mem');
  if (hostMemBytes < 16 * 1048576) throw new RvisorError('USAGE', `--host-mem ${o.hostMem}: at least 16M`);
  return { hostMemBytes, sharingRate: o.pageSharingRate ?? DEFAULT_SHARING_RATE, idleTaxPct: o.idleTaxPct ?? 75 };
}

export function memtune(vm: { def: VmDefinition; run: unknown }, update: Partial<MemoryTuneInfo>, memory: MemoryManager, save: (def: VmDefinition) => void): MemoryTuneInfo {
  const extra = Object.keys(update).filter((k) => k !== 'reservation' && k !== 'limit' && k !== 'shares');
  if (extra.length) throw new RvisorError('BAD_DEFINITION', `unknown memtune field ${extra[0]}`);
  const next: MemoryTuneInfo = {
    reservation: update.reservation ?? vm.def.reservation,
    limit: update.limit === undefined ? vm.def.limit : update.limit,
    shares: update.shares ?? vm.def.shares,
  };
  checkMemoryTune(parseSize(vm.def.memory, 'memory'), next);
  const def = { ...vm.def, ...next };
  if (vm.run) memory.admit(def);
  vm.def = def;
  save(def);
  if (vm.run) memory.retune(def);
  return next;
}

export function schedtune(vm: { def: VmDefinition; run: VmRun | undefined }, s: Partial<SchedInfo>, cpu: Dispatcher, save: (def: VmDefinition) => void, emit: (e: HostEvent) => void): SchedInfo {
  const weight = s.weight === undefined ? vm.def.weight : checkWeight(s.weight);
  const cap = s.cap === undefined ? vm.def.cap : checkCap(s.cap, vm.def.vcpus);
  vm.def = { ...vm.def, weight, cap };
  save(vm.def);
  if (vm.run) {
    vm.run.sched.weight = weight;
    vm.run.sched.cap = cap;
    cpu.dispatch();
  }
  emit({ type: 'schedinfo', name: vm.def.name, weight, cap, time: new Date().toISOString() });
  return { weight, cap };
}
