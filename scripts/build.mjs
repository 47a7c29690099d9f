#!/usr/bin/env node
// Builds rvisor from source: TypeScript (tsc → dist/; the web console's script with its own config), the decoder generated from the instruction
// table, and the AssemblyScript CPU core (asc → dist/wasm/core.wasm), plus AssemblyScript test
// harnesses in test/wasm/. Run by `npm install` (prepare), `npm test` (pretest) and `npm run build`.
// A step is skipped when its outputs are newer than all of its inputs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function newest(paths) {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const st = statSync(p);
    if (st.isDirectory()) t = Math.max(t, newest(readdirSync(p).map((n) => join(p, n))));
    else t = Math.max(t, st.mtimeMs);
  }
  return t;
}
const stale = (outputs, inputs) => outputs.some((o) => !existsSync(o)) || newest(outputs.map((o) => o)) < newest(inputs);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${basename(cmd)} ${args.slice(0, 2).join(' ')} … failed`);
    process.exit(r.status ?? 1);
  }
}

// 1. TypeScript.
const tsOut = join(root, 'dist', 'src', 'cli', 'main.js');
if (stale([tsOut], ['src', 'test', 'scripts', 'bench', 'tsconfig.json'].map((p) => join(root, p)))) {
  run(bin('tsc'), ['-p', 'tsconfig.json']);
}

// 1b. The web console's browser script (DOM types; src/web/tsconfig.json).
const webOut = join(root, 'dist', 'src', 'web', 'app.js');
if (stale([webOut], [join(root, 'src', 'web')])) {
  run(bin('tsc'), ['-p', 'src/web/tsconfig.json']);
}

// 2. The decoder generated from the instruction table.
const generated = join(root, 'src', 'cpu', 'as', 'generated', 'decode.ts');
if (stale([generated], [join(root, 'src', 'isa')])) {
  const gen = await import(pathToFileURL(join(root, 'dist', 'src', 'isa', 'gen-decoder.js')).href);
  mkdirSync(dirname(generated), { recursive: true });
  writeFileSync(generated, gen.generate());
}

// 3. AssemblyScript: the core and the test harnesses.
const ascFlags = ['-O3', '--noAssert', '--runtime', 'stub', '--enable', 'threads', '--importMemory', '--sharedMemory', '--exportTable',
  '--initialMemory', '256', '--maximumMemory', '65536', '--converge'];
const wasmDir = join(root, 'dist', 'wasm');
mkdirSync(wasmDir, { recursive: true });
const asInputs = [join(root, 'src', 'cpu', 'as'), join(root, 'src', 'cpu', 'layout.ts')];
const coreOut = join(wasmDir, 'core.wasm');
if (stale([coreOut], asInputs)) {
  run(bin('asc'), ['src/cpu/as/core.ts', ...ascFlags, '--outFile', coreOut]);
}
const harnessDir = join(root, 'test', 'wasm');
if (existsSync(harnessDir)) {
  for (const f of readdirSync(harnessDir).filter((n) => n.endsWith('.ts'))) {
    const out = join(wasmDir, f.replace(/\.ts$/, '.wasm'));
    if (stale([out], [...asInputs, join(harnessDir, f)])) {
      run(bin('asc'), [join('test', 'wasm', f), ...ascFlags, '--outFile', out]);
    }
  }
}
