// Statistics of a host's VMs (HostApi.stats, hostStats): CPU time, instructions and steal time per
// VM and vCPU from the dispatcher's accounting, memory from the memory manager (memory-manager.ts), the arenas' frames.
import type { MemoryManager } from './memory-manager.js';
import type { Arenas } from './arenas.js';
import type { Dispatcher, VmRun } from './dispatcher.js';
import type { HostStats, VmDefinition, VmState, VmStats } from './types.js';

interface StatsVm {
  def: VmDefinition;
  state: VmState;
  run: VmRun | undefined;
  lastPcpu: number | null;
}

export function vmStats(vm: StatsVm, memory: MemoryManager): VmStats {
  const run = vm.run;
  const ns = (ms: number) => Math.round(ms * 1e6);
  const vcpus = Array.from({ length: vm.def.vcpus }, (_, id) => ({
    id,
    cpuTimeNs: ns(run?.hartMs[id] ?? 0),
    instructions: run?.hartInsns[id] ?? 0,
    stealNs: ns((run?.sched.stealMs ?? 0) + (run?.hartSteal[id] ?? 0)),
  }));
  return {
    name: vm.def.name, state: vm.state,
    cpuTimeNs: ns(run?.sched.cpuMs ?? 0),
    instructions: vcpus.reduce((s, v) => s + v.instructions, 0),
    stealNs: ns(run?.sched.stealMs ?? 0),
    vcpus,
    memory: memory.vmMemory(vm.def, run),
    lastPcpu: run?.lastPcpu ?? vm.lastPcpu,
  };
}

export function hostStats(pcpus: number, vms: StatsVm[], cpu: Dispatcher, arenas: Arenas, memory: MemoryManager): HostStats {
  const count = (s: VmState) => vms.filter((v) => v.state === s).length;
  return {
    pcpus,
    vms: { total: vms.length, running: count('running'), paused: count('paused'), crashed: count('crashed'), shutoff: count('shutoff') },
    pcpuBusyNs: cpu.busyNs(),
    arenas: arenas.list.map((a) => ({ index: a.index, bytes: a.host.byteLength, framesInUse: a.host.framesInUse, vms: a.vms })),
    rssBytes: process.memoryUsage.rss(),
    memory: memory.hostMemory(),
  };
}
