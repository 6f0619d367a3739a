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
  /** The wait was stopped (SIGINT, SIGTERM) before the runs finished: this is where they stood. */
  interrupted?: boolean;
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
  private progress: RunProgress | undefined;

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

  /** The runs' progress; summarised again only when the poll found new or changed entries. */
  async poll(): Promise<RunProgress> {
    const changed = await this.follower.poll();
    if (changed.length > 0 || !this.progress) this.progress = progressOf(this.follower.entries(), this.runIds);
    return this.progress;
  }
}

/**
 * Wait until the runs are finished: in-process, until every subscription of the bus is idle
 * (nothing pending or in flight) twice in a row; attached to services elsewhere, until every stage
 * of every run has closed in the run ledger, in success or failure. The bus is looked at every
 * `pollMs`, the ledger (for progress) at most every `ledgerPollMs` and once more at the end: a
 * backfill records thousands of entries, and summarising them five times a second cost the
 * pipeline's own thread seconds of CPU.
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
    /** Least time between two reads of the ledger while waiting in-process (default 1 s). */
    ledgerPollMs?: number;
    /** Stops the wait: it resolves to the progress so far, marked `interrupted`. */
    signal?: AbortSignal;
  },
): Promise<RunProgress> {
  const deadline = Date.now() + options.timeoutS * 1000;
  const pollMs = options.pollMs ?? 200;
  const ledgerPollMs = options.inProcess ? (options.ledgerPollMs ?? 1_000) : 0;
  const watcher = new RunWatcher(platform, options.runIds, options.since);
  let idleStreak = 0;
  let polledAt = Number.NEGATIVE_INFINITY;
  const poll = async () => {
    polledAt = Date.now();
    const progress = await watcher.poll();
    options.onProgress?.(progress);
    return progress;
  };
  for (;;) {
    if (options.signal?.aborted) return { ...(await poll()), interrupted: true };
    const progress = Date.now() - polledAt >= ledgerPollMs ? await poll() : undefined;
    if (options.inProcess) {
      const stats = await platform.bus.stats();
      const idle = stats.every((s) => s.pending <= 0 && s.inFlight === 0);
      idleStreak = idle ? idleStreak + 1 : 0;
      // Idle twice in a row: every event, the ledger's included, has been handled; read it once more.
      if (idleStreak >= 2) return poll();
    } else if (progress?.settled) {
      return progress;
    }
    if (Date.now() > deadline) throw CliErrors.runTimedOut([...options.runIds].join(', '), options.timeoutS);
    await pause(pollMs, options.signal);
  }
}

/** Wait `ms`, or less when the signal aborts meanwhile. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
