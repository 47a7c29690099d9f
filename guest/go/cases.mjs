// The Go golden suite (see guest/busybox/golden.mjs for the format).
export const name = 'go';
export const binary = 'guest/go/gotest.gz';
export const golden = 'test/golden/go/cases.json';
export const inputsDir = undefined;
export const env = { PATH: '/usr/bin:/bin', TZ: 'UTC', LC_ALL: 'C', HOME: '/', GOTEST_NAME: 'rvisor golden' };
export const mtime = 946684800;

const data = Array.from({ length: 500 }, (_, i) => `line ${i}: ${'x'.repeat(i % 37)}`).join('\n') + '\n';
export const cases = [
  { name: 'no-args', steps: [{ args: [] }] },
  {
    name: 'files-and-args',
    files: [{ path: 'data.txt', text: data }, { path: 'dir/empty.txt', text: '' }],
    steps: [{ args: ['data.txt', 'dir/empty.txt', 'missing.txt', 'an arg with spaces'] }],
  },
  { name: 'exit-status', steps: [{ args: ['-exit', '3', 'data.txt'] }], files: [{ path: 'data.txt', text: 'abc\n' }] },
];
