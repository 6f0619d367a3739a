import { RunLedger, type LedgerEntry, type Platform } from '@mlops/shared';
import { CliErrors } from '../errors.js';

/** What a set of runs has produced so far. */
export interface RunProgress {
  entries: LedgerEntry[];
  /** Units of work done and expected (generated, landed per source, dates built, predictions). */
  done: number;
  total: number;
  failures: LedgerEntry[];
  /** Dates whose warehouse partitions are built. */
  builtDates: Set<string>;
}

/** Progress of runs, counted from the run ledger. */
export async function runProgress(
  platform: Platform,
  runIds: ReadonlySet<string>,
  dates: readonly string[],
): Promise<RunProgress> {
  const all = await new RunLedger(platform.documents).entries();
  const entries = all.filter((entry) => runIds.has(entry.runId));
  const builtDates = new Set<string>();
  let generated = 0;
  let landed = 0;
  let predicted = false;
  for (const entry of entries) {
    if (entry.type === 'mlops.sales.generated.v1') generated += 1;
    if (entry.type === 'mlops.bronze.landed.v1' && entry.summary.source !== 'startups') landed += 1;
    if (entry.type === 'mlops.warehouse.ready.v1' && Array.isArray(entry.summary.runDates))
      for (const date of entry.summary.runDates) builtDates.add(String(date));
    if (entry.type === 'mlops.predictions.ready.v1') predicted = true;
  }
  const wanted = new Set(dates);
  const built = [...builtDates].filter((date) => wanted.has(date)).length;
  return {
    entries,
    done: Math.min(generated, dates.length) + Math.min(landed, dates.length * 2) + built + (predicted ? 1 : 0),
    total: dates.length * 4 + 1,
    failures: entries.filter((entry) => entry.type === 'mlops.stage.failed.v1'),
    builtDates,
  };
}

/**
 * Wait until the runs are finished: in-process, until every subscription of the bus is idle
 * (nothing pending or in flight) twice in a row; attached to services elsewhere, until the
 * predictions (or a failure) of the last date are in the run ledger.
 */
export async function waitForRuns(
  platform: Platform,
  options: {
    runIds: ReadonlySet<string>;
    dates: readonly string[];
    inProcess: boolean;
    timeoutS: number;
    onProgress?: (progress: RunProgress) => void;
    pollMs?: number;
  },
): Promise<RunProgress> {
  const deadline = Date.now() + options.timeoutS * 1000;
  const pollMs = options.pollMs ?? 200;
  let idleStreak = 0;
  for (;;) {
    const progress = await runProgress(platform, options.runIds, options.dates);
    options.onProgress?.(progress);
    if (options.inProcess) {
      const stats = await platform.bus.stats();
      const idle = stats.every((s) => s.pending <= 0 && s.inFlight === 0);
      idleStreak = idle ? idleStreak + 1 : 0;
      if (idleStreak >= 2) return progress;
    } else if (progress.done >= progress.total || progress.failures.length > 0) {
      return progress;
    }
    if (Date.now() > deadline) throw CliErrors.runTimedOut([...options.runIds].join(', '), options.timeoutS);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
