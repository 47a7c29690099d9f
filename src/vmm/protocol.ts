// Messages between the control plane (host.ts, main thread) and the pCPU workers (pcpu-worker.ts).
// A worker is a dumb executor: it runs one slice of one VM when told and answers with what
// happened and the board's state, so the control plane always holds every VM's latest state and
// can hand it to any worker next (the board stays live in the worker that ran it last, which runs
// it again without rebuilding it).
import type { BoardState, StepResult } from '../machine/board.js';
import type { SharedDisk } from '../host/disk/host-disk.js';
import type { MachineSpec } from './machine.js';

/** What a worker needs to build (or rebuild) a VM's board. */
export interface VmLaunch {
  spec: MachineSpec;
  disks: SharedDisk[];
  arena: number;
  /** Each boot file's identity by path (size, mtime, inode): the worker's image cache reads a
   *  file again only when it changed. */
  stamps: Record<string, string>;
}

export type ToWorker =
  | { t: 'arena'; index: number; memory: WebAssembly.Memory }
  | {
      t: 'run';
      vm: number;
      launch: VmLaunch;
      /** How to get the board: boot a fresh machine, rebuild it from this state, or use the one
       *  live in this worker (it ran the VM's last slice and nothing changed since). */
      from: 'boot' | 'live' | BoardState;
      sliceMs: number;
      /** With a BoardState: the rebuilt machine gets a new VM generation ID (a clone, or a
       *  machine resumed from a snapshot, which may be resumed more than once). */
      newGeneration: boolean;
      input: number[];
      powerKey: boolean;
      /** Steal time to report to the guest (SBI STA), ns. */
      stealNs: number;
      /** The balloon's target in 4 KiB pages (VirtBoard.setBalloonTarget), applied before the
       *  slice when it differs from the device's; absent: unchanged. */
      balloonTarget?: number;
      /** Ask the guest's balloon driver for fresh statistics during the slice. */
      balloonStats?: boolean;
      /** Test hook: the slice throws inside the worker, as an emulator bug would. */
      fault: boolean;
    }
  | { t: 'drop'; vm: number };

export type FromWorker =
  | {
      t: 'ran';
      vm: number;
      /** Host time the slice took on this pCPU, ms. */
      ranMs: number;
      hartInsns: number[];
      hartMs: number[];
      result: StepResult;
      output: Uint8Array | null;
      state: BoardState;
    }
  | {
      t: 'crashed';
      vm: number;
      ranMs: number;
      reason: string;
      /** The machine could not be built (bad boot files, too little memory): the user's error,
       *  with its RvisorError code, rather than a guest's or the emulator's failure. */
      buildError?: string;
      output: Uint8Array | null;
    };
