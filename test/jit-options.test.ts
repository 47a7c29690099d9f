// The JIT's user-facing switches: `--jit on|off` and `--jit-threshold N` of `rvisor exec` and
// `rvisor run` (both spellings, bad values refused as USAGE errors naming the problem), a VM
// definition's `jit` and `jitThreshold` (validated like the other keys, in normalizeDefinition and
// the API schema), and end to end: a program run with the JIT compiling every page at once prints
// what it prints with the JIT off, and --stats reports the JIT's translations (or "jit: off").
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ERROR_CODES, RvisorError } from '../src/errors.js';
import { parseExecArgs } from '../src/cli/exec.js';
import { parseRunArgs } from '../src/cli/run.js';
import { jitConfigOf } from '../src/cli/jit-options.js';
import { definitionJit, normalizeDefinition } from '../src/vmm/definition.js';
import { VmDefinitionInputSchema, VmDefinitionSchema } from '../src/api/schemas.js';
import { DEFAULT_JIT_THRESHOLD, DEFAULT_BUDGET } from '../src/jit/jit.js';
import { ROOT, readRepoFile, runRvisor } from './helpers.js';
import { waitForState, withHost } from './host-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rvisor-jit-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function usageError(pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof RvisorError, `an RvisorError, not ${String(e)}`);
    assert.equal(e.code, 'USAGE', e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

function badDefinition(pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof RvisorError, `an RvisorError, not ${String(e)}`);
    assert.equal(e.code, 'BAD_DEFINITION', e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

test('exec: --jit on|off and --jit-threshold N, as two words or with =', () => {
  const o = parseExecArgs(['--jit', 'on', '--jit-threshold', '1', 'prog', '--jit', 'off']);
  assert.equal(o.jit, true);
  assert.equal(o.jitThreshold, 1);
  assert.equal(o.prog, 'prog');
  assert.deepEqual(o.args, ['--jit', 'off'], 'options after PROG are the program\'s');
  const p = parseExecArgs(['--jit=off', '--jit-threshold=2147483647', 'prog']);
  assert.equal(p.jit, false);
  assert.equal(p.jitThreshold, 0x7fffffff);
  const q = parseExecArgs(['prog']);
  assert.equal(q.jit, undefined);
  assert.equal(q.jitThreshold, undefined);
  // (a process VM's compile budget: an initial allowance for the program's first hot page)
  assert.deepEqual(jitConfigOf({ jit: true, jitThreshold: 7 }), { threshold: 7, budget: DEFAULT_BUDGET });
  assert.deepEqual(jitConfigOf({ jit: false, jitThreshold: 7 }), { threshold: 0, budget: DEFAULT_BUDGET });
  assert.deepEqual(jitConfigOf({ jit: true, jitThreshold: undefined }).threshold, Number(process.env.RVISOR_JIT_THRESHOLD ?? DEFAULT_JIT_THRESHOLD));
});

test('exec: bad --jit and --jit-threshold values are USAGE errors naming the option and the value', () => {
  assert.throws(() => parseExecArgs(['--jit', 'yes', 'prog']), usageError(/^exec: --jit must be "on" or "off", not "yes"/));
  assert.throws(() => parseExecArgs(['--jit=ON', 'prog']), usageError(/--jit must be "on" or "off", not "ON"/));
  assert.throws(() => parseExecArgs(['--jit=', 'prog']), usageError(/--jit needs a value/));
  assert.throws(() => parseExecArgs(['--jit']), usageError(/--jit needs a value/));
  for (const bad of ['0', '-1', '1.5', 'x', '1e3', '0x10', '2147483648', ' 5']) {
    assert.throws(() => parseExecArgs(['--jit-threshold', bad, 'prog']), usageError(/^exec: --jit-threshold must be a whole number from 1 to 2147483647/), JSON.stringify(bad));
    assert.throws(() => parseExecArgs([`--jit-threshold=${bad}`, 'prog']), usageError(/--jit-threshold must be a whole number/), JSON.stringify(bad));
  }
  assert.throws(() => parseExecArgs(['--jit-threshold']), usageError(/--jit-threshold needs a value/));
});

test('run: --jit on|off and --jit-threshold N, as two words or with =; bad values are USAGE errors', () => {
  const o = parseRunArgs(['--jit', 'on', '--jit-threshold', '10', '--stats']);
  assert.equal(o.jit, true);
  assert.equal(o.jitThreshold, 10);
  assert.equal(o.stats, true);
  const p = parseRunArgs(['--jit=off', '--jit-threshold=3', '--cpus', '2']);
  assert.equal(p.jit, false);
  assert.equal(p.jitThreshold, 3);
  assert.equal(p.cpus, 2, 'the options after an = form are still read');
  assert.equal(parseRunArgs([]).jit, undefined);
  assert.throws(() => parseRunArgs(['--jit', 'maybe']), usageError(/^--jit must be "on" or "off", not "maybe"/));
  assert.throws(() => parseRunArgs(['--jit=1']), usageError(/--jit must be "on" or "off", not "1"/));
  assert.throws(() => parseRunArgs(['--jit']), usageError(/--jit needs a value/));
  assert.throws(() => parseRunArgs(['--jit-threshold', '0']), usageError(/^--jit-threshold must be a whole number from 1 to 2147483647, not "0"/));
  assert.throws(() => parseRunArgs(['--jit-threshold=many']), usageError(/not "many"/));
  assert.throws(() => parseRunArgs(['--jit-threshold']), usageError(/--jit-threshold needs a value/));
  assert.throws(() => parseRunArgs(['--jitter']), usageError(/unknown option --jitter/));
});

test('definition: jit "on"|"off" and jitThreshold (1..2^31-1) are kept; other values are BAD_DEFINITION naming the key', () => {
  const d = normalizeDefinition({ name: 'fast', jit: 'on', jitThreshold: 1 });
  assert.equal(d.jit, 'on');
  assert.equal(d.jitThreshold, 1);
  // (a system VM's compile budget: none to start with, a boot's code does not pay V8's compiles)
  assert.deepEqual(definitionJit(d), { jit: { threshold: 1, budget: DEFAULT_BUDGET } });
  assert.deepEqual(definitionJit(normalizeDefinition({ name: 'slow', jit: 'off', jitThreshold: 5 })), { jit: { threshold: 0, budget: DEFAULT_BUDGET } });
  const plain = normalizeDefinition({ name: 'plain' });
  assert.ok(!('jit' in plain) && !('jitThreshold' in plain), 'absent keys stay absent (the host\'s environment decides)');
  assert.deepEqual(definitionJit(plain), {});
  assert.ok(Value.Check(VmDefinitionSchema, d), 'a normalized definition with the keys matches the API schema');
  assert.ok(Value.Check(VmDefinitionInputSchema, { name: 'fast', jit: 'off', jitThreshold: 2147483647 }));

  for (const jit of ['yes', 'ON', true, 1, null, '']) {
    assert.throws(() => normalizeDefinition({ name: 'x', jit } as never), badDefinition(/^jit .* must be "on" or "off"/), JSON.stringify(jit));
    assert.ok(!Value.Check(VmDefinitionInputSchema, { name: 'x', jit }), `schema refuses jit ${JSON.stringify(jit)}`);
  }
  for (const jitThreshold of [0, -1, 1.5, 2147483648, '100', null, true]) {
    assert.throws(() => normalizeDefinition({ name: 'x', jitThreshold } as never), badDefinition(/^jitThreshold .* must be an integer 1\.\.2147483647/), JSON.stringify(jitThreshold));
    assert.ok(!Value.Check(VmDefinitionInputSchema, { name: 'x', jitThreshold }), `schema refuses jitThreshold ${JSON.stringify(jitThreshold)}`);
  }
  assert.throws(() => normalizeDefinition({ name: 'x', jitthreshold: 5 } as never), badDefinition(/unknown key in the definition: jitthreshold/));
});

// End to end: `ctest process ARGS` (guest/ctests) prints its arguments and environment.
const ctest = join(dir, 'ctest');
writeFileSync(ctest, readRepoFile('guest/ctests/bin/ctest.gz'));
chmodSync(ctest, 0o755);
const env = { ...process.env, RVISOR_JIT: 'off', RVISOR_JIT_THRESHOLD: '50000', LC_ALL: 'C' };
const statsLine = (stderr: string): string => stderr.split('\n').find((l) => l.startsWith('rvisor: jit: ')) ?? '';

test('exec --jit on --jit-threshold 1 --stats prints what --jit off prints, and its translations', { timeout: 300_000 }, () => {
  const args = ['process', 'a', 'b c'];
  const off = runRvisor(['exec', '--jit', 'off', '--stats', ctest, ...args], { cwd: dir, env, timeoutMs: 120_000 });
  assert.equal(off.signal, null, off.stderr);
  assert.equal(statsLine(off.stderr), 'rvisor: jit: off', off.stderr);
  assert.ok(off.stdout.length > 0, 'the program printed something');
  // The environment says off; the options turn it on.
  const on = runRvisor(['exec', '--jit=on', '--jit-threshold=1', '--stats', ctest, ...args], { cwd: dir, env, timeoutMs: 240_000 });
  assert.equal(on.signal, null, on.stderr);
  assert.equal(on.status, off.status, on.stderr);
  assert.equal(on.stdout.toString('latin1'), off.stdout.toString('latin1'));
  const m = /^rvisor: jit: threshold 1; (\d+) translations .* (\d+) instructions in regions/.exec(statsLine(on.stderr));
  assert.ok(m, `a jit stats line: ${on.stderr}`);
  assert.ok(Number(m[1]) > 0, `translations > 0: ${m[0]}`);
  assert.ok(Number(m[2]) > 0, `instructions run in regions > 0: ${m[0]}`);
});

test('run --jit on --jit-threshold 1 --stats: a bare-metal program prints the same, and the JIT line', { timeout: 300_000 }, () => {
  const bios = join(ROOT, 'guest', 'baremetal', 'bin', 'traps.bin');
  const base = ['run', '--bios', bios, '--kernel', 'none', '--initrd', 'none', '--stats'];
  const off = runRvisor([...base, '--jit=off'], { env, timeoutMs: 120_000 });
  assert.equal(off.status, 0, off.stderr);
  assert.equal(statsLine(off.stderr), 'rvisor: jit: off', off.stderr);
  const on = runRvisor([...base, '--jit', 'on', '--jit-threshold', '1'], { env, timeoutMs: 240_000 });
  assert.equal(on.status, 0, on.stderr);
  assert.equal(on.stdout.toString('latin1'), off.stdout.toString('latin1'));
  const m = /^rvisor: jit: threshold 1; (\d+) translations/.exec(statsLine(on.stderr));
  assert.ok(m && Number(m[1]) > 0, `a jit stats line with translations: ${on.stderr}`);
});

test('bad --jit values end rvisor exec and run with the USAGE status and one line naming the problem', { timeout: 60_000 }, () => {
  const cases: [string[], RegExp][] = [
    [['exec', '--jit', 'fast', ctest], /^rvisor: exec: --jit must be "on" or "off", not "fast"$/],
    [['exec', '--jit-threshold=0', ctest], /^rvisor: exec: --jit-threshold must be a whole number from 1 to 2147483647, not "0"$/],
    [['run', '--jit=sometimes'], /^rvisor: --jit must be "on" or "off", not "sometimes"$/],
    [['run', '--jit-threshold', '-5'], /^rvisor: --jit-threshold must be a whole number/],
  ];
  for (const [args, pattern] of cases) {
    const r = runRvisor(args, { env, timeoutMs: 30_000 });
    assert.equal(r.status, ERROR_CODES.USAGE.exit, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0]!, pattern);
    assert.equal(r.stdout.length, 0);
  }
  const r = runRvisor(['exec', ctest, 'exit42'], { env: { ...env, RVISOR_JIT: 'yes' }, timeoutMs: 30_000 });
  assert.equal(r.status, ERROR_CODES.USAGE.exit, r.stderr);
  assert.match(r.stderr, /RVISOR_JIT must be "on" or "off", not "yes" \(in the environment\)/);
});

test('--help of run and exec lists the JIT options', { timeout: 60_000 }, () => {
  for (const verb of ['run', 'exec']) {
    const r = runRvisor([verb, '--help'], { timeoutMs: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /--jit on\|off/);
    assert.match(r.stdout.toString(), /--jit-threshold N/);
  }
});

test('rvisor serve: a VM defined with jit "on" and jitThreshold 1 keeps the keys and runs as without them', { timeout: 120_000 }, async () => {
  const bios = join(ROOT, 'guest', 'baremetal', 'bin', 'traps.bin');
  const want = readRepoFile('test/golden/baremetal/traps.out').toString('latin1').replace(/\r/g, '');
  await withHost({ pcpus: 1 }, async (host) => {
    host.define({ name: 'jitted', memory: '32M', kernel: null, initrd: null, bios, jit: 'on', jitThreshold: 1 });
    const d = host.info('jitted').definition;
    assert.equal(d.jit, 'on');
    assert.equal(d.jitThreshold, 1);
    await host.start('jitted', { paused: true });
    const out: Uint8Array[] = [];
    const con = host.attachConsole('jitted', (b) => out.push(b));
    out.unshift(con.scrollback);
    await host.resume('jitted');
    assert.ok(await waitForState(host, 'jitted', 'shutoff', 90_000), `the program powered the VM off (state ${host.info('jitted').state})`);
    con.detach();
    assert.equal(Buffer.concat(out).toString('latin1').replace(/\r/g, ''), want);
  });
});
