import type { PipelineStarted, Platform } from '@mlops/kernel';
import { CliErrors } from '../errors.js';
import type { CliIo } from '../io.js';
import { createProgress } from '../progress.js';
import { printReport } from '../report.js';
import { ensureTopology, startInProcessStack, type InProcessStack } from '../stack/in-process.js';
import { waitForRuns, type RunProgress } from '../stack/wait.js';
import { datesBetween, startEvent } from '../start-events.js';

/** Options shared by `run`, `backfill` and `start`. */
export interface RunDatesOptions {
  dates: readonly string[];
  trigger: PipelineStarted['trigger'];
  scale: number | undefined;
  seed: number | undefined;
  retrain: boolean;
  /** Services run elsewhere: only publish and watch the ledger. */
  attach: boolean;
  timeoutS: number;
  backfill: boolean;
  label: string;
  /** An in-process stack the caller keeps running (otherwise one is started and stopped here). */
  stack?: InProcessStack;
  /** Stops waiting for the runs (the result is then marked `interrupted`). */
  signal?: AbortSignal;
}

/**
 * Publish one pipeline.started per date and wait for the chain to finish: the services run in this
 * process on the embedded bus (or, attached, wherever they run), each reacting to its events.
 * Resolves to the run ids and the ledger entries of the runs.
 */
export async function runDates(
  platform: Platform,
  options: RunDatesOptions,
  io: CliIo,
): Promise<{
  runIds: Set<string>;
  entries: Awaited<ReturnType<typeof waitForRuns>>['entries'];
  failed: boolean;
  interrupted: boolean;
}> {
  const ownStack = options.attach || options.stack ? undefined : await startInProcessStack(platform);
  try {
    if (options.attach) await ensureTopology(platform);
    const runIds = new Set<string>();
    const since = new Date();
    const first = options.dates[0]!;
    const last = options.dates[options.dates.length - 1]!;
    for (const runDate of options.dates) {
      const event = startEvent({
        runDate,
        trigger: options.trigger,
        ...(options.scale !== undefined ? { scale: options.scale } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
        ...(options.backfill ? { backfill: { from: first, to: last } } : {}),
        ...(options.retrain && runDate === last ? { retrain: true } : {}),
      });
      runIds.add(event.runid);
      await platform.bus.publish(event);
    }
    // Every start event is out: the stack's worker threads may go once their work is done.
    void options.stack?.retireWorkersWhenIdle();
    const progress = createProgress(io, options.label);
    const result = await waitForRuns(platform, {
      runIds,
      since,
      inProcess: !options.attach,
      timeoutS: options.timeoutS,
      onProgress: (p) => progress.update(p.done, p.total, progressNote(p)),
      ...(options.signal ? { signal: options.signal } : {}),
    }).finally(() => progress.stop());
    return {
      runIds,
      entries: result.entries,
      failed: result.failed || result.failures.length > 0,
      interrupted: result.interrupted === true,
    };
  } finally {
    await ownStack?.close();
  }
}

/** What the progress bar adds to its count: failed runs, and stages closed without output. */
function progressNote(progress: RunProgress): string {
  const stages = progress.runs.flatMap((run) => run.stages);
  const failed = progress.runs.filter((run) => run.status === 'failed').length;
  const skipped = stages.filter((stage) => stage.status === 'skipped').length;
  return [failed > 0 ? `${failed} failed` : '', skipped > 0 ? `${skipped} skipped` : ''].filter(Boolean).join(', ');
}

/** `mlops run --date D`. */
export async function runCommand(
  platform: Platform,
  command: {
    date: string;
    scale: number | undefined;
    seed: number | undefined;
    retrain: boolean;
    attach: boolean;
    timeoutS: number;
  },
  io: CliIo,
): Promise<number> {
  const result = await runDates(
    platform,
    {
      dates: [command.date],
      trigger: 'cli',
      scale: command.scale,
      seed: command.seed,
      retrain: command.retrain,
      attach: command.attach,
      timeoutS: command.timeoutS,
      backfill: false,
      label: `run ${command.date}`,
    },
    io,
  );
  await printReport(platform, result.entries, io);
  if (result.failed) {
    io.err(
      CliErrors.runFailed([...result.runIds].join(', '), 'a stage failed; see `mlops status` and `mlops dlq list`')
        .message,
    );
    return 1;
  }
  return 0;
}

/** `mlops backfill --from A --to B`. */
export async function backfillCommand(
  platform: Platform,
  command: {
    from: string;
    to: string;
    scale: number | undefined;
    seed: number | undefined;
    attach: boolean;
    timeoutS: number;
  },
  io: CliIo,
): Promise<number> {
  const dates = datesBetween(command.from, command.to);
  const result = await runDates(
    platform,
    {
      dates,
      trigger: 'backfill',
      scale: command.scale,
      seed: command.seed,
      retrain: false,
      attach: command.attach,
      timeoutS: command.timeoutS,
      backfill: true,
      label: `backfill ${command.from}..${command.to}`,
    },
    io,
  );
  await printReport(platform, result.entries, io);
  io.out(
    `\n${dates.length} dates, ${result.runIds.size} runs${result.failed ? ', with failures: see `mlops status`' : ''}`,
  );
  return result.failed ? 1 : 0;
}
