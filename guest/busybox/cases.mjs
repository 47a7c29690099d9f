// The busybox golden suite: inputs and cases (see golden.mjs for the format).
// The process VM runs a single process (no fork/exec), so every case is one busybox applet run
// directly or an ash script that only uses shell builtins.

export const name = 'busybox';
export const binary = 'guest/busybox/busybox.gz';
export const golden = 'test/golden/busybox/cases.json';
export const inputsDir = 'test/golden/busybox/inputs';
export const env = { PATH: '/usr/bin:/bin', TZ: 'UTC', LC_ALL: 'C', HOME: '/' };
export const mtime = 946684800; // 2000-01-01 00:00:00 UTC

// ---- deterministic inputs ----------------------------------------------------------------------
function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}
function randInt(r, n) {
  return Math.floor((r() / 2 ** 32) * n);
}
function makeWord(r) {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const len = 1 + randInt(r, 9);
  let w = '';
  for (let i = 0; i < len; i++) w += letters[randInt(r, 26)];
  return w;
}

export function makeInputs() {
  const r = lcg(2024);
  const vocab = Array.from({ length: 700 }, () => makeWord(r));

  // 2000 lines for sort: words from a vocabulary (so there are duplicates), some capitalized,
  // some two-word lines, some with digits.
  const words = [];
  for (let i = 0; i < 2000; i++) {
    let w = vocab[randInt(r, vocab.length)];
    const k = randInt(r, 10);
    if (k === 0) w = w[0].toUpperCase() + w.slice(1);
    else if (k === 1) w = `${w} ${vocab[randInt(r, vocab.length)]}`;
    else if (k === 2) w = `${w}${randInt(r, 100)}`;
    words.push(w);
  }
  // 2000 integers, with duplicates and negatives.
  const nums = [];
  for (let i = 0; i < 2000; i++) nums.push(String(randInt(r, 20001) - 10000));
  // Prose: 800 lines of 4..14 words, with marker lines for sed/awk ranges.
  const text = [];
  for (let i = 0; i < 800; i++) {
    if (i % 100 === 10) text.push('BEGIN block');
    if (i % 100 === 20) text.push('END block');
    const n = 4 + randInt(r, 11);
    const line = [];
    for (let j = 0; j < n; j++) line.push(vocab[randInt(r, vocab.length)]);
    text.push(line.join(' '));
  }
  // A CSV table for awk/cut: name,count,price
  const table = [];
  for (let i = 0; i < 200; i++) {
    table.push(`${vocab[randInt(r, vocab.length)]},${randInt(r, 100)},${(randInt(r, 100000) / 100).toFixed(2)}`);
  }
  // Sorted lines with runs of duplicates, for uniq.
  const dups = [];
  for (let i = 0; i < 200; i++) {
    const w = vocab[randInt(r, 150)];
    const times = 1 + (randInt(r, 4) === 0 ? randInt(r, 4) : 0);
    for (let t = 0; t < times; t++) dups.push(w);
  }
  dups.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const bin = Buffer.alloc(16384);
  for (let i = 0; i < bin.length; i += 4) bin.writeUInt32LE(r(), i);

  const passwd = 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n' +
    'bin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\n' +
    'games:x:5:60:games:/usr/games:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
  return {
    'words.txt': words.join('\n') + '\n',
    'nums.txt': nums.join('\n') + '\n',
    'text.txt': text.join('\n') + '\n',
    'table.csv': table.join('\n') + '\n',
    'dups.txt': dups.join('\n') + '\n',
    'random.bin': bin,
    'passwd.txt': passwd,
  };
}

// ---- cases -------------------------------------------------------------------------------------
const cases = [];
/** A one-step case. */
function c(name, args, opts = {}) {
  const { files, ...step } = opts;
  cases.push({ name, ...(files ? { files } : {}), steps: [{ args, ...step }] });
}
/** A multi-step case (steps share one working directory). */
function multi(name, files, steps) {
  cases.push({ name, ...(files ? { files } : {}), steps });
}
const text = [{ path: 'text.txt', input: 'text.txt' }];
const bin = [{ path: 'random.bin', input: 'random.bin' }];

// shell (builtins only)
c('sh-while', ['sh', '-c', 'i=0; while [ $i -lt 200 ]; do i=$((i+1)); done; echo $i']);
c('sh-for', ['sh', '-c', 'for w in a b c; do echo $w; done']);
c('sh-exit-status', ['sh', '-c', 'echo before; exit 7']);
c('sh-functions', ['sh', '-c',
  'f() { echo "f:$1:$#"; return 4; }; f x y; echo rc=$?; ' +
  'case abcd in a*d) echo match;; *) echo nomatch;; esac; ' +
  's=hello.world.txt; echo ${#s} ${s%.*} ${s%%.*} ${s#*.} ${s##*.} ${s:-x} ${unset:-dflt}; ' +
  'set -- p q r; echo "$#:$2:$*"; shift; echo "$@"']);
c('sh-arith', ['sh', '-c',
  'a=17; b=5; echo $((a+b)) $((a-b)) $((a*b)) $((a/b)) $((a%b)) $((a<<3)) $((a>>1)) $((a^b)) ' +
  '$((a&b)) $((a|b)) $((-a/b)) $((a>b?1:0)) $((0x10 + 010)) $((2**40)); ' +
  'n=1; i=0; while [ $i -lt 20 ]; do n=$((n*3 % 1000003)); i=$((i+1)); done; echo $n']);
c('sh-args', ['sh', '-c', 'echo "$0" $# "$1" "$3"; for a; do printf "[%s]" "$a"; done; echo', 'myname', 'one', 'two words', 'three']);
c('sh-read-stdin', ['sh', '-c', 'n=0; while read a b; do n=$((n+1)); echo "$n: $b $a"; done; echo total $n'],
  { stdin: 'alpha beta\ngamma delta epsilon\nzeta\n\nlast line here\n' });
c('sh-script-file', ['sh', 'script.sh', 'arg1', 'arg2'], {
  files: [{ path: 'script.sh', text: '#!/bin/sh\n# a script from a file\necho "script $# $1 $2"\n' +
    'fib() { a=0; b=1; i=0; while [ $i -lt $1 ]; do t=$((a+b)); a=$b; b=$t; i=$((i+1)); done; echo "fib($1)=$a"; }\n' +
    'for n in 1 10 50 90; do fib $n; done\n' +
    'if [ -f script.sh ] && [ ! -d script.sh ]; then echo "is a file"; fi\n' +
    'x=${HOME:-none}; echo "home=$x"\nexit 3\n' }],
});
c('sh-test-builtins', ['sh', '-c',
  '[ 3 -gt 2 ] && echo gt; [ abc = abc ] && echo eq; [ -z "" ] && echo empty; [ -n x ] || echo never; ' +
  'test 5 -le 4 || echo notle; [ -e /nonexistent ] || echo noent; echo done']);
c('sh-printf-builtin', ['sh', '-c', 'printf "%s=%d %05.1f %x %c|%-4s|\\n" abc 42 3.14159 255 Zed ab; printf "%b\\n" "tab\\there"']);

// ls (fixed names, sizes, modes and mtimes; owners and fs-dependent fields normalized away)
const lsFiles = [
  { path: 'd/sub', dir: true },
  { path: 'd/sub/inner.txt', text: 'inner\n' },
  { path: 'd/a.txt', text: '0123456789' },
  { path: 'd/b.bin', text: 'b'.repeat(1000) },
  { path: 'd/c', text: '' },
  { path: 'd/zeta.txt', text: 'z'.repeat(12345) },
  { path: 'd/run.sh', text: '#!/bin/sh\necho hi\n', mode: 0o755 },
  { path: 'd/secret', text: 'xxxxx', mode: 0o600 },
  { path: 'd/.hidden', text: 'hidden' },
  { path: 'd', dir: true },
];
c('ls-1', ['ls', '-1', 'd'], { files: lsFiles });
c('ls-1a', ['ls', '-1a', 'd'], { files: lsFiles });
c('ls-1r', ['ls', '-1r', 'd'], { files: lsFiles });
c('ls-F', ['ls', '-1F', 'd'], { files: lsFiles });
c('ls-R', ['ls', '-1R', 'd'], { files: lsFiles });
c('ls-S', ['ls', '-1S', 'd/a.txt', 'd/b.bin', 'd/c', 'd/zeta.txt', 'd/secret'], { files: lsFiles });
c('ls-la', ['ls', '-la', 'd'], { files: lsFiles, normalize: 'ls-l' });
c('ls-l-files', ['ls', '-l', 'd/a.txt', 'd/b.bin', 'd/run.sh', 'd/secret', 'd/zeta.txt'], { files: lsFiles, normalize: 'ls-l' });
c('ls-missing', ['ls', 'nonexistent-file'], {});

// sort
c('sort', ['sort'], { stdinInput: 'words.txt' });
c('sort-n', ['sort', '-n'], { stdinInput: 'nums.txt' });
c('sort-r', ['sort', '-r'], { stdinInput: 'words.txt' });
c('sort-u', ['sort', '-u'], { stdinInput: 'words.txt' });
c('sort-rn', ['sort', '-rn'], { stdinInput: 'nums.txt' });
c('sort-k', ['sort', '-t', ',', '-k2,2n', '-k1,1', 'table.csv'], { files: [{ path: 'table.csv', input: 'table.csv' }] });
c('sort-f', ['sort', '-f', 'words.txt'], { files: [{ path: 'words.txt', input: 'words.txt' }] });

// checksums
c('sha256sum', ['sha256sum', 'text.txt', 'random.bin'], { files: [...text, ...bin] });
c('md5sum', ['md5sum', 'text.txt', 'random.bin'], { files: [...text, ...bin] });
c('sha1sum-stdin', ['sha1sum'], { stdinInput: 'text.txt' });
c('sha512sum', ['sha512sum', 'random.bin'], { files: bin });
c('sha3sum', ['sha3sum', 'text.txt'], { files: text });
c('cksum', ['cksum', 'text.txt', 'random.bin'], { files: [...text, ...bin] });
c('md5sum-check', ['md5sum', '-c', 'sums.md5'], {
  files: [{ path: 'hello.txt', text: 'hello\n' }, { path: 'sums.md5', text: 'b1946ac92492d2347c6235b4d2611184  hello.txt\n' }],
});

// compression round trips: compress to a file, then decompress it in a second run
multi('gzip-roundtrip-text', text, [
  { args: ['gzip', '-c', 'text.txt'], saveStdout: 'text.txt.gz' },
  { args: ['gunzip', '-c', 'text.txt.gz'] },
]);
multi('gzip-roundtrip-binary', bin, [
  { args: ['gzip', '-9', '-c', 'random.bin'], saveStdout: 'random.bin.gz' },
  { args: ['gunzip', '-c', 'random.bin.gz'] },
  { args: ['gzip', '-t', 'random.bin.gz'] },
]);
multi('gzip-stdin', null, [
  { args: ['gzip', '-1'], stdinInput: 'words.txt', saveStdout: 'w.gz' },
  { args: ['gzip', '-dc', 'w.gz'] }, // not zcat: busybox's zcat forks a decompressor
]);
multi('bzip2-roundtrip', text, [
  { args: ['bzip2', '-c', 'text.txt'], saveStdout: 'text.txt.bz2' },
  { args: ['bunzip2', '-c', 'text.txt.bz2'] },
]);
c('gunzip-corrupt', ['gunzip', '-c'], { stdin: 'this is not gzip data\n' });

// awk
c('awk-sums', ['awk', '-F,', '{ n++; cnt += $2; sum += $3 * $2; if ($3 > max) { max = $3; maxname = $1 } } ' +
  '$2 >= 90 { big++ } ' +
  'END { printf "n=%d cnt=%d total=%.2f avg=%.4f max=%s:%.2f big=%d\\n", n, cnt, sum, sum / n, maxname, max, big }',
  'table.csv'], { files: [{ path: 'table.csv', input: 'table.csv' }] });
c('awk-math', ['awk', 'BEGIN { for (i = 1; i <= 1000; i++) h += 1 / i; printf "%.10f %e %g %d\\n", h, h * 1e10, h, h; ' +
  'print sqrt(2), sin(1), cos(0), exp(1), log(10), atan2(1, 1) * 4, int(-7.9), 2 ^ 10, 7 % 3; ' +
  'printf "%5.2f|%-8s|%08.3f|%x|%o|%c|%s\\n", 3.14159, "ab", -2.5, 255, 8, 65, 1e6; x = 0.1 + 0.2; print (x == 0.3), x }']);
c('awk-strings', ['awk', '{ n = split($0, w, " "); for (i = 1; i <= n; i++) freq[w[i]]++; ' +
  'if (NR <= 3) print NR, NF, length($0), toupper(substr($1, 1, 3)), index($0, "a") } ' +
  'END { for (k in freq) if (freq[k] > best) { best = freq[k]; bw = k } print "lines", NR; ' +
  'u = 0; for (k in freq) u++; print "unique", u; s = "hello world"; gsub(/o/, "0", s); print s; ' +
  't = sprintf("%s-%03d", "id", 7); print t; print match("foobar", /ob/), RSTART, RLENGTH }', 'text.txt'],
{ files: text });
c('awk-fields', ['awk', '-F:', '-v', 'OFS=|', '$3 >= 2 { $2 = ""; print $1, $3, $NF } END { print NR }', 'passwd.txt'],
  { files: [{ path: 'passwd.txt', input: 'passwd.txt' }] });

// sed
c('sed-s-g', ['sed', 's/e/E/g; s/\\([a-z]*\\) \\([a-z]*\\)/\\2 \\1/'], { stdinInput: 'text.txt' });
c('sed-range-d', ['sed', '/^BEGIN/,/^END/d', 'text.txt'], { files: text });
c('sed-n-p', ['sed', '-n', '5,12p; /^END/p; $p', 'text.txt'], { files: text });
c('sed-misc', ['sed', '-e', '1d', '-e', 'y/abc/ABC/', '-e', '$s/$/!/', '-e', '3q'], { stdin: 'one\ntwo abc\nthree\nfour\n' });
c('sed-n-regex', ['sed', '-n', '-E', '/^(root|games):/{s/:.*:/ -> /;p}', 'passwd.txt'],
  { files: [{ path: 'passwd.txt', input: 'passwd.txt' }] });
multi('sed-i-check', [{ path: 'f.txt', text: 'hello\nworld hello\n' }], [
  { args: ['sed', '-i', 's/hello/bye/g', 'f.txt'] },
  { args: ['cat', 'f.txt'] },
]);

// grep
c('grep-c', ['grep', '-c', 'BEGIN', 'text.txt'], { files: text });
c('grep-n-i', ['grep', '-n', '-i', '-E', '^(begin|end)', 'text.txt'], { files: text });
c('grep-v-count', ['grep', '-vc', 'a', 'text.txt'], { files: text });
c('grep-nomatch', ['grep', 'zzzzzzzzzzzz', 'text.txt'], { files: text });
c('grep-o-w', ['grep', '-o', '-w', '[a-z]*q[a-z]*'], { stdinInput: 'words.txt' });

// wc
c('wc-stdin', ['wc'], { stdinInput: 'text.txt' });
c('wc-files', ['wc', '-l', '-w', '-c', 'text.txt', 'random.bin'], { files: [...text, ...bin] });
c('wc-L', ['wc', '-L', 'text.txt'], { files: text });

// od / hexdump
c('od-x', ['od', '-x'], { stdin: 'The quick brown fox jumps over the lazy dog.\n\x00\x01\x02\xff' });
c('od-x-file', ['od', '-x', '-N', '256', 'random.bin'], { files: bin });
c('od-c', ['od', '-A', 'd', '-t', 'c', '-t', 'x1'], { stdin: 'tab\there\nnewline\\ back\n' });
c('hexdump-C', ['hexdump', '-C', '-n', '100', 'random.bin'], { files: bin });

// expr
c('expr-mul', ['expr', '6', '*', '7']);
c('expr-div', ['expr', '100', '/', '7']);
c('expr-mod', ['expr', '-100', '%', '7']);
c('expr-length', ['expr', 'length', 'hello world']);
c('expr-substr', ['expr', 'substr', 'abcdefgh', '3', '4']);
c('expr-match', ['expr', 'abc123def', ':', '[a-z]*\\([0-9]*\\)']);
c('expr-false', ['expr', '3', '>', '5']);
c('expr-error', ['expr', '1', '+', 'x']);

// seq, printf
c('seq-1000', ['seq', '1', '1000']);
c('seq-step', ['seq', '-s', ',', '10', '-3', '-20']);
c('seq-float', ['seq', '0.5', '0.25', '3']);
c('seq-w', ['seq', '-w', '8', '12']);
c('printf-3f', ['printf', '%.3f\\n', '3.14159']);
c('printf-formats', ['printf', '%5d|%-5s|%x|%X|%o|%e|%g|%c|%%|%s\\n', '42', 'ab', '255', '255', '8', '12345.678', '0.0001', 'Z', 'end']);
c('printf-repeat', ['printf', '%s=%d\\n', 'a', '1', 'b', '2', 'c', '3']);
c('printf-escapes', ['printf', 'tab\\tnl\\nbs\\\\ oct\\101 hex\\x42\\n']);
c('printf-bad-number', ['printf', '%d\\n', 'abc']);

// tr, cut, head, tail, uniq, misc text tools
c('tr-upper', ['tr', 'a-z', 'A-Z'], { stdinInput: 'text.txt' });
c('tr-d', ['tr', '-d', 'aeiou\\n'], { stdin: 'the quick brown fox\njumps over\n' });
c('tr-s', ['tr', '-s', ' a'], { stdin: 'a    lot   of    aaaa spaces\n' });
c('tr-c', ['tr', '-c', 'a-z\\n', '_'], { stdin: 'Hello, World! 123\nok\n' });
c('cut-f', ['cut', '-d', ':', '-f', '1,3,7', 'passwd.txt'], { files: [{ path: 'passwd.txt', input: 'passwd.txt' }] });
c('cut-c', ['cut', '-c', '2-5,8'], { stdinInput: 'words.txt' });
c('head-n', ['head', '-n', '5', 'text.txt'], { files: text });
c('head-c', ['head', '-c', '100'], { stdinInput: 'text.txt' });
c('tail-n', ['tail', '-n', '3', 'text.txt'], { files: text });
c('tail-c', ['tail', '-c', '50'], { stdinInput: 'text.txt' });
c('tail-plus', ['tail', '-n', '+1995'], { stdinInput: 'words.txt' });
c('uniq', ['uniq'], { stdinInput: 'dups.txt' });
c('uniq-c', ['uniq', '-c', 'dups.txt'], { files: [{ path: 'dups.txt', input: 'dups.txt' }] });
c('uniq-d', ['uniq', '-d'], { stdinInput: 'dups.txt' });
c('uniq-u', ['uniq', '-u'], { stdinInput: 'dups.txt' });
c('tac', ['tac', 'passwd.txt'], { files: [{ path: 'passwd.txt', input: 'passwd.txt' }] });
c('rev', ['rev'], { stdin: 'hello\nworld\n' });
c('nl', ['nl', 'passwd.txt'], { files: [{ path: 'passwd.txt', input: 'passwd.txt' }] });
c('fold', ['fold', '-w', '20', '-s'], { stdin: 'the quick brown fox jumps over the lazy dog and keeps running far away\n' });
c('paste', ['paste', '-d', '+', 'a', 'b'], { files: [{ path: 'a', text: '1\n2\n3\n' }, { path: 'b', text: 'x\ny\n' }] });
c('comm', ['comm', 'a', 'b'], { files: [{ path: 'a', text: 'a\nb\nd\n' }, { path: 'b', text: 'b\nc\nd\n' }] });
c('base64', ['base64'], { stdinInput: 'passwd.txt' });
c('base64-d', ['base64', '-d'], { stdin: 'aGVsbG8gd29ybGQK\n' });
c('factor', ['factor', '1234567890', '9999999967', '600851475143', '18446744073709551615']);
c('cat-n', ['cat', '-n', 'passwd.txt'], { files: [{ path: 'passwd.txt', input: 'passwd.txt' }] });
c('cat-missing', ['cat', 'no-such-file']);
c('cmp-differ', ['cmp', 'a', 'b'], { files: [{ path: 'a', text: 'hello world\n' }, { path: 'b', text: 'hello worle\n' }] });
c('diff-u', ['diff', '-u', 'a', 'b'], { files: [{ path: 'a', text: '1\n2\n3\n4\n5\n' }, { path: 'b', text: '1\n2\nthree\n4\n5\n6\n' }] });
c('bc', ['bc'], { stdin: 'scale=30\nsqrt(2)\n2^100\n12345678901234567890*98765432109876543210\n1/7\nx=5; x*x+3\n' });
c('bc-l', ['bc', '-l'], { stdin: 'scale=20\n4*a(1)\ne(1)\nl(10)\ns(1)\n' });
c('dc', ['dc', '-e', '2 32 ^ p 17 3 / p 10 k 1 3 / p']);
c('date-u', ['date', '-u', '-d', '@1234567890', '+%Y-%m-%d %H:%M:%S %j %a %b']);
c('stat-c', ['stat', '-c', '%n %s %a %F %Y', 'text.txt'], { files: text });
c('stat-c-dir', ['stat', '-c', '%n %a %F %Y', 'd'], { files: [{ path: 'd', dir: true }] });
c('dd', ['dd', 'if=random.bin', 'bs=100', 'skip=3', 'count=2'], { files: bin });

// basename / dirname / true / false / test / echo / misc
c('basename', ['basename', '/usr/lib/libfoo.so.1', '.1']);
c('basename-suffix', ['basename', 'dir/file.txt', '.txt']);
c('dirname', ['dirname', '/usr/lib/libfoo.so.1']);
c('dirname-rel', ['dirname', 'foo']);
c('true', ['true']);
c('false', ['false']);
c('test-true', ['test', '3', '-lt', '10']);
c('test-false', ['[', '-f', 'nonexistent', ']']);
c('echo', ['echo', '-n', 'no newline']);
c('echo-e', ['echo', '-e', 'a\\tb\\nc']);
c('printenv', ['printenv', 'TZ', 'LC_ALL']);
c('pwd-relative', ['sh', '-c', 'cd sub && echo "${PWD##*/}" && pwd -P >/dev/null && echo ok'], { files: [{ path: 'sub', dir: true }] });
c('sleep', ['sleep', '0.05']);
c('unknown-applet', ['no-such-applet']);

// file system operations in one directory, checked by later runs
multi('fs-ops', [{ path: 'data.txt', text: 'some data\n' }], [
  { args: ['mkdir', '-p', 'x/y/z'] },
  { args: ['cp', 'data.txt', 'x/y/copy.txt'] },
  { args: ['mv', 'x/y/copy.txt', 'x/moved.txt'] },
  { args: ['ln', '-s', 'moved.txt', 'x/link'] },
  { args: ['touch', 'x/empty'] },
  { args: ['ls', '-1RF', 'x'] },
  { args: ['cat', 'x/link'] },
  { args: ['readlink', 'x/link'] },
  { args: ['chmod', '600', 'x/moved.txt'] },
  { args: ['stat', '-c', '%a %s %F', 'x/moved.txt', 'x/empty', 'x/link'] },
  { args: ['rm', '-r', 'x/y'] },
  { args: ['rmdir', 'x'] },
  { args: ['rm', '-rf', 'x'] },
  { args: ['ls', '-1'] },
]);
multi('tar-roundtrip', [...text, { path: 'sub', dir: true }, { path: 'sub/f', text: 'file in sub\n' }], [
  { args: ['tar', '-cf', 'a.tar', 'text.txt', 'sub'] },
  { args: ['tar', '-tf', 'a.tar'] },
  { args: ['tar', '-xOf', 'a.tar', 'sub/f'] },
  { args: ['mkdir', 'out'] },
  { args: ['tar', '-xf', 'a.tar', '-C', 'out'] },
  { args: ['cmp', 'text.txt', 'out/text.txt'] },
  { args: ['cat', 'out/sub/f'] },
]);

export { cases };
