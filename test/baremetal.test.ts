// Bare-metal privileged-architecture programs (guest/baremetal/): each runs as M-mode firmware on
// rvisor's virt board and must print exactly what it printed under QEMU 7.2
// (test/golden/baremetal/NAME.out, recorded by guest/baremetal/regen.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, runRvisor, readRepoFile } from './helpers.js';

// name and hart count (keep in sync with guest/baremetal/regen.sh)
const PROGRAMS: [string, number][] = [
  ['traps', 1], ['delegation', 1], ['sv39', 1], ['interrupts', 1], ['counters', 1], ['smp', 2],
];

const lines = (s: string): string[] => s.replace(/\r/g, '').replace(/\n$/, '').split('\n');

for (const [name, harts] of PROGRAMS) {
  test(`baremetal ${name}${harts > 1 ? ` (${harts} harts)` : ''} matches QEMU`, () => {
    const bin = join(ROOT, 'guest', 'baremetal', 'bin', `${name}.bin`);
    const smp = harts > 1 ? ['--cpus', String(harts)] : [];
    const r = runRvisor(['run', '--bios', bin, '--kernel', 'none', '--initrd', 'none', ...smp], { timeoutMs: 60000 });
    const want = lines(readRepoFile(`test/golden/baremetal/${name}.out`).toString());
    const got = lines(r.stdout.toString('latin1'));
    const n = Math.max(want.length, got.length);
    const bad: number[] = [];
    for (let i = 0; i < n; i++) if (got[i] !== want[i]) bad.push(i);
    if (bad.length > 0) {
      const i = bad[0]!;
      assert.fail(`${name}: line ${i + 1} differs (${bad.length} differing lines: ${bad.slice(0, 12).map((k) => k + 1).join(' ')})\n` +
        `  QEMU:   ${JSON.stringify(want[i] ?? '<end of output>')}\n` +
        `  rvisor: ${JSON.stringify(got[i] ?? '<end of output>')}\n` +
        `(exit status ${r.status}${r.signal ? `, signal ${r.signal}` : ''}; ${got.length} lines; stderr: ${r.stderr.trim().slice(0, 500)})`);
    }
    assert.equal(r.status, 0, `${name}: exit status ${r.status}, stderr: ${r.stderr}`);
  });
}
