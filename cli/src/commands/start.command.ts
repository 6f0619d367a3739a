import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform, PlatformConfig } from '@mlops/shared';
import { duration } from '../format.js';
import type { CliIo } from '../io.js';
import { printReport } from '../report.js';
import { startInProcessStack } from '../stack/in-process.js';
import { datesBetween, utcDateBefore } from '../start-events.js';
import { runDates } from './run.command.js';
import { serveUntilStopped } from './serve.command.js';

/** Remove the embedded mode's state (bus, documents, lake, warehouse) — only the files it owns. */
export async function resetLocalState(config: PlatformConfig): Promise<void> {
  const owned = [
    config.bus.path,
    config.documents.path,
    config.warehouse.path,
    config.lake.root,
    join(config.home, 'tmp'),
    join(config.home, 'cache'),
  ];
  for (const path of owned) {
    if (path.startsWith('gs://')) continue;
    for (const suffix of ['', '-wal', '-shm', '.wal']) await rm(`${path}${suffix}`, { recursive: true, force: true });
  }
}

/**
 * `npm start`: the whole pipeline on the embedded defaults for the last N days, as a backfill — one
 * start event per date, every stage reacting to events in this process — then the report, then
 * the dashboard (with the services still listening, so `mlops run --attach` from another terminal
 * is handled here).
 */
export async function startCommand(
  platform: Platform,
  command: {
    days: number;
    scale: number | undefined;
    serve: boolean;
    port: number | undefined;
    until: string | undefined;
  },
  io: CliIo,
): Promise<number> {
  const until = command.until ?? utcDateBefore(new Date(), 1);
  const from = new Date(Date.parse(`${until}T00:00:00Z`) - (command.days - 1) * 86_400_000).toISOString().slice(0, 10);
  const dates = datesBetween(from, until);
  const scale = command.scale ?? platform.config.generators.scale;
  io.out(
    `mlops: ${dates.length} days (${from} .. ${until}) at scale ${scale}, mode ${platform.config.mode}, state in ${platform.config.home}`,
  );
  const started = performance.now();
  const stack = await startInProcessStack(platform);
  try {
    const result = await runDates(
      platform,
      {
        dates,
        trigger: 'backfill',
        scale,
        seed: undefined,
        retrain: false,
        attach: false,
        timeoutS: 3600,
        backfill: true,
        label: 'pipeline',
        stack,
      },
      io,
    );
    await printReport(platform, result.entries, io);
    io.out(
      `\npipeline finished in ${duration(performance.now() - started)}${result.failed ? ' with failures: see `npx mlops status` and `npx mlops dlq list`' : ''}`,
    );
    if (command.serve)
      await serveUntilStopped(
        platform,
        { ...(command.port !== undefined ? { port: command.port } : {}), hostLedger: false },
        io,
      );
    return result.failed ? 1 : 0;
  } finally {
    await stack.close();
  }
}
