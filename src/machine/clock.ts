// The VM's clock (design rule 3: time is virtual and explicit). mtime advances with host time
// while the VM runs and stands still while it is paused; it is read by the run loop, which hands
// it to the harts (the time CSR) and to the timer devices. The host time source is injected so
// this stays platform-neutral (performance.now() in Node and in browsers).

export interface ClockState {
  ticks: string;
  /** Whether the clock was running when saved, and when (in the hostNowMs timebase, so only
   *  meaningful to a clock of the same process: the pCPU workers of one host share it). A
   *  running clock restored elsewhere carries on as if it had never stopped. */
  running?: boolean;
  atMs?: number;
}

export class VirtualClock {
  private baseTicks = 0n;
  private startedAt: number | undefined;

  constructor(readonly hz: number, private readonly hostNowMs: () => number) {}

  /** Current mtime in ticks. */
  ticks(): bigint {
    if (this.startedAt === undefined) return this.baseTicks;
    return this.baseTicks + BigInt(Math.floor(((this.hostNowMs() - this.startedAt) * this.hz) / 1000));
  }

  running(): boolean {
    return this.startedAt !== undefined;
  }

  resume(): void {
    if (this.startedAt === undefined) this.startedAt = this.hostNowMs();
  }

  pause(): void {
    if (this.startedAt === undefined) return;
    this.baseTicks = this.ticks();
    this.startedAt = undefined;
  }

  /** Milliseconds of host time until mtime reaches `ticks` (0 if already past). */
  msUntil(ticks: bigint): number {
    const d = ticks - this.ticks();
    return d <= 0n ? 0 : Number(d) * 1000 / this.hz;
  }

  save(): ClockState {
    return { ticks: this.ticks().toString(), running: this.running(), atMs: this.hostNowMs() };
  }

  /** Without `running`/`atMs` in the state, the clock keeps its own running/paused mode. */
  restore(s: ClockState): void {
    const now = this.hostNowMs();
    if (s.running !== undefined && s.atMs !== undefined) {
      this.baseTicks = s.running ? ticksAt(s, now, this.hz) : BigInt(s.ticks);
      this.startedAt = s.running ? now : undefined;
      return;
    }
    const wasRunning = this.running();
    this.baseTicks = BigInt(s.ticks);
    this.startedAt = wasRunning ? now : undefined;
  }
}

/** The ticks a saved clock shows at host time `nowMs` (it advanced since if it was running). */
export function ticksAt(s: ClockState, nowMs: number, hz: number): bigint {
  const base = BigInt(s.ticks);
  if (!s.running || s.atMs === undefined) return base;
  return base + BigInt(Math.max(0, Math.floor(((nowMs - s.atMs) * hz) / 1000)));
}

/** A saved clock stopped at `nowMs` (pause) or started again at `nowMs` (resume). */
export function setClockRunning(s: ClockState, running: boolean, nowMs: number, hz: number): ClockState {
  return { ticks: ticksAt(s, nowMs, hz).toString(), running, atMs: nowMs };

}
