// The VM's clock (design rule 3: time is virtual and explicit). mtime advances with host time
// while the VM runs and stands still while it is paused; it is read by the run loop, which hands
// it to the harts (the time CSR) and to the timer devices. The host time source is injected so
// this stays platform-neutral (performance.now() in Node and in browsers).

export interface ClockState {
  ticks: string;
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
    return { ticks: this.ticks().toString() };
  }

  restore(s: ClockState): void {
    const wasRunning = this.running();
    this.baseTicks = BigInt(s.ticks);
    this.startedAt = wasRunning ? this.hostNowMs() : undefined;
  }
}
