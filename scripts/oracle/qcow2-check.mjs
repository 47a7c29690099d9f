#!/usr/bin/env node
// Checks rvisor's qcow2 writer against QEMU's own tools (Debian's qemu-utils): rvisor writes
// random data through its qcow2 backend into images qemu-img made (every kind rvisor writes:
// version 2 and 3, 512-byte to 2 MiB clusters, 1- to 64-bit refcounts, over a raw or qcow2
// backing file, over compressed clusters, enough small clusters to move the refcount table),
// and into images `rvisor img create` made; afterwards `qemu-img check` must find no error and
// no leak, and `qemu-img compare` must find the image equal to a raw file that got the same
// writes (every fifth a virtio-blk write-zeroes: zero clusters). Run after `npm run build` (it reads dist/). Exit 1 on any difference.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, writeSync, closeSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const { openDisk } = await import(join(root, 'dist/src/host/disk/host-disk.js'));
const dir = mkdtempSync(join(tmpdir(), 'rvisor-qcow2-'));
const sh = (cmd, args) => execFileSync(cmd, args, { cwd: dir, encoding: 'utf8' });
let failed = 0;
let seed = 12345;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };

function exercise(name, img, mirror, writes, maxLen) {
  const d = openDisk(join(dir, img));
  const m = openSync(join(dir, mirror), 'r+');
  for (let k = 0; k < writes; k++) {
    const len = 512 * (1 + rnd(maxLen / 512));
    const off = 512 * rnd((d.size - len) / 512 + 1);
    const buf = new Uint8Array(len);
    if (k % 5 === 4) {
      if (!d.writeZeroes(off, len)) throw new Error(`${name}: write-zeroes at ${off} failed: ${d.lastError?.message}`);
    } else {
      for (let i = 0; i < len; i += 512) buf.fill(1 + rnd(255), i, i + 512);
      if (!d.write(off, buf)) throw new Error(`${name}: write at ${off} failed: ${d.lastError?.message}`);
    }
    writeSync(m, buf, 0, len, off);
  }
  d.close();
  closeSync(m);
  let ok = true;
  try {
    sh('qemu-img', ['check', img]);
  } catch (e) {
    ok = false;
    console.log(`${name}: qemu-img check found problems (status ${e.status}):\n${e.stdout}`);
  }
  try {
    sh('qemu-img', ['compare', '-q', '-F', 'raw', img, mirror]);
  } catch (e) {
    ok = false;
    console.log(`${name}: qemu-img compare: the image differs from the raw mirror (status ${e.status}) ${e.stdout}`);
  }
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${writes} writes of up to ${maxLen} bytes`);
  if (!ok) failed++;
}

try {
  const kinds = [
    ['v3, 64K clusters', '-o cluster_size=65536', 64, 200000],
    ['v2 (compat=0.10), 64K clusters', '-o compat=0.10', 64, 200000],
    ['512-byte clusters, 16-bit refcounts', '-o cluster_size=512', 64, 40000],
    ['512-byte clusters, 1-bit refcounts', '-o cluster_size=512,refcount_bits=1', 32, 40000],
    ['512-byte clusters, 64-bit refcounts (refcount table grows)', '-o cluster_size=512,refcount_bits=64', 32, 40000],
    ['2M clusters', '-o cluster_size=2097152', 64, 300000],
  ];
  kinds.forEach(([name, opts, mib, maxLen], i) => {
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', ...opts.split(' '), `k${i}.qcow2`, `${mib}M`]);
    sh('qemu-img', ['create', '-q', '-f', 'raw', `k${i}.raw`, `${mib}M`]);
    exercise(name, `k${i}.qcow2`, `k${i}.raw`, 300, maxLen);
  });
  // Over a raw backing file, then a qcow2 backing file: copy-on-write of partial clusters.
  sh('qemu-img', ['create', '-q', '-f', 'raw', 'base.raw', '16M']);
  sh('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 0 16M', 'base.raw']);
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', 'mid.qcow2']);
  sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x6b 1M 3M', '-c', 'write -z 8M 1M', 'mid.qcow2']);
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', 'top.qcow2']);
  sh('qemu-img', ['convert', '-O', 'raw', 'top.qcow2', 'top.raw']);
  exercise('over a qcow2 over a raw backing file', 'top.qcow2', 'top.raw', 200, 100000);
  // Over compressed clusters (their space is released when rewritten).
  sh('qemu-img', ['convert', '-q', '-c', '-O', 'qcow2', 'base.raw', 'comp.qcow2']);
  copyFileSync(join(dir, 'base.raw'), join(dir, 'comp.raw'));
  exercise('over compressed clusters', 'comp.qcow2', 'comp.raw', 200, 100000);
  // Images rvisor made: plain and as an overlay.
  const rvisor = (args) => execFileSync(process.execPath, [join(root, 'bin/rvisor.js'), 'img', ...args], { cwd: dir, encoding: 'utf8' });
  rvisor(['create', 'own.qcow2', '32M']);
  sh('qemu-img', ['create', '-q', '-f', 'raw', 'own.raw', '32M']);
  exercise('rvisor img create, 64K clusters', 'own.qcow2', 'own.raw', 200, 200000);
  rvisor(['create', '--cluster-size', '512', 'own512.qcow2', '24M']);
  sh('qemu-img', ['create', '-q', '-f', 'raw', 'own512.raw', '24M']);
  exercise('rvisor img create, 512-byte clusters', 'own512.qcow2', 'own512.raw', 200, 40000);
  rvisor(['create', '-b', 'base.raw', 'ownov.qcow2']);
  const info = JSON.parse(sh('qemu-img', ['info', '--output=json', 'ownov.qcow2']));
  if (info['backing-filename'] !== 'base.raw' || info['backing-filename-format'] !== 'raw' || info['virtual-size'] !== 16 * 2 ** 20) {
    failed++;
    console.log(`FAIL rvisor img create -b: qemu-img info says ${JSON.stringify(info)}`);
  }
  copyFileSync(join(dir, 'base.raw'), join(dir, 'ownov.raw'));
  exercise('rvisor img create -b base.raw', 'ownov.qcow2', 'ownov.raw', 200, 100000);
  // rvisor img convert: qcow2 chain → raw and → qcow2, compressed → qcow2; qemu-img compares.
  for (const [src, fmt] of [['top.qcow2', 'raw'], ['top.qcow2', 'qcow2'], ['comp.qcow2', 'qcow2']]) {
    const out = `conv-${src}.${fmt}`;
    rvisor(['convert', '-O', fmt, src, out]);
    let ok = true;
    try {
      sh('qemu-img', ['compare', '-q', src, out]);
      if (fmt === 'qcow2') sh('qemu-img', ['check', out]);
    } catch (e) {
      ok = false;
      console.log(`convert ${src} -> ${fmt}: qemu-img finds a difference or a problem (status ${e.status}) ${e.stdout}`);
    }
    console.log(`${ok ? 'ok  ' : 'FAIL'} rvisor img convert ${src} -O ${fmt}`);
    if (!ok) failed++;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failed) {
  console.log(`qcow2-check: ${failed} case(s) failed`);
  process.exit(1);
}
console.log('qcow2-check: qemu-img finds every image rvisor wrote consistent and equal to its raw mirror');
