import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform, PlatformConfig } from '@mlops/kernel';
import { duration } from '../format.js';
import type { CliIo } from '../io.js';
import { printReport } from '../report.js';
import { formatStageTimes, stageTimes, type PhaseTime } from '../stage-times.js';
import type { WorkerServiceName } from '../stack/compose.js';
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
    // `.tmp`: DuckDB's spill folder beside the warehouse file (see MLOPS_WAREHOUSE_MEMORY_LIMIT).
    for (const suffix of ['', '-wal', '-shm', '.wal', '.tmp'])
      await rm(`${path}${suffix}`, { recursive: true, force: true });
  }
}

/**
 * How long `start` waits for its runs unless `--timeout` says: a fixed allowance for start-up,
 * transform and training, plus a budget per date and unit of scale (a year at scale 10 is ~3,650
 * day-units), so a bigger history never hits a fixed wall.
 */
export function startTimeoutS(days: number, scale: number): number {
  return Math.ceil(1800 + 3 * days * Math.max(1, scale));
}

/**
 * The worker threads of `start`. A thread's handlers interleave only where they yield to the event
 * loop, and sales-gen's synchronous SQLite writes rarely do: sharing its thread, the other
 * generators waited a minute per day at scale 10. So sales-gen, the clickstream and startups
 * generators (startups skip six days in seven), and the lander each get a thread; from
 * {@link TWO_SALES_THREADS_FROM_SCALE} on, sales-gen (the pacing stage: a date's orders depend only on
 * the seed, scale and date) gets two, competing for the deliveries of its one subscription.
 */
export function startWorkers(scale: number): readonly (readonly WorkerServiceName[])[] {
  const sales: WorkerServiceName[][] =
    scale >= TWO_SALES_THREADS_FROM_SCALE ? [['sales-gen'], ['sales-gen']] : [['sales-gen']];
  return [...sales, ['click-gen', 'startup-gen'], ['lander']];
}

/** Scale from which sales-gen runs on two threads (below, a date is too cheap to pay a thread's start-up). */
export const TWO_SALES_THREADS_FROM_SCALE = 5;

/** `start`'s exit code when interrupted (128 + SIGINT, as a shell reports it). */
export const INTERRUPTED_EXIT_CODE = 130;

/** The services' JSON log of the state folder, when they log there (not to stderr). */
async function serviceLog(config: PlatformConfig): Promise<string | undefined> {
  return readFile(join(config.home, 'logs', 'mlops.jsonl'), 'utf8').catch(() => undefined);
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
    timeoutS?: number | undefined;
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
  const startedAt = Date.now();
  // The per-day stages run in worker threads (the second core), so they neither starve each other
  // nor this thread (the ledger, transform and trainer).
  const stack = await startInProcessStack(platform, { workers: startWorkers(scale) });
  const stackMs = performance.now() - started;
  // Ctrl-C (or the bench's limit) stops the wait, not the process: the phases so far are printed.
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
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
        timeoutS: command.timeoutS ?? startTimeoutS(dates.length, scale),
        backfill: true,
        label: 'pipeline',
        stack,
        signal: stop.signal,
      },
      io,
    ).finally(() => {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    });
    if (result.interrupted) {
      const totalMs = performance.now() - started;
      const times: PhaseTime[] = [
        { phase: 'start-up', busyMs: stackMs, handlings: 0, fromMs: 0, toMs: stackMs },
        ...stageTimes(result.entries, startedAt, await serviceLog(platform.config)),
      ];
      io.out('\nTime per phase until interrupted (wall clock; phases overlap, busy counts overlapping handlings once)');
      io.out(formatStageTimes(times, totalMs));
      io.out(
        `\npipeline interrupted after ${duration(totalMs)}; the state is kept (\`npx mlops status\`). Stopping the handlers in flight (Ctrl-C again to kill).`,
      );
      return INTERRUPTED_EXIT_CODE;
    }
    const reportStarted = performance.now();
    await printReport(platform, result.entries, io);
    const reportMs = performance.now() - reportStarted;
    const totalMs = performance.now() - started;
    const times: PhaseTime[] = [
      { phase: 'start-up', busyMs: stackMs, handlings: 0, fromMs: 0, toMs: stackMs },
      ...stageTimes(result.entries, startedAt, await serviceLog(platform.config)),
      { phase: 'report', busyMs: reportMs, handlings: 0, fromMs: reportStarted - started, toMs: totalMs },
    ];
    io.out('\nTime per phase (wall clock; phases overlap, busy counts overlapping handlings once)');
    io.out(formatStageTimes(times, totalMs));
    io.out(
      `\npipeline finished in ${duration(totalMs)}${result.failed ? ' with failures: see `npx mlops status` and `npx mlops dlq list`' : ''}`,
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
