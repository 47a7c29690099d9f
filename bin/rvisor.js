#!/usr/bin/env node
// Entry point of the `rvisor` command: the compiled CLI lives in dist/ (built by `npm install`).
import { existsSync } from 'node:fs';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('rvisor: not built yet: run "npm install" (or "npm run build") in the rvisor directory\n');
  process.exit(70);
}
const { cli } = await import(main.href);
process.exitCode = await cli(process.argv.slice(2));
