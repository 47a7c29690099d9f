#!/usr/bin/env node
// Drives the web console (`rvisor serve --listen` at /ui) in a real browser — Debian's chromium,
// headless, through puppeteer-core — against a real host running the bundled guest: the page asks
// for the token, lists the VM, starts it, opens its console (xterm.js over the console WebSocket
// with the token as a subprotocol), types a command and reads the answer, forces the VM off and
// sees the console close. CI runs it (.ci/run) after installing chromium (install-tools.sh); it
// needs `npm run build` first. Temporary state dir, loopback only, every wait bounded, everything
// it started stopped also on failure.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'rvisor.js');
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'rvisor-web-'));
const step = (s) => console.log(`web-console: ${s}`);
let serve, browser;
const timeout = setTimeout(() => { console.error('web-console: no result within 240 s'); cleanup(); process.exit(1); }, 240_000);
function cleanup() {
  try { serve?.kill('SIGKILL'); } catch { /* gone */ }
  try { browser?.process()?.kill('SIGKILL'); } catch { /* gone */ }
  rmSync(dir, { recursive: true, force: true });
}
const run = (args) => new Promise((resolve, reject) => {
  const p = spawn(process.execPath, [cli, 'vm', '--state-dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`rvisor vm ${args.join(' ')}: ${code}: ${out}`))));
});
try {
  serve = spawn(process.execPath, [cli, 'serve', '--state-dir', dir, '--listen', '127.0.0.1:0', '--pcpus', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    serve.stdout.on('data', (d) => { out += d; const m = /web console on (\S+)/.exec(out); if (m) resolve(m[1]); });
    serve.on('exit', (c) => reject(new Error(`rvisor serve exited with ${c}`)));
  });
  step(`serve up, page at ${url}`);
  writeFileSync(join(dir, 'web.json'), JSON.stringify({ name: 'web', memory: '128M' }));
  await run(['define', join(dir, 'web.json')]);
  const token = readFileSync(join(dir, 'token'), 'utf8').trim();
  browser = await puppeteer.launch({ executablePath: chromium, args: ['--no-sandbox', '--headless=new'], timeout: 60_000 });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => void d.accept());
  const click = (label) => page.evaluate((l) => {
    const b = [...document.querySelectorAll('#vms button')].find((x) => x.textContent === l);
    if (!b) throw new Error(`no ${l} button`);
    b.click();
  }, label);
  const waitText = (sel, text, ms) => page.waitForFunction((s, t) => document.querySelector(s)?.textContent.includes(t), { timeout: ms }, sel, text);
  await page.goto(url, { timeout: 30_000 });
  await page.waitForSelector('#login:not([hidden])', { timeout: 10_000 });
  step('the page asks for the token');
  await page.type('#token', token);
  await page.click('#login button');
  await waitText('#vms', 'shutoff', 10_000);
  step('the VM is listed, shut off');
  await click('Start');
  await page.waitForFunction(() => [...document.querySelectorAll('#vms button')].some((b) => b.textContent === 'Console'), { timeout: 20_000 });
  await click('Console');
  await waitText('#terminal', 'rvisor guest ready', 120_000);
  step('the console shows the guest booting');
  await page.click('#terminal');
  await page.keyboard.type('echo R$((6*7))\n');
  await waitText('#terminal', 'R42', 20_000);
  step('a command typed in the terminal ran in the guest');
  await click('Force off');
  await waitText('#terminal', 'console closed', 20_000);
  await waitText('#vms', 'shutoff', 20_000);
  step('forced off: the console closed, the VM is shut off');
  if (errors.length) throw new Error(`errors in the page: ${errors.join('; ')}`);
  console.log('web-console: ok');
} catch (e) {
  console.error(`web-console: FAILED: ${e?.stack ?? e}`);
  process.exitCode = 1;
} finally {
  clearTimeout(timeout);
  await browser?.close().catch(() => undefined);
  serve?.kill('SIGTERM');
  await new Promise((r) => { if (!serve || serve.exitCode !== null) r(); else { serve.once('exit', r); setTimeout(r, 10_000); } });
  cleanup();
}
