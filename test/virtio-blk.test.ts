// virtio-blk over virtio-mmio, driven like Linux drives it, against raw image files in a temp
// directory: read, write, flush, discard, write-zeroes, GET_ID, bounds, read-only disks, and the
// raw-file backend's refusal to open what it must not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RvisorError } from '../src/errors.js';
import { RawFileDisk } from '../src/host/disk/raw-file.js';
import { openDisks } from '../src/host/disk/host-disk.js';
import { MMIO_CONFIG, MMIO_DEVICE_ID } from '../src/devices/virtio/transport/mmio.js';
import { VIRTIO_F_VERSION_1 } from '../src/devices/virtio/transport/virtio-device.js';
import {
  VirtioBlk, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_WRITE_ZEROES, VIRTIO_BLK_F_WRITE_ZEROES,
  BLK_CFG_BLK_SIZE, BLK_CFG_SEG_MAX,
} from '../src/devices/virtio/blk/blk.js';
import { MemoryBlockBackend, type BlockBackend } from '../src/devices/virtio/blk/backend.js';
import { blkRig } from './virtio-driver.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rvisor-blk-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;

/** A raw image of `sectors` sectors, each filled with its sector number's low byte. */
function makeImage(sectors: number): string {
  const p = path.join(tmp, `disk${fileNo++}.img`);
  const b = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) b.fill(s & 0xff, s * 512, s * 512 + 512);
  fs.writeFileSync(p, b);
  return p;
}

test('virtio-blk: identity, features and config as Linux reads them', () => {
  const disk = RawFileDisk.open(makeImage(64));
  const { drv, blk } = blkRig(disk, { serial: 'rvisor-0' });
  assert.equal(drv.r(MMIO_DEVICE_ID), 2);
  const f = drv.offeredFeatures();
  for (const bit of [VIRTIO_F_VERSION_1, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES]) {
    assert.ok(f & bit, `feature ${bit} offered`);
  }
  assert.equal(f & VIRTIO_BLK_F_RO, 0n);
  // capacity as two 32-bit reads (vm_get for a u64), then bytewise
  assert.equal(drv.dev.read(MMIO_CONFIG, 4), 64);
  assert.equal(drv.dev.read(MMIO_CONFIG + 4, 4), 0);
  assert.equal(drv.dev.read(MMIO_CONFIG, 1), 64);
  assert.equal(drv.dev.read(MMIO_CONFIG + BLK_CFG_BLK_SIZE, 4), 512);
  assert.equal(drv.dev.read(MMIO_CONFIG + BLK_CFG_SEG_MAX, 4), 254);
  assert.equal(drv.dev.read(MMIO_CONFIG + 0x1000 - 0x100 - 4, 4), 0, 'past the config: 0');
  assert.equal(blk.capacity, 64);
  disk.close();
});

test('virtio-blk: read, write, flush, GET_ID against a raw file', () => {
  const file = makeImage(64);
  const disk = RawFileDisk.open(file);
  const { req } = blkRig(disk, { serial: 'rvisor-0' });

  let r = req(VIRTIO_BLK_T_IN, 3, { inLen: 1024 });
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  assert.equal(r.len, 1025, 'used len = data + status byte');
  assert.ok(r.data.subarray(0, 512).every((b) => b === 3));
  assert.ok(r.data.subarray(512).every((b) => b === 4));

  const payload = new Uint8Array(1536).map((_, i) => (i * 7) & 0xff);
  r = req(VIRTIO_BLK_T_OUT, 10, { out: payload });
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  assert.equal(r.len, 1);
  r = req(VIRTIO_BLK_T_FLUSH, 0);
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  const onDisk = fs.readFileSync(file);
  assert.deepEqual(onDisk.subarray(10 * 512, 13 * 512), Buffer.from(payload));
  assert.ok(onDisk.subarray(9 * 512, 10 * 512).every((b) => b === 9), 'neighbours untouched');
  assert.ok(onDisk.subarray(13 * 512, 14 * 512).every((b) => b === 13));

  // read back through an indirect table
  r = req(VIRTIO_BLK_T_IN, 10, { inLen: 1536, indirect: true });
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  assert.deepEqual(r.data, payload);

  r = req(VIRTIO_BLK_T_GET_ID, 0, { inLen: 20 });
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  assert.equal(Buffer.from(r.data).toString('latin1'), 'rvisor-0' + '\0'.repeat(12));

  r = req(0x1234, 0, { inLen: 512 });
  assert.equal(r.status, VIRTIO_BLK_S_UNSUPP, 'unknown request type');
  disk.close();
});

test('virtio-blk: sector ranges are checked against the capacity', () => {
  const file = makeImage(16);
  const before = fs.readFileSync(file);
  const disk = RawFileDisk.open(file);
  const { req } = blkRig(disk);
  assert.equal(req(VIRTIO_BLK_T_IN, 15, { inLen: 512 }).status, VIRTIO_BLK_S_OK, 'last sector');
  assert.equal(req(VIRTIO_BLK_T_IN, 15, { inLen: 1024 }).status, VIRTIO_BLK_S_IOERR, 'past the end');
  assert.equal(req(VIRTIO_BLK_T_IN, 16, { inLen: 512 }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(req(VIRTIO_BLK_T_IN, 0xffffffffffffffffn, { inLen: 512 }).status, VIRTIO_BLK_S_IOERR, 'huge sector');
  assert.equal(req(VIRTIO_BLK_T_IN, 0, { inLen: 100 }).status, VIRTIO_BLK_S_IOERR, 'not whole sectors');
  assert.equal(req(VIRTIO_BLK_T_OUT, 16, { out: new Uint8Array(512) }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(req(VIRTIO_BLK_T_OUT, 2n ** 63n, { out: new Uint8Array(512) }).status, VIRTIO_BLK_S_IOERR);
  disk.close();
  assert.deepEqual(fs.readFileSync(file), before, 'file unchanged');
});

function dwz(segs: [bigint | number, number, number][]): Uint8Array {
  const b = new Uint8Array(16 * segs.length);
  const v = new DataView(b.buffer);
  segs.forEach(([s, n, f], i) => {
    v.setBigUint64(16 * i, BigInt(s), true);
    v.setUint32(16 * i + 8, n, true);
    v.setUint32(16 * i + 12, f, true);
  });
  return b;
}

test('virtio-blk: discard and write-zeroes', () => {
  const file = makeImage(32);
  const disk = RawFileDisk.open(file);
  const { req } = blkRig(disk);
  assert.equal(req(VIRTIO_BLK_T_DISCARD, 0, { out: dwz([[4, 4, 0]]) }).status, VIRTIO_BLK_S_OK);
  assert.equal(req(VIRTIO_BLK_T_DISCARD, 0, { out: dwz([[4, 4, 1]]) }).status, VIRTIO_BLK_S_UNSUPP, 'unmap flag on discard');
  assert.equal(req(VIRTIO_BLK_T_DISCARD, 0, { out: dwz([[30, 4, 0]]) }).status, VIRTIO_BLK_S_IOERR, 'past the end');
  assert.equal(req(VIRTIO_BLK_T_DISCARD, 0, { out: new Uint8Array(8) }).status, VIRTIO_BLK_S_IOERR, 'torn segment');
  assert.equal(req(VIRTIO_BLK_T_WRITE_ZEROES, 0, { out: dwz([[8, 2, 1], [20, 1, 0]]) }).status, VIRTIO_BLK_S_OK);
  assert.equal(req(VIRTIO_BLK_T_WRITE_ZEROES, 0, { out: dwz([[8, 2, 4]]) }).status, VIRTIO_BLK_S_UNSUPP, 'unknown flag');
  // a bad segment anywhere fails the whole request before anything is written
  assert.equal(req(VIRTIO_BLK_T_WRITE_ZEROES, 0, { out: dwz([[0, 1, 0], [32, 1, 0]]) }).status, VIRTIO_BLK_S_IOERR);
  const d = fs.readFileSync(file);
  assert.ok(d.subarray(0, 512).every((b) => b === 0 /* sector 0 holds 0 anyway */));
  assert.ok(d.subarray(1 * 512, 2 * 512).every((b) => b === 1));
  assert.ok(d.subarray(7 * 512, 8 * 512).every((b) => b === 7));
  assert.ok(d.subarray(8 * 512, 10 * 512).every((b) => b === 0));
  assert.ok(d.subarray(10 * 512, 11 * 512).every((b) => b === 10));
  assert.ok(d.subarray(20 * 512, 21 * 512).every((b) => b === 0));
  assert.ok(d.subarray(21 * 512, 22 * 512).every((b) => b === 21));
  disk.close();
});

test('virtio-blk: a read-only disk offers F_RO, refuses writes with IOERR (§5.2.6.2), file untouched', () => {
  const file = makeImage(16);
  const before = fs.readFileSync(file);
  const mtime = fs.statSync(file).mtimeMs;
  const disk = RawFileDisk.open(file, { readOnly: true });
  const { req, drv } = blkRig(disk);
  const f = drv.offeredFeatures();
  assert.ok(f & VIRTIO_BLK_F_RO);
  assert.equal(f & VIRTIO_BLK_F_DISCARD, 0n);
  assert.equal(req(VIRTIO_BLK_T_OUT, 1, { out: new Uint8Array(512).fill(0x55) }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(req(VIRTIO_BLK_T_DISCARD, 0, { out: dwz([[1, 1, 0]]) }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(req(VIRTIO_BLK_T_WRITE_ZEROES, 0, { out: dwz([[1, 1, 0]]) }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(req(VIRTIO_BLK_T_FLUSH, 0).status, VIRTIO_BLK_S_OK);
  const r = req(VIRTIO_BLK_T_IN, 1, { inLen: 512 });
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  assert.ok(r.data.every((b) => b === 1));
  disk.close();
  assert.deepEqual(fs.readFileSync(file), before);
  assert.equal(fs.statSync(file).mtimeMs, mtime);

  // a writable backend forced read-only by the device option behaves the same
  const mem = new MemoryBlockBackend(8192);
  const rig = blkRig(mem, { readOnly: true });
  assert.equal(rig.req(VIRTIO_BLK_T_OUT, 0, { out: new Uint8Array(512).fill(1) }).status, VIRTIO_BLK_S_IOERR);
  assert.ok(mem.bytes.every((b) => b === 0));
});

test('virtio-blk: backend failures are IOERR, including a throwing backend', () => {
  const mem = new MemoryBlockBackend(8192);
  let fail = false;
  const flaky: BlockBackend = {
    size: mem.size,
    readOnly: false,
    read: (o, b) => { if (fail) throw new Error('EIO'); return mem.read(o, b); },
    write: (o, b) => !fail && mem.write(o, b),
    flush: () => !fail,
    discard: () => !fail,
  };
  const { req } = blkRig(flaky);
  fail = true;
  assert.equal(req(VIRTIO_BLK_T_IN, 0, { inLen: 512 }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(req(VIRTIO_BLK_T_OUT, 0, { out: new Uint8Array(512) }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(req(VIRTIO_BLK_T_FLUSH, 0).status, VIRTIO_BLK_S_IOERR);
  assert.equal(req(VIRTIO_BLK_T_WRITE_ZEROES, 0, { out: dwz([[0, 1, 0]]) }).status, VIRTIO_BLK_S_IOERR);
  fail = false;
  assert.equal(req(VIRTIO_BLK_T_IN, 0, { inLen: 512 }).status, VIRTIO_BLK_S_OK);
});

test('virtio-blk: a large request crosses the host chunk size', () => {
  const mem = new MemoryBlockBackend(4 << 20);
  for (let i = 0; i < mem.bytes.length; i++) mem.bytes[i] = (i * 13 + (i >> 9)) & 0xff;
  const { req } = blkRig(mem);
  const len = 1280 << 10; // > the 1 MiB host chunk
  const r = req(VIRTIO_BLK_T_IN, 8, { inLen: len, indirect: true });
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  assert.equal(r.len, len + 1);
  assert.deepEqual(r.data, mem.bytes.subarray(8 * 512, 8 * 512 + len));
  const out = new Uint8Array(len).map((_, i) => (i * 31) & 0xff);
  assert.equal(req(VIRTIO_BLK_T_OUT, 100, { out }).status, VIRTIO_BLK_S_OK);
  assert.deepEqual(mem.bytes.subarray(100 * 512, 100 * 512 + len), out);
});

test('raw file backend: missing files, directories and write-protected files are clear errors', () => {
  const missing = path.join(tmp, 'nope.img');
  assert.throws(() => RawFileDisk.open(missing), (e: unknown) => e instanceof RvisorError && e.code === 'ENOENT_FILE' && /does not exist/.test(e.message));
  assert.throws(() => RawFileDisk.open(missing, { readOnly: true }), (e: unknown) => e instanceof RvisorError && e.code === 'ENOENT_FILE');
  assert.equal(fs.existsSync(missing), false, 'nothing created');

  assert.throws(() => RawFileDisk.open(tmp), (e: unknown) => e instanceof RvisorError && e.code === 'DISK_OPEN' && /not a regular file/.test(e.message));

  const ro = makeImage(4);
  const before = fs.readFileSync(ro);
  fs.chmodSync(ro, 0o444);
  assert.throws(() => RawFileDisk.open(ro), (e: unknown) => e instanceof RvisorError && e.code === 'DISK_READONLY' && /read-only/.test(e.message));
  const d = RawFileDisk.open(ro, { readOnly: true });
  assert.equal(d.readOnly, true);
  assert.equal(d.size, 4 * 512);
  assert.equal(d.write(0, new Uint8Array(512)), false);
  d.close();
  assert.deepEqual(fs.readFileSync(ro), before);
  assert.equal(fs.statSync(ro).mode & 0o777, 0o444, 'mode untouched');
});

test('raw file backend: an empty file or a partial last sector is BAD_IMAGE, and nothing is left open or changed', () => {
  const empty = path.join(tmp, 'empty.img');
  fs.writeFileSync(empty, new Uint8Array(0));
  assert.throws(() => RawFileDisk.open(empty), (e: unknown) => e instanceof RvisorError && e.code === 'BAD_IMAGE' && /empty\.img' is empty \(0 bytes\)/.test(e.message));
  for (const size of [1, 511, 513, 4096 + 100]) {
    const odd = path.join(tmp, `odd-${size}.img`);
    fs.writeFileSync(odd, new Uint8Array(size));
    for (const readOnly of [false, true]) {
      assert.throws(() => RawFileDisk.open(odd, { readOnly }), (e: unknown) => e instanceof RvisorError && e.code === 'BAD_IMAGE' &&
        new RegExp(`is ${size} bytes, not a whole number of 512-byte sectors`).test(e.message), `${size} bytes`);
    }
    assert.equal(fs.statSync(odd).size, size, 'not truncated or extended');
  }
  const d = RawFileDisk.open(makeImage(1));
  assert.equal(d.size, 512);
  d.close();
});

test('raw file backend: openDisks refuses one file twice (path, symlink, hard link) and closes what it opened', () => {
  const a = makeImage(8), b = makeImage(8);
  const sym = path.join(tmp, 'sym.img');
  fs.symlinkSync(a, sym);
  const hard = path.join(tmp, 'hard.img');
  fs.linkSync(a, hard);
  const ok = openDisks([{ path: a }, { path: b, readOnly: true }]);
  assert.deepEqual(ok.map((d) => d.size), [4096, 4096]);
  for (const d of ok) d.close();
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  for (const second of [a, sym, hard]) {
    assert.throws(() => openDisks([{ path: a }, { path: b }, { path: second, readOnly: true }]),
      (e: unknown) => e instanceof RvisorError && e.code === 'DISK_OPEN' && /is attached twice/.test(e.message), second);
  }
  assert.equal(fs.readdirSync('/proc/self/fd').length, fdsBefore, 'every disk opened was closed again');
});

test('virtio-blk: state records the disk and refuses a different one', () => {
  const a = new VirtioBlk(new MemoryBlockBackend(8192), { serial: 'x' });
  const b = new VirtioBlk(new MemoryBlockBackend(4096));
  const s = JSON.parse(JSON.stringify(a.save()));
  assert.doesNotThrow(() => a.restore(s));
  assert.throws(() => b.restore(s), RvisorError);
  assert.throws(() => new VirtioBlk(new MemoryBlockBackend(512), { serial: 'x'.repeat(21) }), RvisorError);
});
