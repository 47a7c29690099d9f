// Linux file names are bytes: a name that is not UTF-8 text (here: stray bytes 0xff 0xfe, an
// overlong 0xc0 0xaf, an encoded surrogate 0xed 0xa0 0x80) reaches the host file system byte for
// byte through rvisor's path calls (open O_CREAT, mkdir, symlink, rename, stat, chmod, readlink,
// unlink), and getdents gives the same bytes back (busybox's "ls unicode" test). Before, such
// bytes were decoded as text and became U+FFFD (ef bf bd) on the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRvisor, unpackGz } from './helpers.js';

const n1 = Buffer.from([0x61, 0xff, 0xfe, 0x62]);
const n2 = Buffer.from([0x63, 0xc0, 0xaf, 0x64]);
const n3 = Buffer.from([0x65, 0xed, 0xa0, 0x80, 0x66, 0xc3, 0xa9]); // ends in a real "é"

test('file names that are not UTF-8 keep their bytes on the host and in getdents', () => {
  const bb = unpackGz('guest/busybox/busybox.gz');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-pathbytes-'));
  try {
    const script = [
      `cd '${dir}'`,
      `n1=$(printf 'a\\377\\376b'); n2=$(printf 'c\\300\\257d'); n3=$(printf 'e\\355\\240\\200f\\303\\251')`,
      // Every command is the guest busybox's (argv bytes to a host program are another matter).
      `bb='${bb}'`,
      'echo one > "$n1"', '$bb mkdir "$n2"', '$bb ln -s "../$n1" "$n2/link"', '$bb cat "$n2/link"',
      '$bb mv "$n1" "$n3"', '$bb chmod 600 "$n3"', '$bb stat -c %s "$n3"', 'for f in *; do echo "$f"; done', '$bb rm "$n2/link"', 'echo "$n2"/*', 'echo end',
    ].join('\n');
    const r = runRvisor(['exec', bb, 'sh', '-c', script]);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    assert.deepEqual(r.stdout, Buffer.concat([Buffer.from('one\n4\n'), n2, Buffer.from('\n'), n3, Buffer.from('\n'), n2, Buffer.from('/*\nend\n')]));
    const names = readdirSync(dir, { encoding: 'buffer' }).map((b) => b.toString('hex')).sort();
    assert.deepEqual(names, [n2.toString('hex'), n3.toString('hex')].sort());
    assert.equal(statSync(Buffer.concat([Buffer.from(dir + '/'), n3])).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(Buffer.concat([Buffer.from(dir + '/'), n2])), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
