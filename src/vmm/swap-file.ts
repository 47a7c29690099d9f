// Hypervisor swap on the host (issue #9): each VM of `rvisor serve` has a swap file in its folder,
// opened when it starts; page i of its RAM is at byte i × 4096 (a sparse file as large as the RAM
// at most, no slot allocator). GuestRam (src/machine/ram.ts) reads and writes it by descriptor,
// which every thread of the process shares, so the worker that runs the VM and the control plane
// that reclaims from a held VM both reach it.
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { GuestRam, type SwapIo } from '../machine/ram.js';

const PAGE = 4096;

export const nodeSwapIo: SwapIo = {
  write(fd, index, src) {
    let done = 0;
    while (done < src.length) done += writeSync(fd, src, done, src.length - done, index * PAGE + done);
  },
  read(fd, index, dst) {
    let done = 0;
    while (done < dst.length) {
      const n = readSync(fd, dst, done, dst.length - done, index * PAGE + done);
      if (n <= 0) throw new Error(`the swap file ends before page ${index}`);
      done += n;
    }
  },
};

/** Lets this thread's GuestRams use swap files (call once per thread before running VMs). */
export function useNodeSwap(): void {
  GuestRam.swapIo = nodeSwapIo;
}

/** Creates (empty) and opens a VM's swap file; returns its descriptor. */
export function openSwapFile(path: string): number {
  return openSync(path, 'w+', 0o600);
}

/** Closes and removes a swap file (its pages are gone with the VM's memory). */
export function closeSwapFile(fd: number, path: string): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
  rmSync(path, { force: true });
}
