// The credit scheduler on a simulated clock: pCPUs that each run the slice they are given for its
// whole length (CPU-bound guests) or until the guest blocks. The shares it hands out are checked
// against the policy (weights, caps, work conservation); the real thing is measured by
// `npm run bench:sched` with booted guests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreditScheduler, type SchedEntity } from '../src/vmm/scheduler.js';

interface Sim {
  s: CreditScheduler;
  ents: SchedEntity[];
  busy: number[];
}

/** Runs `ms` of simulated time on `pcpus`; `behaviour(e, sliceMs)` says how long the entity runs
 *  of its slice and whether it then blocks (and until when). */
function simulate(pcpus: number, ents: { weight: number; cap: number }[], ms: number,
  behaviour: (e: SchedEntity, slice: number, t: number) => { ran: number; blockFor?: number } = (_e, slice) => ({ ran: slice })): Sim {
  const s = new CreditScheduler({ pcpus });
  const list = ents.map((x, i) => s.add(i + 1, x.weight, x.cap));
  for (const e of list) s.wake(e, 0);
  const free = new Array<number>(pcpus).fill(0); // when each pCPU is free again
  const busy = new Array<number>(pcpus).fill(0);
  const running = new Array<{ e: SchedEntity; ran: number; blockFor?: number } | undefined>(pcpus);
  let t = 0;
  while (t < ms) {
    for (let p = 0; p < pcpus; p++) {
      if (free[p]! > t) continue;
      const r = running[p];
      if (r) {
        s.charge(r.e, r.ran, t);
        if (r.blockFor !== undefined) s.block(r.e, t + r.blockFor);
        running[p] = undefined;
      }
    }
    s.wakeDue(t);
    for (let p = 0; p < pcpus; p++) {
      if (running[p]) continue;
      const pick = s.pick(p, t);
      if (!pick) continue;
      const b = behaviour(pick.e, pick.sliceMs, t);
      running[p] = { e: pick.e, ...b };
      free[p] = t + b.ran;
      busy[p]! += b.ran;
    }
    t += 0.5;
  }
  return { s, ents: list, busy };
}

const share = (e: SchedEntity, ms: number) => e.cpuMs / ms;

test('weights 512:256 on one pCPU share it 2:1', () => {
  const { ents } = simulate(1, [{ weight: 512, cap: 0 }, { weight: 256, cap: 0 }], 10000);
  const ratio = ents[0]!.cpuMs / ents[1]!.cpuMs;
  assert.ok(Math.abs(ratio - 2) / 2 <= 0.1, `ratio ${ratio.toFixed(2)}`);
});

test('weights hold when the host loses time between slices (dispatch gaps, other load)', () => {
  // Each slice is followed by 2 ms in which the pCPU does host work, not guest work.
  const s = new CreditScheduler({ pcpus: 1 });
  const a = s.add(1, 512, 0), b = s.add(2, 256, 0);
  s.wake(a, 0);
  s.wake(b, 0);
  let t = 0;
  while (t < 20000) {
    const p = s.pick(0, t)!;
    t += p.sliceMs;
    s.charge(p.e, p.sliceMs, t);
    t += 2;
  }
  const ratio = a.cpuMs / b.cpuMs;
  assert.ok(Math.abs(ratio - 2) / 2 <= 0.1, `ratio ${ratio.toFixed(2)}`);
});

test('a cap of 25 holds a CPU-bound VM to a quarter of a pCPU even when the pCPU is free', () => {
  const { ents, busy } = simulate(1, [{ weight: 256, cap: 25 }], 10000);
  const got = share(ents[0]!, 10000);
  assert.ok(Math.abs(got - 0.25) <= 0.05, `share ${got.toFixed(3)}`);
  assert.ok(busy[0]! / 10000 < 0.3);
});

test('three equal CPU-bound VMs on two pCPUs get two thirds of a pCPU each', () => {
  const { ents, busy } = simulate(2, [{ weight: 256, cap: 0 }, { weight: 256, cap: 0 }, { weight: 256, cap: 0 }], 10000);
  for (const e of ents) {
    const got = share(e, 10000);
    assert.ok(Math.abs(got - 2 / 3) / (2 / 3) <= 0.1, `VM ${e.id}: ${got.toFixed(3)}`);
  }
  assert.ok(busy.every((b) => b / 10000 > 0.99), 'no pCPU idles while a VM waits');
});

test('work-conserving: a lone VM with a low weight still gets a whole pCPU', () => {
  const { ents } = simulate(2, [{ weight: 1, cap: 0 }], 3000);
  assert.ok(share(ents[0]!, 3000) > 0.99);
});

test('a VM that blocks gives its time to the others and is charged only what it ran', () => {
  // VM 1 runs 1 ms then sleeps 9 ms (10% duty); VM 2 is CPU-bound; one pCPU.
  const { ents } = simulate(1, [{ weight: 256, cap: 0 }, { weight: 256, cap: 0 }], 10000, (e, slice) =>
    e.id === 1 ? { ran: 1, blockFor: 9 } : { ran: slice });
  assert.ok(Math.abs(share(ents[0]!, 10000) - 0.1) < 0.03, `sleeper ${share(ents[0]!, 10000)}`);
  assert.ok(share(ents[1]!, 10000) > 0.85);
  assert.ok(ents[0]!.stealMs / 10000 < 0.1, 'a sleeper that wakes gets the pCPU soon (little steal)');
});

test('weights change while running take effect', () => {
  const s = new CreditScheduler({ pcpus: 1 });
  const a = s.add(1, 256, 0), b = s.add(2, 256, 0);
  s.wake(a, 0);
  s.wake(b, 0);
  let t = 0;
  const run = (until: number) => {
    while (t < until) {
      const p = s.pick(0, t)!;
      t += p.sliceMs;
      s.charge(p.e, p.sliceMs, t);
    }
  };
  run(3000);
  const a0 = a.cpuMs, b0 = b.cpuMs;
  a.weight = 768;
  run(9000);
  const ratio = (a.cpuMs - a0) / (b.cpuMs - b0);
  assert.ok(Math.abs(ratio - 3) / 3 <= 0.1, `ratio after the change ${ratio.toFixed(2)}`);
});

test('steal time is the time runnable but not running', () => {
  const { ents } = simulate(1, [{ weight: 256, cap: 0 }, { weight: 256, cap: 0 }], 4000);
  for (const e of ents) assert.ok(Math.abs(e.stealMs - 2000) < 100, `steal ${e.stealMs}`);
});
