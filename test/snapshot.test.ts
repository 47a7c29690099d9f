// Snapshots (docs/snapshot-format.md): the bundled guest saved mid-workload by `rvisor run` and
// resumed in a new process (its counter continues, a file in its /tmp survives, its wall clock is
// the host's); every bad input refused with its error code and nothing allocated; the console key;
// and `rvisor vm save` / `start` (managed save) / `restore` against `rvisor serve`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GuestSession } from './guest-session.js';
import { ROOT, runRvisor } from './helpers.js';
import { startServe, until, vmIn, within } from './api-helpers.js';
import { RvisorError } from '../src/errors.js';
import { HostMemory } from '../src/memory/host-memory.js';
import { LocalVm } from '../src/vmm/local-vm.js';
import { HostConsole } from '../src/vmm/console.js';
import { IMAGES_DIR } from '../src/vmm/files.js';
import { checkDisks, checkMachine, nodeCodec, openSnapshotFile } from '../src/vmm/snapshot-file.js';
import { materializeMachine } from '../src/snapshot/machine.js';
import { FILE_HEADER, SECTION_HEADER } from '../src/snapshot/format.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-snap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function makeDisk(dir: string): string {
  const p = join(dir, 'disk.ext4');
  writeFileSync(p, gunzipSync(readFileSync(join(ROOT, 'images', 'disk.ext4.gz'))));
  return p;
}

function lastCount(text: string): number {
  const all = [...text.matchAll(/count (\d+)\r?\n/g)];
  return all.length ? Number(all[all.length - 1]![1]) : 0;
}

test('rvisor run: saved mid-workload (SIGUSR1), resumed by a new process: the count continues, /tmp and the disk survive, the wall clock is the host\'s', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const disk = makeDisk(dir);
  const file = join(dir, 'vm.rvs');
  const a = new GuestSession(['--mem', '256M', '--disk', disk, '--save-file', file]);
  t.after(() => a.kill());
  await a.waitFor('~ # ', 90_000);
  await a.run('echo kept-in-tmp > /tmp/note; echo on-disk > /mnt/note; sync');
  const uptime = (text: string) => Number(/^(\d+\.\d+) /m.exec(text)?.[1]);
  const upBefore = uptime(await a.run('cat /proc/uptime'));
  a.send('i=0; while true; do i=$((i+1)); echo "count $i"; sleep 0.2; done &');
  await a.waitFor('count 5');
  a.proc.kill('SIGUSR1');
  assert.equal(await within(a.exited, 30_000, 'rvisor run exits after saving'), 0, a.stderr);
  assert.match(a.stderr, /machine saved to .*vm\.rvs/);
  const before = lastCount(a.output);
  assert.ok(before >= 5);
  await sleep(3000); // the guest's wall clock must catch up with these seconds

  const b = new GuestSession(['--restore', file]);
  t.after(() => b.kill());
  const first = await b.waitFor(/count (\d+)\r?\n/, 30_000);
  const n = Number(/count (\d+)/.exec(first)![1]);
  // The loop resumes where it was (a restarted machine would print count 1, a lost one nothing).
  assert.ok(n === before || n === before + 1, `first count after the restore is ${n}, before the save ${before}`);
  assert.match(await b.run('cat /tmp/note /mnt/note'), /kept-in-tmp\r?\non-disk/);
  // Wall clock: the guest's date against the host's, read around it (date prints whole seconds).
  const t0 = Date.now() / 1000;
  const out = await b.run('date +%s');
  const t1 = Date.now() / 1000;
  const guest = Number(/^(\d{9,})\r?$/m.exec(out)?.[1]);
  assert.ok(guest >= Math.floor(t0) - 1 && guest <= t1 + 1, `guest wall clock ${guest}, host ${t0.toFixed(2)}..${t1.toFixed(2)}`);
  // Monotonic time never runs backwards: it went on from the save, by the seconds it was saved.
  const upAfter = uptime(await b.run('cat /proc/uptime'));
  assert.ok(upAfter >= upBefore + 3, `uptime ${upBefore} before the save, ${upAfter} after the restore`);
  b.send('poweroff -f');
  assert.equal(await within(b.exited, 30_000, 'restored guest powers off'), 0, b.stderr);
});

/** A snapshot of the bundled guest taken in this process after about a second of boot. */
async function quickSnapshot(dir: string, disk: string): Promise<string> {
  const file = join(dir, 'quick.rvs');
  const vm = new LocalVm({ vcpus: 1, memBytes: 64 * 1048576, kernel: join(IMAGES_DIR, 'Image.gz'), initrd: join(IMAGES_DIR, 'initramfs.cpio.gz'), append: 'console=ttyS0', bios: null },
    [{ path: disk, readOnly: false }], () => {});
  const running = vm.run();
  await sleep(1500);
  const r = await vm.save(file);
  assert.equal(await running, undefined);
  vm.close();
  assert.ok(r.pagesStored > 100 && r.bytes === statSync(file).size);
  return file;
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RvisorError, `not an RvisorError: ${(e as Error).stack}`);
    return e.code;
  }
  return 'accepted';
}

/** Opens and fully restores `file` into a fresh HostMemory; every frame is back after a refusal. */
function restoreInto(file: string): string {
  const host = new HostMemory();
  const inUse = host.framesInUse;
  const code = refusal(() => {
    const s = openSnapshotFile(file);
    try {
      const st = materializeMachine(s.reader, host, { config: s.config, meta: s.meta, nowMs: 0, wallNowNs: 0n, running: false });
      assert.equal(st.harts.length, 1);
    } finally {
      s.close();
    }
  });
  if (code !== 'accepted') assert.equal(host.framesInUse, inUse, 'a refused restore leaves no frame allocated');
  return code;
}

test('snapshot files: corrupt byte in every section, truncated, foreign, newer, mismatched, changed disk, missing file', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const disk = makeDisk(dir);
  const good = await quickSnapshot(dir, disk);
  const bytes = readFileSync(good);
  assert.equal(restoreInto(good), 'accepted');
  const variant = (name: string, edit: (b: Buffer) => Buffer): string => {
    const p = join(dir, name);
    writeFileSync(p, edit(Buffer.from(bytes)));
    return p;
  };

  // Every section, END included: one byte of its payload, and one of its header.
  const s = openSnapshotFile(good);
  const sections = [...s.reader.sections, { tag: 'END ', offset: s.reader.sections.at(-1)!.offset + SECTION_HEADER + s.reader.sections.at(-1)!.storedLength, storedLength: 1 }];
  s.close();
  assert.deepEqual([...new Set(sections.map((x) => x.tag))], ['META', 'CONF', 'HART', 'BORD', 'PAGE', 'END ']);
  for (const [i, sec] of sections.entries()) {
    const mid = sec.offset + SECTION_HEADER + Math.floor(sec.storedLength / 2);
    assert.equal(restoreInto(variant(`payload-${i}.rvs`, (b) => { b[mid] ^= 0x40; return b; })), 'SNAPSHOT_CORRUPT', `payload of ${sec.tag} #${i}`);
    assert.equal(restoreInto(variant(`header-${i}.rvs`, (b) => { b[sec.offset + 9] ^= 0x01; return b; })), 'SNAPSHOT_CORRUPT', `header of ${sec.tag} #${i}`);
  }
  // The file header: a flipped version byte is corruption, not a "newer" file.
  assert.equal(restoreInto(variant('hdr.rvs', (b) => { b[8] ^= 0x02; return b; })), 'SNAPSHOT_CORRUPT');
  // Truncated anywhere.
  for (const len of [FILE_HEADER - 2, FILE_HEADER, FILE_HEADER + 30, Math.floor(bytes.length / 2), bytes.length - 1]) {
    assert.equal(restoreInto(variant(`trunc-${len}.rvs`, (b) => b.subarray(0, len))), 'SNAPSHOT_CORRUPT', `truncated to ${len}`);
  }
  assert.equal(restoreInto(variant('extra.rvs', (b) => Buffer.concat([b, Buffer.from('x')]))), 'SNAPSHOT_CORRUPT');
  // Foreign files.
  assert.equal(restoreInto(variant('magic.rvs', (b) => { b[1] = 0x51; return b; })), 'SNAPSHOT_FOREIGN');
  assert.equal(restoreInto(variant('empty.rvs', () => Buffer.alloc(0))), 'SNAPSHOT_FOREIGN');
  assert.equal(restoreInto(join(ROOT, 'images', 'Image.gz')), 'SNAPSHOT_FOREIGN');
  // A newer format (a valid header of version 2).
  const newer = variant('newer.rvs', (b) => {
    b.writeUInt32LE(2, 8);
    const h = nodeCodec.sha256([b.subarray(0, 12)]);
    b.writeUInt32LE((h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0, 12);
    return b;
  });
  assert.equal(restoreInto(newer), 'SNAPSHOT_VERSION');
  assert.equal(restoreInto(join(dir, 'no-such.rvs')), 'ENOENT_FILE');
  assert.equal(restoreInto(dir), 'ENOENT_FILE');

  // Mismatched configuration, through rvisor run (exit status 15) and the check itself.
  const snap = openSnapshotFile(good);
  assert.equal(refusal(() => checkMachine(snap.config, { vcpus: 2, memBytes: 64 * 1048576, disks: [{ path: disk, readOnly: false }] }, 'x')), 'SNAPSHOT_MISMATCH');
  assert.equal(refusal(() => checkMachine(snap.config, { vcpus: 1, memBytes: 128 * 1048576, disks: [{ path: disk, readOnly: false }] }, 'x')), 'SNAPSHOT_MISMATCH');
  assert.equal(refusal(() => checkMachine(snap.config, { vcpus: 1, memBytes: 64 * 1048576, disks: [] }, 'x')), 'SNAPSHOT_MISMATCH');
  assert.equal(refusal(() => checkMachine(snap.config, { vcpus: 1, memBytes: 64 * 1048576, disks: [{ path: disk, readOnly: false }] }, 'x')), 'accepted');
  let r = runRvisor(['run', '--restore', good, '--mem', '128M'], { timeoutMs: 30_000 });
  assert.equal(r.status, 15, r.stderr);
  assert.match(r.stderr, /rvisor: snapshot .* is of another machine: it has 64 MiB of RAM, not 128 MiB/);
  for (const [f, status] of [[join(dir, 'payload-5.rvs'), 25], [join(dir, 'magic.rvs'), 24], [newer, 26], [join(dir, 'nope.rvs'), 3]] as const) {
    r = runRvisor(['run', '--restore', f], { timeoutMs: 30_000 });
    assert.equal(r.status, status, `${f}: ${r.stderr}`);
  }

  // Disks: untouched passes; touched with the same content passes (content hash); a changed byte
  // is refused unless forced; a missing disk is refused even forced.
  assert.equal(refusal(() => checkDisks(snap.config, 'x', false)), 'accepted');
  utimesSync(disk, new Date(), new Date());
  assert.equal(refusal(() => checkDisks(snap.config, 'x', false)), 'accepted');
  const saved = readFileSync(disk);
  const changed = Buffer.from(saved);
  changed[4096] ^= 1;
  writeFileSync(disk, changed);
  assert.equal(refusal(() => checkDisks(snap.config, 'x', false)), 'DISK_CHANGED');
  assert.equal(refusal(() => checkDisks(snap.config, 'x', true)), 'accepted');
  r = runRvisor(['run', '--restore', good], { timeoutMs: 30_000 });
  assert.equal(r.status, 27, r.stderr);
  assert.match(r.stderr, /disk .* changed since the snapshot was taken/);
  copyFileSync(disk, disk + '.bak');
  rmSync(disk);
  assert.equal(refusal(() => checkDisks(snap.config, 'x', true)), 'ENOENT_FILE');
  snap.close();
});

test('console: Ctrl-A W saves after delivering what was typed before it; the help lists it', () => {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin }) as unknown as NodeJS.ReadStream;
  const out: string[] = [];
  const stdout = { write: (b: string | Uint8Array) => { out.push(String(b)); return true; } } as unknown as NodeJS.WriteStream;
  const got: string[] = [];
  const c = new HostConsole({ input: (b) => got.push(Buffer.from(b).toString()), quit: () => got.push('QUIT'), save: () => got.push('SAVE') }, stdin, stdout);
  stdin.emit('data', Buffer.from('ab\x01hc\x01wd'));
  assert.deepEqual(got, ['abc', 'SAVE']);
  assert.match(out.join(''), /C-a w +save the machine to the save file and exit/);
  c.close();
});

test('rvisor vm save / start (managed save) / restore against rvisor serve', { timeout: 240_000 }, async (t) => {
  const serve = await startServe(t);
  const { dir } = serve;
  const run = vmIn(dir);
  const vm = (args: string[], input = '') => run(args, { input });
  const console_ = (name: string, input: string) => vm(['console', name, '--linger', '1'], input).out;

  writeFileSync(join(dir, 'g.json'), JSON.stringify({ name: 'g', memory: '128M' }));
  assert.equal(vm(['define', join(dir, 'g.json')]).status, 0);
  assert.equal(vm(['start', 'g']).status, 0);
  await until(() => console_('g', '').includes('rvisor guest ready'), 90_000, 'the guest reaches its shell');
  assert.match(console_('g', 'echo saved-$((6*7)) > /tmp/mark; cat /tmp/mark\n'), /saved-42/);

  const file = join(dir, 'g.rvs');
  let r = vm(['save', 'g', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.out, new RegExp(`^VM g saved to ${file} \\(\\d+\\.\\d MiB, \\d+ of \\d+ present pages stored, \\d+ ms\\)\\n$`));
  assert.match(vm(['info', 'g']).out, /State: +shutoff \(saved\)/);
  assert.ok(statSync(join(dir, 'vms', 'g', 'managed-save.rvs')).size === statSync(file).size);

  // start resumes the managed save (and drops it): the guest's /tmp is still there.
  r = vm(['start', 'g']);
  assert.deepEqual([r.status, r.out], [0, 'VM g resumed from its managed save\n'], r.stderr);
  assert.throws(() => statSync(join(dir, 'vms', 'g', 'managed-save.rvs')));
  assert.match(console_('g', 'cat /tmp/mark\n'), /saved-42/);
  assert.equal(vm(['destroy', 'g']).status, 0);

  // restore under a new name, paused: defined from the snapshot, resumed, same guest.
  r = vm(['restore', file, '--name', 'h', '--paused']);
  assert.deepEqual([r.status, r.out], [0, `VM h restored from ${file} (paused)\n`], r.stderr);
  assert.equal(JSON.parse(vm(['info', 'h', '--json']).out).definition.memory, '128M');
  assert.equal(vm(['resume', 'h']).status, 0);
  assert.match(console_('h', 'cat /tmp/mark\n'), /saved-42/);
  // restore into a VM that runs, a missing file, a corrupt one: refused, nothing defined.
  assert.equal(vm(['restore', file, '--name', 'h']).status, 19);
  assert.equal(vm(['restore', join(dir, 'none.rvs'), '--name', 'x']).status, 3);
  const bad = Buffer.from(readFileSync(file));
  bad[bad.length >> 1] ^= 0xff;
  writeFileSync(join(dir, 'bad.rvs'), bad);
  r = vm(['restore', join(dir, 'bad.rvs'), '--name', 'x']);
  assert.equal(r.status, 25, r.stderr);
  assert.doesNotMatch(vm(['list', '--all']).out, / x /);
  // a save of a VM that does not run
  assert.equal(vm(['save', 'g', join(dir, 'g2.rvs')]).status, 19);
  assert.equal(vm(['destroy', 'h']).status, 0);
  process.kill(serve.pid, 'SIGTERM');
  await within(serve.exited, 20_000, 'serve stops on SIGTERM');
});
