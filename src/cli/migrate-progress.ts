// `rvisor vm migrate`: runs the migration on the source host and shows its progress from the
// host's event stream — a progress bar (cli-progress) on a terminal, one line per round otherwise
// (logs, CI). Ctrl-C cancels the migration (the VM runs on at the source) instead of leaving it
// going without anyone watching.
import { SingleBar } from 'cli-progress';
import type { RemoteHostApi } from '../api/client.js';
import type { HostEvent, MigrateOptions, MigrationInfo } from '../vmm/types.js';

type Progress = Extract<HostEvent, { type: 'migration' }>;

export async function migrateWithProgress(host: RemoteHostApi, name: string, opts: MigrateOptions): Promise<MigrationInfo> {
  const tty = process.stderr.isTTY === true;
  const bar = tty ? new SingleBar({
    format: 'migrating {name} [{bar}] {percentage}% | round {round} | {sentMiB} MiB sent at {rate} MB/s | {remaining} pages left, expected downtime {downtime} ms{throttle}',
    hideCursor: true, stream: process.stderr,
  }) : undefined;
  let started = false;
  let total = 0;
  const onEvent = (e: HostEvent) => {
    if (e.type !== 'migration' || e.name !== name) return;
    const p: Progress = e;
    if (p.phase === 'precopy' && p.round === 0) total = p.pagesRemaining;
    const fields = {
      name, round: p.round, sentMiB: (p.bytesSent / 1048576).toFixed(1), rate: p.rateMBps.toFixed(0), remaining: p.pagesRemaining,
      downtime: p.expectedDowntimeMs, throttle: p.throttlePct ? `, guest throttled ${p.throttlePct}%` : '',
    };
    if (bar) {
      const value = Math.min(p.pagesSent, Math.max(total, 1));
      if (!started) { bar.start(Math.max(total, 1), value, fields); started = true; }
      bar.setTotal(Math.max(total, p.pagesSent, 1));
      bar.update(p.phase === 'done' ? Math.max(total, p.pagesSent, 1) : value, fields);
    } else {
      process.stderr.write(`migration of ${name}: ${p.phase} round ${p.round}, ${p.pagesSent} pages sent (${fields.sentMiB} MiB at ${fields.rate} MB/s), `
        + `${p.pagesRemaining} left, expected downtime ${p.expectedDowntimeMs} ms${fields.throttle}${p.message ? `: ${p.message}` : ''}\n`);
    }
  };
  host.on('event', onEvent);
  const onSigint = () => { void host.migrateCancel(name).catch(() => undefined); };
  process.on('SIGINT', onSigint);
  try {
    await host.eventsOpen();
    return await host.migrate(name, opts);
  } finally {
    process.off('SIGINT', onSigint);
    host.off('event', onEvent as (...a: never[]) => void);
    bar?.stop();
  }
}
