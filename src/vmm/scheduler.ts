// The vCPU scheduler of `rvisor serve`, modelled on Xen's credit scheduler (credit1): every
// accounting period each active VM earns credit in proportion to its weight out of the CPU time
// all pCPUs offer in that period; running spends credit; a free pCPU takes the runnable VM with
// the most credit (work-conserving: a pCPU never idles while a runnable VM waits, even when that
// VM already spent its share). A cap bounds a VM's CPU time per period even when pCPUs are idle.
//
// The unit scheduled is a VM: its harts run round-robin inside its slice on one pCPU (one VM's
// harts on several pCPUs at once is not done yet; every hart lives in shared memory, so it can
// come without changing this interface). Pure logic on an injected clock (ms): the host
// (host.ts) calls it and sends the decisions to the workers; tests drive it with a fake clock.

export interface SchedEntity {
  readonly id: number;
  weight: number;
  /** Per cent of one pCPU; 0 = none. */
  cap: number;
  /** Credit, ms of CPU time. */
  credit: number;
  status: 'blocked' | 'runnable' | 'running' | 'off';
  /** blocked: when it wants to run again (timer deadline), or Infinity (only an event wakes it). */
  wakeAt: number;
  /** runnable: since when (its wait is steal time). */
  runnableSince: number;
  /** The pCPU that ran it last (its board is live there: running it there again is cheaper). */
  lastPcpu: number;
  /** CPU time used in the current accounting period (for the cap), ms. */
  usedInPeriod: number;
  /** Whether it ran or was runnable in the current period (it earns credit in the next one). */
  active: boolean;
  /** Totals. */
  cpuMs: number;
  stealMs: number;
  /** Steal accrued since the guest was last told (the STA shared memory), ms. */
  stealUnreported: number;
}

export interface SchedulerOptions {
  pcpus: number;
  /** Longest slice, ms (default 10). */
  sliceMs?: number;
  /** Accounting period, ms (default 30, as Xen's). */
  periodMs?: number;
}

export class CreditScheduler {
  readonly pcpus: number;
  readonly sliceMs: number;
  readonly periodMs: number;
  private readonly entities = new Map<number, SchedEntity>();
  private lastAccount: number | undefined;

  constructor(o: SchedulerOptions) {
    this.pcpus = o.pcpus;
    this.sliceMs = o.sliceMs ?? 10;
    this.periodMs = o.periodMs ?? 30;
  }

  add(id: number, weight: number, cap: number): SchedEntity {
    const e: SchedEntity = {
      id, weight, cap, credit: 0, status: 'off', wakeAt: Infinity, runnableSince: 0, lastPcpu: -1,
      usedInPeriod: 0, active: false, cpuMs: 0, stealMs: 0, stealUnreported: 0,
    };
    this.entities.set(id, e);
    return e;
  }

  remove(e: SchedEntity): void {
    e.status = 'off';
    this.entities.delete(e.id);
  }

  /** The entity may run from `now` on (started, woken by an event or its timer, resumed). */
  wake(e: SchedEntity, now: number): void {
    if (e.status === 'runnable' || e.status === 'running') return;
    e.status = 'runnable';
    e.runnableSince = now;
    e.wakeAt = Infinity;
  }

  /** Takes the entity off the run queue until `wakeAt` (or an event); also used for pause. */
  block(e: SchedEntity, wakeAt = Infinity): void {
    e.status = 'blocked';
    e.wakeAt = wakeAt;
  }

  /** Whether the cap keeps `e` from running until the next period. */
  throttled(e: SchedEntity): boolean {
    return e.cap > 0 && e.usedInPeriod >= (e.cap / 100) * this.periodMs;
  }

  /** At each period boundary, hands out as credit the CPU time the VMs actually used in the
   *  period, in proportion to their weights (zero-sum: credit never drifts as a whole, so time lost
   *  to the host's own work or to idle gaps does not saturate every VM at the clamp and flatten the
   *  weights). Returns the time of the next boundary. */
  account(now: number): number {
    if (this.lastAccount === undefined) this.lastAccount = now;
    if (now - this.lastAccount >= this.periodMs) {
      const active = [...this.entities.values()].filter((e) => e.active || e.status === 'runnable' || e.status === 'running');
      const totalWeight = active.reduce((s, e) => s + e.weight, 0);
      const used = active.reduce((s, e) => s + e.usedInPeriod, 0);
      for (const e of active) {
        // Clamped so that a VM cannot hoard credit while it cannot use it (one pCPU at most, its
        // cap) nor sink so deep that it starves when it is alone.
        const limit = 2 * Math.min(this.periodMs, e.cap > 0 ? (e.cap / 100) * this.periodMs : Infinity);
        e.credit = Math.max(-2 * this.periodMs, Math.min(limit, e.credit + (used * e.weight) / totalWeight));
      }
      for (const e of this.entities.values()) {
        e.usedInPeriod = 0;
        e.active = e.status === 'runnable' || e.status === 'running';
      }
      this.lastAccount = now - ((now - this.lastAccount) % this.periodMs);
    }
    return this.lastAccount + this.periodMs;
  }

  /** Wakes every blocked entity whose timer is due. Returns the earliest timer still pending. */
  wakeDue(now: number): number {
    let next = Infinity;
    for (const e of this.entities.values()) {
      if (e.status !== 'blocked' || e.wakeAt === Infinity) continue;
      if (e.wakeAt <= now) this.wake(e, e.wakeAt);
      else next = Math.min(next, e.wakeAt);
    }
    return next;
  }

  /** Whether some runnable entity waits for a pCPU only because of its cap (so the host must come
   *  back at the next period boundary). */
  anyThrottled(): boolean {
    for (const e of this.entities.values()) if (e.status === 'runnable' && this.throttled(e)) return true;
    return false;
  }

  /** Chooses what a free pCPU runs next, marks it running and returns it with its slice length;
   *  undefined when nothing may run. */
  pick(pcpu: number, now: number): { e: SchedEntity; sliceMs: number } | undefined {
    this.account(now);
    let best: SchedEntity | undefined;
    for (const e of this.entities.values()) {
      if (e.status !== 'runnable' || this.throttled(e)) continue;
      if (!best || better(e, best, pcpu)) best = e;
    }
    if (!best) return undefined;
    const waited = Math.max(0, now - best.runnableSince);
    best.stealMs += waited;
    best.stealUnreported += waited;
    best.status = 'running';
    best.active = true;
    best.lastPcpu = pcpu;
    let sliceMs = this.sliceMs;
    if (best.cap > 0) sliceMs = Math.max(0.5, Math.min(sliceMs, (best.cap / 100) * this.periodMs - best.usedInPeriod));
    return { e: best, sliceMs };
  }

  /** A slice ended after `ranMs` of CPU time; the entity is runnable again unless the caller
   *  blocks it. */
  charge(e: SchedEntity, ranMs: number, now: number): void {
    e.credit -= ranMs;
    e.usedInPeriod += ranMs;
    e.cpuMs += ranMs;
    if (e.status === 'running') {
      e.status = 'runnable';
      e.runnableSince = now;
    }
  }
}

/** More credit first; among equals the one whose board is live on this pCPU, then the one that
 *  waited longest. */
function better(a: SchedEntity, b: SchedEntity, pcpu: number): boolean {
  if (Math.abs(a.credit - b.credit) > 0.5) return a.credit > b.credit;
  const aHome = a.lastPcpu === pcpu, bHome = b.lastPcpu === pcpu;
  if (aHome !== bHome) return aHome;
  return a.runnableSince < b.runnableSince;
}
