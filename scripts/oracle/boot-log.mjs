#!/usr/bin/env node
// The reference files of the Linux guest under QEMU (guest/linux/qemu-boot*.log, qemu-*.log,
// qemu-virt.dts) compared with ones just recorded by guest/linux/qemu-test.sh --save-reference.
//
//   node scripts/oracle/boot-log.mjs COMMITTED LIVE    exit 1 (and say why) if they differ
//
// A console log is compared by what test/boot.test.ts takes from it: the set of lines in which the
// kernel (or firmware) complains, timestamps removed (complaints() below, which the test imports).
// Timing lines and per-run values do not count; a complaint that appears or disappears does. A
// device tree is compared whole, except the values QEMU draws per run (rng-seed, the initrd range).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Lines of a boot log that look like trouble, without their "[   1.234567] " timestamps. */
export function complaints(log) {
  return log.split(/\r?\n/).filter((l) => /warn|fail|error|unable|can't|cannot|bug:|oops|call trace/i.test(l))
    .map((l) => l.replace(/^\[\s*[\d.]+\]\s*/, '').trim());
}

/** A device tree source with the per-run values replaced by placeholders. */
export function normalizeDts(dts) {
  return dts
    .replace(/(rng-seed = )<[^>]*>;/g, '$1<...>;')
    .replace(/(linux,initrd-(?:start|end) = )<[^>]*>;/g, '$1<...>;');
}

/** Differences between a committed reference file and a live one (empty: they agree). */
export function differences(name, committed, live) {
  if (name.endsWith('.dts')) {
    const a = normalizeDts(committed).split('\n'), b = normalizeDts(live).split('\n');
    const out = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) out.push(`line ${i + 1}: committed ${JSON.stringify(a[i] ?? '(end)')}, live ${JSON.stringify(b[i] ?? '(end)')}`);
      if (out.length >= 10) break;
    }
    return out;
  }
  const a = new Set(complaints(committed)), b = new Set(complaints(live));
  return [
    ...[...b].filter((l) => !a.has(l)).map((l) => `live QEMU complains, the committed log does not: ${l}`),
    ...[...a].filter((l) => !b.has(l)).map((l) => `the committed log complains, live QEMU does not: ${l}`),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [committed, live] = process.argv.slice(2);
  if (!committed || !live) {
    console.error('usage: boot-log.mjs COMMITTED LIVE');
    process.exit(2);
  }
  const diffs = differences(basename(committed), readFileSync(committed, 'utf8'), readFileSync(live, 'utf8'));
  if (diffs.length) {
    console.log(`DIFFERS: ${committed}\n  ${diffs.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`${committed}: matches live QEMU (${basename(committed).endsWith('.dts') ? 'per-run values aside' : `${new Set(complaints(readFileSync(live, 'utf8'))).size} complaint lines`})`);
}
