// qcow2 disk images: reading images QEMU made (test/fixtures/qcow2, built and re-checked by its
// build.sh with qemu-img and qemu-io), writing them (every byte checked against a mirror, the
// metadata by `rvisor img check`; scripts/oracle/qcow2-check.mjs re-checks the writes with
// qemu-img in CI), the backing chain rules, and the refusals of images rvisor must not open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RvisorError } from '../src/errors.js';
import { diskFiles, openDisk, openDisks, copyDiskFile, type HostDisk } from '../src/host/disk/host-disk.js';
import { Qcow2Disk } from '../src/host/disk/qcow2.js';
import { createQcow2 } from '../src/host/disk/qcow2-create.js';
import { checkQcow2 } from '../src/host/disk/qcow2-check.js';
import { readHeader } from '../src/host/disk/qcow2-format.js';
import { readRepoFile, runRvisor } from './helpers.js';
import { checkDisks, diskIdentity } from '../src/vmm/snapshot-file.js';
import type { SnapshotConfig } from '../src/snapshot/machine.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rvisor-qcow2-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const FIX = 'test/fixtures/qcow2';
const expected = JSON.parse(readRepoFile(`${FIX}/expected.json`).toString()) as Record<string, string>;

/** Unpacks the fixtures into a fresh directory (overlay.qcow2 names base.raw beside it). */
function fixtures(): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'fix-'));
  for (const f of Object.keys(expected)) fs.writeFileSync(path.join(dir, f), readRepoFile(`${FIX}/${f}.gz`));
  return dir;
}

function contents(d: HostDisk, step = 12345): Uint8Array {
  const out = new Uint8Array(d.size);
  for (let o = 0; o < d.size; o += step) {
    const n = Math.min(step, d.size - o);
    assert.ok(d.read(o, out.subarray(o, o + n)), `read at ${o}: ${d.lastError?.message}`);
  }
  return out;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const isCode = (code: string, re?: RegExp) => (e: unknown) => e instanceof RvisorError && e.code === code && (re === undefined || re.test(e.message));

test('qcow2: images made by qemu-img read as qemu-img converts them (backing file, zero, compressed, v2, 1-bit refcounts)', () => {
  const dir = fixtures();
  for (const [f, want] of Object.entries(expected)) {
    const d = openDisk(path.join(dir, f), { readOnly: true });
    try {
      assert.equal(d.format, f.endsWith('.qcow2') ? 'qcow2' : 'raw');
      assert.equal(d.size, 1 << 20);
      // Odd-sized, unaligned reads cross clusters, L2 tables and the backing file's data.
      assert.equal(sha(contents(d)), want, f);
      assert.equal(sha(contents(d, 4096)), want, f);
    } finally {
      d.close();
    }
  }
  // rvisor img check agrees with qemu-img check on QEMU's own images: clean.
  for (const f of Object.keys(expected).filter((x) => x.endsWith('.qcow2'))) {
    const r = checkQcow2(path.join(dir, f));
    assert.deepEqual([r.errors, r.leaks], [[], 0], f);
  }
  const ov = openDisk(path.join(dir, 'overlay.qcow2'), { readOnly: true });
  assert.deepEqual(diskFiles(ov).map((x) => [path.basename(x.path), x.format, x.readOnly]), [['overlay.qcow2', 'qcow2', true], ['base.raw', 'raw', true]]);
  ov.close();
});

/** Random writes through the backend, mirrored; then every byte and the metadata are checked. */
function exercise(file: string, writes: number, maxLen: number, seed: number): void {
  let s = seed;
  const rnd = (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
  const d = openDisk(file);
  const mirror = contents(d);
  for (let k = 0; k < writes; k++) {
    const len = 512 * (1 + rnd(maxLen / 512));
    const off = 512 * rnd((d.size - len) / 512 + 1);
    const buf = new Uint8Array(len);
    if (k % 5 === 4) {
      // WRITE_ZEROES: whole clusters become zero clusters, the rest is written.
      assert.ok(d.writeZeroes!(off, len), `zeroes ${k} at ${off}: ${d.lastError?.message}`);
    } else {
      for (let i = 0; i < len; i += 512) buf.fill(1 + rnd(255), i, i + 512);
      assert.ok(d.write(off, buf), `write ${k} at ${off}: ${d.lastError?.message}`);
    }
    mirror.set(buf, off);
  }
  assert.ok(d.flush());
  d.close();
  const again = openDisk(file, { readOnly: true });
  assert.ok(Buffer.from(contents(again)).equals(Buffer.from(mirror)), `${file}: contents differ from the mirror`);
  again.close();
  const r = checkQcow2(file);
  assert.deepEqual(r.errors, [], `${file}: img check`);
  assert.equal(r.leaks, 0, `${file}: leaked clusters`);
}

test('qcow2: writes land where they should and keep the metadata consistent (every fixture kind)', () => {
  const dir = fixtures();
  // Over the backing file: partial clusters copy the rest from base.raw, which stays untouched.
  const base = fs.readFileSync(path.join(dir, 'base.raw'));
  exercise(path.join(dir, 'overlay.qcow2'), 120, 70000, 1);
  assert.ok(fs.readFileSync(path.join(dir, 'base.raw')).equals(base), 'the backing file was written');
  exercise(path.join(dir, 'compressed.qcow2'), 120, 70000, 2); // compressed clusters rewritten and released
  exercise(path.join(dir, 'v2.qcow2'), 120, 9000, 3);
  exercise(path.join(dir, 'refcount1.qcow2'), 120, 9000, 4);
});

test('qcow2: images rvisor creates, including ones whose refcount table must move', () => {
  const a = path.join(tmp, 'new64k.qcow2');
  createQcow2(a, { size: 8 << 20 });
  assert.deepEqual(checkQcow2(a).errors, []);
  exercise(a, 150, 200000, 5);
  // 512-byte clusters: one refcount block covers 128 KiB and the first table 8 MiB, so 20 MiB of
  // writes need new blocks and a larger table.
  const b = path.join(tmp, 'new512.qcow2');
  createQcow2(b, { size: 32 << 20, clusterBits: 9 });
  const fd = fs.openSync(b, 'r');
  const before = readHeader(fd, b, fs.fstatSync(fd).size);
  fs.closeSync(fd);
  const d = openDisk(b);
  const chunk = new Uint8Array(1 << 20).fill(0x3c);
  for (let off = 0; off < 20 << 20; off += 1 << 20) assert.ok(d.write(off, chunk));
  d.close();
  const fd2 = fs.openSync(b, 'r');
  const after = readHeader(fd2, b, fs.fstatSync(fd2).size);
  fs.closeSync(fd2);
  assert.notEqual(after.refTableOffset, before.refTableOffset, 'the refcount table moved');
  assert.ok(after.refTableClusters > before.refTableClusters);
  exercise(b, 100, 20000, 6);
  // A large virtual size with small clusters: the L1 table itself needs several refcount blocks.
  const c = path.join(tmp, 'bigl1.qcow2');
  createQcow2(c, { size: 2 ** 40, clusterBits: 9 });
  assert.deepEqual(checkQcow2(c).errors, []);
  assert.equal(checkQcow2(c).leaks, 0);
});

test('qcow2: an overlay made by rvisor img create reads its backing file, writes only itself; a copy keeps its backing file', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'ov-'));
  const base = path.join(dir, 'base.raw');
  const bytes = new Uint8Array(4 << 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 13) >> 8;
  fs.writeFileSync(base, bytes);
  const r = runRvisor(['img', 'create', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', path.join(dir, 'ov.qcow2')]);
  assert.equal(r.status, 0, r.stderr);
  const ov = openDisk(path.join(dir, 'ov.qcow2'));
  assert.equal(ov.size, 4 << 20);
  assert.ok(Buffer.from(contents(ov)).equals(Buffer.from(bytes)));
  assert.ok(ov.write(1000, new Uint8Array(3000).fill(9)));
  ov.close();
  assert.ok(fs.readFileSync(base).equals(bytes), 'the backing file is never written');
  // Copied elsewhere (a clone's folder), the relative backing name becomes absolute.
  const other = fs.mkdtempSync(path.join(tmp, 'clone-'));
  copyDiskFile(path.join(dir, 'ov.qcow2'), path.join(other, 'disk-0.img'), fs.constants.COPYFILE_EXCL);
  const copy = openDisk(path.join(other, 'disk-0.img'), { readOnly: true });
  assert.equal(diskFiles(copy)[1]!.path, base);
  const want = Uint8Array.from(bytes);
  want.fill(9, 1000, 4000);
  assert.ok(Buffer.from(contents(copy)).equals(Buffer.from(want)));
  copy.close();
  // img info and img check.
  const info = runRvisor(['img', 'info', '--json', path.join(dir, 'ov.qcow2')]);
  assert.equal(info.status, 0, info.stderr);
  const chain = JSON.parse(info.stdout.toString());
  assert.deepEqual(chain.map((c: { format: string }) => c.format), ['qcow2', 'raw']);
  assert.equal(chain[0]['backing-filename'], 'base.raw');
  assert.equal(chain[0]['backing-filename-format'], 'raw');
  const chk = runRvisor(['img', 'check', path.join(dir, 'ov.qcow2')]);
  assert.equal(chk.status, 0, chk.stdout.toString());
  assert.match(chk.stdout.toString(), /No errors were found/);
});

test('qcow2: img create refuses what it must (existing file, bad size, missing backing, -b without qcow2)', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'create-'));
  const f = path.join(dir, 'x.qcow2');
  assert.equal(runRvisor(['img', 'create', f, '1M']).status, 0);
  const before = fs.readFileSync(f);
  const again = runRvisor(['img', 'create', f, '2M']);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already exists/);
  assert.ok(fs.readFileSync(f).equals(before));
  for (const [args, re] of [
    [['create', path.join(dir, 'a'), '1000'], /512-byte sectors/],
    [['create', path.join(dir, 'b'), 'lots'], /expected bytes or a size/],
    [['create', path.join(dir, 'c')], /SIZE is needed/],
    [['create', '-f', 'raw', '-b', f, path.join(dir, 'd')], /needs -f qcow2/],
    [['create', '-f', 'vmdk', path.join(dir, 'e'), '1M'], /expected raw or qcow2/],
  ] as const) {
    const r = runRvisor(['img', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const missing = runRvisor(['img', 'create', '-b', 'nothere.raw', path.join(dir, 'g.qcow2')]);
  assert.equal(missing.status, 3);
  assert.match(missing.stderr, /backing file .*nothere\.raw' does not exist/);
  for (const x of ['a', 'b', 'c', 'd', 'e', 'g.qcow2']) assert.ok(!fs.existsSync(path.join(dir, x)), `${x} was created`);
  // A raw image, sparse.
  const raw = path.join(dir, 'r.img');
  assert.equal(runRvisor(['img', 'create', '-f', 'raw', raw, '64M']).status, 0);
  assert.equal(fs.statSync(raw).size, 64 << 20);
});

/** A copy of a fresh image with bytes patched in (to make the broken and the unsupported). */
function patched(name: string, patch: (b: Buffer) => void, opts: { backing?: string } = {}): string {
  const f = path.join(tmp, name);
  createQcow2(f, { size: 1 << 20, ...(opts.backing ? { backing: { name: opts.backing, format: 'qcow2' } } : {}) });
  const b = fs.readFileSync(f);
  patch(b);
  fs.writeFileSync(f, b);
  return f;
}

test('qcow2: refuses images it cannot use safely, naming the problem; nothing is modified', () => {
  const cases: [string, (b: Buffer) => void, string, RegExp][] = [
    ['encrypted', (b) => b.writeUInt32BE(1, 32), 'BAD_IMAGE', /encrypted/],
    ['version 4', (b) => b.writeUInt32BE(4, 4), 'BAD_IMAGE', /version 4 is not supported/],
    ['cluster bits 30', (b) => b.writeUInt32BE(30, 20), 'BAD_IMAGE', /cluster_bits 30/],
    ['unknown incompatible bit', (b) => b.writeUInt32BE(0x100, 76), 'BAD_IMAGE', /unknown incompatible feature bits 0x100/],
    ['external data file', (b) => b.writeUInt32BE(4, 76), 'BAD_IMAGE', /external data file/],
    ['extended L2', (b) => b.writeUInt32BE(16, 76), 'BAD_IMAGE', /extended L2/],
    ['L1 too small', (b) => b.writeUInt32BE(0, 36), 'BAD_IMAGE', /does not cover the virtual size/],
    ['refcount table past the end', (b) => b.writeUInt32BE(1000, 56), 'BAD_IMAGE', /refcount table .* does not fit/],
    ['dirty, read-write', (b) => b.writeUInt32BE(1, 76), 'DISK_READONLY', /marked dirty/],
    ['corrupt, read-write', (b) => b.writeUInt32BE(2, 76), 'DISK_READONLY', /marked corrupt/],
    ['snapshots, read-write', (b) => b.writeUInt32BE(1, 60), 'DISK_READONLY', /internal snapshot/],
  ];
  for (const [name, patch, code, re] of cases) {
    const f = patched(`bad-${name.replace(/\W/g, '_')}.qcow2`, patch);
    const before = fs.readFileSync(f);
    assert.throws(() => openDisk(f), isCode(code, re), name);
    assert.ok(fs.readFileSync(f).equals(before), `${name}: the file changed`);
  }
  // Dirty, corrupt or with snapshots: still readable read-only.
  for (const off of [76, 60]) {
    const f = patched(`ro-${off}.qcow2`, (b) => b.writeUInt32BE(1, off));
    openDisk(f, { readOnly: true }).close();
  }
  // Not qcow2 at all, when the format is given.
  const raw = path.join(tmp, 'plain.raw');
  fs.writeFileSync(raw, new Uint8Array(4096));
  assert.throws(() => openDisk(raw, { format: 'qcow2' }), isCode('BAD_IMAGE', /not a qcow2 image/));
  assert.equal(openDisk(raw).format, 'raw');
  // A truncated header.
  const trunc = path.join(tmp, 'trunc.qcow2');
  fs.writeFileSync(trunc, readRepoFile(`${FIX}/v2.qcow2.gz`).subarray(0, 40));
  assert.throws(() => openDisk(trunc, { readOnly: true }), isCode('BAD_IMAGE', /shorter than its header/));
});

test('qcow2: backing chains: missing file, loops and long chains are refused; a disk may not be attached beside its backing file read-write', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'chain-'));
  const a = path.join(dir, 'a.qcow2'), b = path.join(dir, 'b.qcow2');
  createQcow2(a, { size: 1 << 20, backing: { name: 'b.qcow2', format: 'qcow2' } });
  assert.throws(() => openDisk(a), isCode('ENOENT_FILE', /its backing file .*b\.qcow2' does not exist/));
  createQcow2(b, { size: 1 << 20, backing: { name: 'a.qcow2', format: 'qcow2' } });
  assert.throws(() => openDisk(a), isCode('BAD_IMAGE', /comes back to .*a\.qcow2' \(a loop\)/));
  // 20 images deep.
  let prev = path.join(dir, 'c0.raw');
  fs.writeFileSync(prev, new Uint8Array(1 << 20));
  for (let i = 1; i <= 20; i++) {
    const next = path.join(dir, `c${i}.qcow2`);
    createQcow2(next, { size: 1 << 20, backing: { name: path.basename(prev), format: i === 1 ? 'raw' : 'qcow2' } });
    prev = next;
  }
  assert.throws(() => openDisk(prev), isCode('BAD_IMAGE', /longer than 16 images/));
  const ok = openDisk(path.join(dir, 'c10.qcow2'));
  assert.equal(diskFiles(ok).length, 11);
  ok.close();
  // Beside its backing file: read-only both is fine, either writable is refused.
  const c1 = path.join(dir, 'c1.qcow2'), c0 = path.join(dir, 'c0.raw');
  openDisks([{ path: c1, readOnly: true }, { path: c0, readOnly: true }]).forEach((d) => d.close());
  assert.throws(() => openDisks([{ path: c1 }, { path: c0 }]), isCode('DISK_OPEN', /is the backing file of the attached disk/));
  assert.throws(() => openDisks([{ path: c0 }, { path: c1, readOnly: true }]), isCode('DISK_OPEN', /is the backing file of the attached disk/));
});

test('qcow2: a hostile image fails its reads, never the host: clusters past the end, bad compressed data', () => {
  const f = path.join(tmp, 'hostile.qcow2');
  createQcow2(f, { size: 1 << 20 });
  const d = openDisk(f) as Qcow2Disk;
  assert.ok(d.write(0, new Uint8Array(65536).fill(1)));
  d.close();
  const b = fs.readFileSync(f);
  const h = readHeader(fs.openSync(f, 'r'), f, b.length);
  const l2 = Number(b.readBigUInt64BE(h.l1Offset) & 0x00fffffffffffe00n);
  // The data cluster far past the end of the file: reads as zeros (as QEMU), nothing crashes.
  b.writeBigUInt64BE(0x8000000000000000n | (1n << 40n), l2);
  fs.writeFileSync(f, b);
  const d2 = openDisk(f, { readOnly: true });
  const buf = new Uint8Array(4096).fill(7);
  assert.ok(d2.read(0, buf));
  assert.ok(buf.every((x) => x === 0));
  d2.close();
  // Compressed garbage: the read fails (the guest gets an I/O error), the error says why.
  b.writeBigUInt64BE(0x4000000000000000n | 0x30000n, l2);
  fs.writeFileSync(f, b);
  const d3 = openDisk(f, { readOnly: true });
  assert.equal(d3.read(0, new Uint8Array(512)), false);
  assert.match(d3.lastError!.message, /compressed cluster 0 .* (cannot be decompressed|decompresses to)/);
  d3.close();
});

test('qcow2: a raw disk whose format was probed refuses a guest write of a qcow2 header to its first sector', () => {
  const f = path.join(tmp, 'probe.raw');
  fs.writeFileSync(f, new Uint8Array(8192));
  const header = new Uint8Array(512);
  header.set([0x51, 0x46, 0x49, 0xfb]);
  const probed = openDisk(f);
  assert.equal(probed.write(0, header), false);
  assert.match(probed.lastError!.message, /qcow2 header/);
  assert.ok(probed.write(512, header), 'elsewhere it is data like any other');
  assert.ok(probed.write(0, new Uint8Array(512).fill(1)));
  probed.close();
  const given = openDisk(f, { format: 'raw' });
  assert.ok(given.write(0, header), 'format=raw given: the guest owns every byte');
  given.close();
});

test('qcow2: img check reports a leak (status 3) and a refcount below its references (status 2)', () => {
  const f = path.join(tmp, 'leaky.qcow2');
  createQcow2(f, { size: 1 << 20 });
  const d = openDisk(f);
  assert.ok(d.write(0, new Uint8Array(512).fill(1)));
  d.close();
  const b = fs.readFileSync(f);
  const h = readHeader(fs.openSync(f, 'r'), f, b.length);
  const block = Number(b.readBigUInt64BE(h.refTableOffset));
  const clusters = Math.ceil(b.length / 65536);
  // One more cluster counted than exists: a leak.
  b.writeUInt16BE(1, block + clusters * 2);
  fs.writeFileSync(f, b);
  let r = runRvisor(['img', 'check', f]);
  assert.equal(r.status, 3, r.stdout.toString());
  assert.match(r.stdout.toString(), /1 leaked cluster/);
  // The data cluster's refcount dropped to 0: corruption.
  b.writeUInt16BE(0, block + (clusters - 1) * 2);
  fs.writeFileSync(f, b);
  r = runRvisor(['img', 'check', f]);
  assert.equal(r.status, 2, r.stdout.toString());
  assert.match(r.stdout.toString(), /ERROR cluster \d+ .*refcount 0, but 1 reference/);
});

test('qcow2: a snapshot records the backing chain, and a restore refuses a backing file that changed since', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'snap-'));
  const base = path.join(dir, 'base.raw');
  fs.writeFileSync(base, new Uint8Array(1 << 20).fill(5));
  const ov = path.join(dir, 'ov.qcow2');
  createQcow2(ov, { size: 1 << 20, backing: { name: 'base.raw', format: 'raw' } });
  const id = diskIdentity({ path: ov, readOnly: false });
  assert.deepEqual(id.backing?.map((b) => b.path), [base]);
  const config = { disks: [id] } as unknown as SnapshotConfig;
  checkDisks(config, 'snapshot s', false);
  const fd = fs.openSync(base, 'r+');
  fs.writeSync(fd, new Uint8Array([1]), 0, 1, 4096);
  fs.closeSync(fd);
  assert.throws(() => checkDisks(config, 'snapshot s', false), isCode('DISK_CHANGED', /backing file .*base\.raw changed/));
  checkDisks(config, 'snapshot s', true);
  assert.equal(diskIdentity({ path: base, readOnly: true }).backing, undefined, 'a raw disk has no chain');
});

test('qcow2: write-zeroes over the backing file makes zero clusters, allocating no data', () => {
  const dir = fixtures();
  const f = path.join(dir, 'overlay.qcow2');
  const before = checkQcow2(f).dataClusters;
  const size0 = fs.statSync(f).size;
  const d = openDisk(f);
  // 0..256K is base data (0x11) under the overlay's 0x33 at 128K..384K: all of it becomes zeros.
  assert.ok(d.writeZeroes!(0, 6 * 65536));
  const z = new Uint8Array(6 * 65536).fill(1);
  assert.ok(d.read(0, z));
  assert.ok(z.every((x) => x === 0));
  d.close();
  assert.ok(fs.statSync(f).size <= size0 + 65536, 'at most one new L2 table, no data clusters');
  const r = checkQcow2(f);
  assert.deepEqual(r.errors, []);
  assert.equal(r.leaks, 0);
  assert.ok(r.dataClusters <= before, `${r.dataClusters} data clusters, ${before} before`);
});

test('qcow2: img convert copies content through the backing chain into raw or qcow2, leaving zeros unallocated', () => {
  const dir = fixtures();
  const src = path.join(dir, 'overlay.qcow2');
  const ov = openDisk(src, { readOnly: true });
  const want = sha(contents(ov));
  ov.close();
  for (const [fmt, extra] of [['raw', []], ['qcow2', []], ['qcow2', ['--cluster-size', '4K']]] as const) {
    const out = path.join(dir, `out-${fmt}-${extra.length}.img`);
    const r = runRvisor(['img', 'convert', '-O', fmt, ...extra, src, out]);
    assert.equal(r.status, 0, r.stderr);
    const d = openDisk(out, { readOnly: true });
    assert.equal(d.format, fmt);
    assert.equal(sha(contents(d)), want, `${fmt} ${extra.join(' ')}`);
    d.close();
    if (fmt === 'qcow2') {
      const c = checkQcow2(out);
      assert.deepEqual(c.errors, []);
      // Data: base 0..384K (0x11, then 0x33), 640K..704K (0x22), 1020K..1024K (0x44); no zeros.
      assert.ok(c.dataClusters * 2 ** c.header.clusterBits <= 576 * 1024, `${c.dataClusters} clusters allocated`);
    }
  }
  // A failure leaves no file behind; an existing destination is never overwritten.
  const missing = runRvisor(['img', 'convert', path.join(dir, 'nothere.qcow2'), path.join(dir, 'never.raw')]);
  assert.equal(missing.status, 3);
  assert.ok(!fs.existsSync(path.join(dir, 'never.raw')));
  const existing = runRvisor(['img', 'convert', src, path.join(dir, 'base.raw')]);
  assert.equal(existing.status, 2);
  assert.match(existing.stderr, /already exists/);
  assert.equal(sha(fs.readFileSync(path.join(dir, 'base.raw'))), expected['base.raw']);
});

test('qcow2: an L1 or L2 entry missing its COPIED flag (refcount 1) is flagged by img check and repaired by the next write', () => {
  const f = path.join(tmp, 'nocopied.qcow2');
  createQcow2(f, { size: 1 << 20 });
  const d = openDisk(f);
  assert.ok(d.write(0, new Uint8Array(65536).fill(3)));
  d.close();
  const b = fs.readFileSync(f);
  const h = readHeader(fs.openSync(f, 'r'), f, b.length);
  const l1 = b.readBigUInt64BE(h.l1Offset);
  const l2 = Number(l1 & 0x00fffffffffffe00n);
  b.writeBigUInt64BE(l1 & ~(1n << 63n), h.l1Offset);
  b.writeBigUInt64BE(b.readBigUInt64BE(l2) & ~(1n << 63n), l2);
  fs.writeFileSync(f, b);
  assert.equal(checkQcow2(f).errors.length, 2);
  const d2 = openDisk(f);
  assert.ok(d2.write(100, new Uint8Array(10).fill(4)));
  d2.close();
  assert.deepEqual(checkQcow2(f).errors, []);
  assert.equal(checkQcow2(f).dataClusters, 1, 'written in place, not copied');
});
