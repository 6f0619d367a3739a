import {
  RUN_STAGES,
  RunLedger,
  summariseRuns,
  type LedgerEntry,
  type LedgerFollower,
  type Platform,
  type RunSummary,
} from '@mlops/kernel';
import { CliErrors } from '../errors.js';

/** Where a set of runs stands, counted in stages as the run ledger closes them. */
export interface RunProgress {
  /** The runs' ledger entries, oldest first. */
  entries: LedgerEntry[];
  /** The runs the ledger has seen, with their stages. */
  runs: RunSummary[];
  /** Stages closed (succeeded, skipped, failed or blocked) and stages expected. */
  done: number;
  total: number;
  /** The runs' `stage.failed` events. */
  failures: LedgerEntry[];
  /** Some run failed: a stage failed, or could not run because one upstream failed. */
  failed: boolean;
  /** Every run is in the ledger and every stage of it has closed. */
  settled: boolean;
}

/** Progress of the runs among ledger entries (entries of other runs are context: a build covers dates). */
export function progressOf(entries: readonly LedgerEntry[], runIds: ReadonlySet<string>): RunProgress {
  const runs = summariseRuns(entries).filter((run) => runIds.has(run.runId));
  const seen = new Set(runs.map((run) => run.runId));
  const unseen = [...runIds].filter((runId) => !seen.has(runId)).length;
  const mine = entries.filter((entry) => runIds.has(entry.runId));
  return {
    entries: mine,
    runs,
    done: runs.reduce((sum, run) => sum + run.stagesClosed, 0),
    total: runs.reduce((sum, run) => sum + run.stagesExpected, 0) + unseen * RUN_STAGES.length,
    failures: mine.filter((entry) => entry.type === 'mlops.stage.failed.v1'),
    failed: runs.some((run) => run.status === 'failed'),
    settled: unseen === 0 && runs.every((run) => run.stagesClosed >= run.stagesExpected),
  };
}

/** How far back from its start a watcher reads, for recorders whose clocks run behind this one. */
const CLOCK_SLACK_MS = 60_000;

/**
 * Watches runs through the run ledger, reading per poll only what was recorded since the previous
 * poll (so a poll costs the same however long the ledger's history is).
 */
export class RunWatcher {
  private readonly follower: LedgerFollower;

  constructor(
    platform: Pick<Platform, 'documents'>,
    private readonly runIds: ReadonlySet<string>,
    since: Date,
  ) {
    this.follower = new RunLedger(platform.documents).follow({ since: new Date(since.getTime() - CLOCK_SLACK_MS) });
  }

  /** Documents the last poll read. */
  get lastRead(): number {
    return this.follower.lastRead;
  }

  async poll(): Promise<RunProgress> {
    await this.follower.poll();
    return progressOf(this.follower.entries(), this.runIds);
  }
}

/**
 * Wait until the runs are finished: in-process, until every subscription of the bus is idle
 * (nothing pending or in flight) twice in a row; attached to services elsewhere, until every stage
 * of every run has closed in the run ledger, in success or failure.
 */
export async function waitForRuns(
  platform: Platform,
  options: {
    runIds: ReadonlySet<string>;
    /** When the runs were started (the ledger is read from shortly before). */
    since: Date;
    inProcess: boolean;
    timeoutS: number;
    onProgress?: (progress: RunProgress) => void;
    pollMs?: number;
  },
): Promise<RunProgress> {
  const deadline = Date.now() + options.timeoutS * 1000;
  const pollMs = options.pollMs ?? 200;
  const watcher = new RunWatcher(platform, options.runIds, options.since);
  let idleStreak = 0;
  for (;;) {
    const progress = await watcher.poll();
    options.onProgress?.(progress);
    if (options.inProcess) {
      const stats = await platform.bus.stats();
      const idle = stats.every((s) => s.pending <= 0 && s.inFlight === 0);
      idleStreak = idle ? idleStreak + 1 : 0;
      if (idleStreak >= 2) return progress;
    } else if (progress.settled) {
      return progress;
    }
    if (Date.now() > deadline) throw CliErrors.runTimedOut([...options.runIds].join(', '), options.timeoutS);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
