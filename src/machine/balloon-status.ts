// The balloon as the control plane sees it: read from a saved board state (BoardState), which is
// all it has of a VM after each slice (src/vmm/). Pure: no board, no shared memory.
import { isBalloonState } from '../devices/virtio/balloon/balloon.js';
import type { BoardState } from './board.js';

export interface BalloonStatus {
  /** The host's target and what the guest's driver says it holds, in 4 KiB pages. */
  targetPages: number;
  actualPages: number;
  /** Pages inflated, deflated and reported free since the machine started (counters). */
  inflated: number;
  deflated: number;
  reported: number;
  /** The guest's last memory statistics by name (free_memory, total_memory, ... in bytes or
   *  counts, as virtio 1.2 §5.5.6.3 defines them) and the board time (ms) they arrived. */
  stats: Record<string, number>;
  statsAtMs?: number;
}

/** The balloon's status in a saved board, or undefined when the board has no balloon. */
export function balloonStatus(state: BoardState): BalloonStatus | undefined {
  const entry = state.devices.virtio.find((v) => isBalloonState(v.device));
  if (!entry || !isBalloonState(entry.device)) return undefined;
  const d = entry.device;
  return {
    targetPages: d.target, actualPages: d.actual,
    inflated: d.inflated, deflated: d.deflated, reported: d.reported,
    stats: { ...d.stats },
    ...(d.statsAtMs !== undefined ? { statsAtMs: d.statsAtMs } : {}),
  };
}
