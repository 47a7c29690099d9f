// The control plane's handle on one physical CPU: a worker thread running pcpu-worker.ts. It sends
// one slice at a time and waits for the answer; a slice that never ends (the emulator stuck in a
// loop of the host's own code) is cut off by a watchdog that terminates the thread, and a thread
// that dies is replaced. Either way only the VM that was running there is lost (the control
// plane holds every other VM's state).
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './protocol.js';
import { HostMemory } from '../memory/host-memory.js';

export interface PcpuEvents {
  /** The slice ended (normally, or with the VM crashed). */
  reply(p: Pcpu, m: FromWorker): void;
  /** The thread died or was cut off while running a slice of `vm` (or idle, vm undefined). */
  lost(p: Pcpu, vm: number | undefined, reason: string): void;
}

export class Pcpu {
  private worker!: Worker;
  /** The VM whose slice is running now. */
  current: number | undefined;
  sliceStart = 0;
  /** Host time spent running slices, ms. */
  busyMs = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(readonly index: number, private readonly module: WebAssembly.Module,
    private readonly arenas: () => WebAssembly.Memory[], private readonly ev: PcpuEvents,
    private readonly watchdogMs: number) {
    this.spawn();
  }

  private spawn(): void {
    const w = new Worker(new URL('./pcpu-worker.js', import.meta.url), {
      workerData: { module: this.module, arenas: this.arenas() },
      name: `rvisor-pcpu-${this.index}`,
      // The host process's own flags, less those that only make sense for its main script.
      execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
    });
    this.worker = w;
    w.on('message', (m: FromWorker) => {
      if (w !== this.worker) return;
      this.stopWatchdog();
      this.busyMs += m.ranMs;
      this.current = undefined;
      this.ev.reply(this, m);
    });
    w.on('error', (e) => this.die(w, `the pCPU thread failed: ${e.message}`));
    const holder = w.threadId + 1; // its tag in the arenas' frame-pool locks (pcpu-worker.ts)
    w.on('exit', (code) => {
      // terminated (watchdog, close) inside an allocation, it would hold the lock for ever
      for (const m of this.arenas()) HostMemory.releaseHeldBy(m, holder);
      this.die(w, `the pCPU thread exited (status ${code})`);
    });
  }

  private die(w: Worker, reason: string): void {
    if (w !== this.worker || this.closing) return;
    this.stopWatchdog();
    const vm = this.current;
    this.current = undefined;
    void w.terminate();
    this.spawn();
    this.ev.lost(this, vm, reason);
  }

  send(m: ToWorker): void {
    if (m.t === 'run') {
      this.current = m.vm;
      this.sliceStart = performance.timeOrigin + performance.now();
      const w = this.worker;
      this.watchdog = setTimeout(() => this.die(w, `the emulator did not end a ${m.sliceMs.toFixed(1)} ms slice within ${this.watchdogMs} ms`), this.watchdogMs);
    }
    this.worker.postMessage(m);
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stopWatchdog();
    await this.worker.terminate();
  }
}
