// The web console's files, served by the API at /ui: the page, its script (src/web/app.ts,
// compiled to dist/src/web/app.js) and xterm.js with its stylesheet from the @xterm/xterm package.
// The page holds nothing secret, so it is served without the token; everything it shows comes
// from the API, with the token where the listener needs one. A Content-Security-Policy keeps the
// page to its own scripts and to this host.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const require_ = createRequire(import.meta.url);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rvisor</title>
<link rel="stylesheet" href="/ui/xterm.css">
<link rel="stylesheet" href="/ui/app.css">
</head>
<body>
<header><h1>rvisor</h1><span id="status"></span></header>
<form id="login" hidden>
  <label>API token <input id="token" type="password" autocomplete="off" size="48"></label>
  <button type="submit">Connect</button>
</form>
<table>
  <thead><tr><th>Name</th><th>State</th><th>vCPUs</th><th>Memory</th><th>Disks</th><th></th></tr></thead>
  <tbody id="vms"></tbody>
</table>
<section id="console" hidden>
  <h2><span id="console-title"></span> <button id="close-console">Close</button></h2>
  <div id="terminal"></div>
</section>
<script src="/ui/xterm.js"></script>
<script type="module" src="/ui/app.js"></script>
</body>
</html>
`;

const CSS = `body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
header { display: flex; gap: 1.5em; align-items: baseline; }
h1 { font-size: 1.4em; margin: 0 0 .5em; }
#status { color: #555; }
#status.error { color: #b00; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { text-align: left; padding: .3em .8em; border-bottom: 1px solid #ddd; }
td.state.running { color: #070; } td.state.paused { color: #a60; } td.state.crashed { color: #b00; }
button { margin-right: .3em; }
#terminal { width: 100%; max-width: 80em; }
`;

/** The files under /ui, read once when the API is built. */
function files(): Map<string, { type: string; body: string | Buffer }> {
  const app = fileURLToPath(new URL('../web/app.js', import.meta.url));
  return new Map<string, { type: string; body: string | Buffer }>([
    ['/ui', { type: 'text/html; charset=utf-8', body: PAGE }],
    ['/ui/app.css', { type: 'text/css; charset=utf-8', body: CSS }],
    ['/ui/app.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(app) }],
    ['/ui/xterm.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(require_.resolve('@xterm/xterm/lib/xterm.js')) }],
    ['/ui/xterm.css', { type: 'text/css; charset=utf-8', body: readFileSync(require_.resolve('@xterm/xterm/css/xterm.css')) }],
  ]);
}

/** True for the requests the web console's files answer (served without the token). */
export function isWebUiRequest(method: string, url: string): boolean {
  const path = url.split('?')[0]!;
  return (method === 'GET' || method === 'HEAD') && (path === '/ui' || path === '/ui/' || /^\/ui\/(app|xterm)\.(js|css)$/.test(path));
}

export function registerWebUi(app: FastifyInstance): void {
  const served = files();
  app.get('/ui/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui'));
  for (const [path, f] of served) {
    app.get(path, { schema: { hide: true } }, async (req, reply) => {
      const host = /^[A-Za-z0-9.:[\]-]+$/.test(req.headers.host ?? '') ? req.headers.host! : '';
      reply
        .header('content-security-policy', `default-src 'self'; connect-src 'self'${host ? ` ws://${host} wss://${host}` : ''}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'`)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .type(f.type);
      return f.body;
    });
  }
}
