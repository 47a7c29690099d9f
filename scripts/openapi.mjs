#!/usr/bin/env node
// Writes the API's OpenAPI document, generated from the schemas in src/api/schemas.ts, to
// docs/openapi.json (the committed contract). `--check` only compares and fails when it is stale.
// Needs the build (npm run build).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'docs', 'openapi.json');
const { openApiDocument } = await import(pathToFileURL(join(root, 'dist', 'src', 'api', 'server.js')).href);
const doc = await openApiDocument();
if (process.argv.includes('--check')) {
  let old = '';
  try { old = readFileSync(out, 'utf8'); } catch { /* missing: stale */ }
  if (old !== doc) {
    console.error('docs/openapi.json is stale: run "npm run openapi" and commit it');
    process.exit(1);
  }
} else {
  writeFileSync(out, doc);
  console.log(`wrote ${out} (${doc.length} bytes)`);
}
