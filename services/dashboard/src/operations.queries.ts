/**
 * The operations view: runs and their stages (from the run ledger), recent events, dead letters
 * and subscription counts (from the bus), data quality per run (the quarantine counts and
 * assertion results the transformer reports on `mlops.warehouse.ready.v1`), and model promotions.
 * Nothing here returns an event payload: only the ledger's PII-free summaries.
 */
import {
  type DeadLetterAdmin,
  type LedgerEntry,
  type ModelRegistry,
  type RunSummary,
  type SubscriptionAdmin,
  summariseRuns,
} from '@mlops/kernel';
import type { DateRange } from './params.js';
import { inRange } from './params.js';

/** The bus as the operations view needs it. */
export type BusView = Pick<DeadLetterAdmin, 'listDeadLetters'> & Pick<SubscriptionAdmin, 'stats'>;

/** Ledger entries, oldest first, read at most once per cache slot. */
export type EntriesSource = () => Promise<LedgerEntry[]>;

/**
 * Runs newest first, with stage handling and queue times; filtered by run date. Runs are derived from
 * the whole ledger first, since a build closes the runs of every date it covers.
 */
export async function runs(entries: EntriesSource, range: DateRange, limit: number) {
  const all = runSummaries(await entries()).filter((run) => inRange(run.runDate, range));
  return {
    total: all.length,
    byStatus: countBy(all, (run) => run.status),
    runs: all.slice(0, limit).map(describeRun),
  };
}

// The runs of each entries array: the source hands out the same array while the ledger is unchanged.
const summaries = new WeakMap<readonly LedgerEntry[], RunSummary[]>();

/** Every run, newest first, derived once per entries array. */
function runSummaries(all: readonly LedgerEntry[]): RunSummary[] {
  let held = summaries.get(all);
  if (!held) summaries.set(all, (held = summariseRuns(all)));
  return held;
}

function describeRun(run: RunSummary) {
  return {
    runId: run.runId,
    runDate: run.runDate,
    trigger: run.trigger,
    status: run.status,
    startedAt: run.startedAt,
    lastEventAt: run.lastEventAt,
    durationMs: Date.parse(run.lastEventAt) - Date.parse(run.startedAt),
    events: run.events,
    stages: run.stages.map((stage) => ({ ...stage })),
  };
}

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[keyOf(item)] = (out[keyOf(item)] ?? 0) + 1;
  return out;
}

/** The latest events, newest first (optionally of one run). */
export async function recentEvents(entries: EntriesSource, limit: number, runId: string | undefined) {
  const all = await entries();
  const out: ReturnType<typeof describeEntry>[] = [];
  for (let index = all.length - 1; index >= 0 && out.length < limit; index -= 1) {
    const entry = all[index]!;
    if (runId === undefined || entry.runId === runId) out.push(describeEntry(entry));
  }
  return { events: out };
}

function describeEntry(entry: LedgerEntry) {
  return {
    eventId: entry.eventId,
    time: entry.time,
    type: entry.type,
    stage: entry.stage,
    runId: entry.runId,
    runDate: entry.runDate,
    subject: entry.subject,
  };
}

interface QuarantineCount {
  table: string;
  rows: number;
}
interface AssertionResult {
  name: string;
  passed: boolean;
  failingRows: number;
}

function arrayOf<T>(value: unknown, accept: (item: Record<string, unknown>) => T | undefined): T[] {
  if (!Array.isArray(value)) return [];
  const out: T[] = [];
  for (const item of value) {
    if (item && typeof item === 'object') {
      const accepted = accept(item as Record<string, unknown>);
      if (accepted !== undefined) out.push(accepted);
    }
  }
  return out;
}

/** A transformer run's quality report. */
interface QualityReport {
  runId: string;
  runDate: string;
  runDates: string[];
  time: string;
  durationMs: number | null;
  engine: string | null;
  quarantineRows: number;
  quarantine: QuarantineCount[];
  assertionsPassed: number;
  assertionsFailed: number;
  assertions: AssertionResult[];
}

/** A stage failure as the quality view lists it. */
interface StageFailure {
  runId: string;
  runDate: string;
  time: string;
  stage: string;
  code: string | null;
  reason: string | null;
}

/** Every report and failure of an entries array, newest first: read once per array, filtered per range. */
const qualityOf = new WeakMap<readonly LedgerEntry[], { reports: QualityReport[]; failures: StageFailure[] }>();

function qualityEntries(all: readonly LedgerEntry[]): { reports: QualityReport[]; failures: StageFailure[] } {
  const held = qualityOf.get(all);
  if (held) return held;
  const reports: QualityReport[] = [];
  const failures: StageFailure[] = [];
  for (let index = all.length - 1; index >= 0; index -= 1) {
    const entry = all[index]!;
    if (entry.type === 'mlops.warehouse.ready.v1') {
      const quarantine = arrayOf(entry.summary.quarantine, (item) =>
        typeof item.table === 'string' ? { table: item.table, rows: Number(item.rows) || 0 } : undefined,
      );
      const assertions = arrayOf(entry.summary.assertions, (item) =>
        typeof item.name === 'string'
          ? { name: item.name, passed: item.passed === true, failingRows: Number(item.failingRows) || 0 }
          : undefined,
      );
      reports.push({
        runId: entry.runId,
        runDate: entry.runDate,
        runDates: Array.isArray(entry.summary.runDates) ? entry.summary.runDates.map(String) : [entry.runDate],
        time: entry.time,
        durationMs: typeof entry.summary.durationMs === 'number' ? entry.summary.durationMs : null,
        engine: typeof entry.summary.engine === 'string' ? entry.summary.engine : null,
        quarantineRows: quarantine.reduce((sum, item) => sum + item.rows, 0),
        quarantine,
        assertionsPassed: assertions.filter((item) => item.passed).length,
        assertionsFailed: assertions.filter((item) => !item.passed).length,
        assertions,
      });
    } else if (entry.type === 'mlops.stage.failed.v1') {
      failures.push({
        runId: entry.runId,
        runDate: entry.runDate,
        time: entry.time,
        stage: typeof entry.summary.stage === 'string' ? entry.summary.stage : entry.stage,
        code: typeof entry.summary.code === 'string' ? entry.summary.code : null,
        reason: typeof entry.summary.reason === 'string' ? entry.summary.reason : null,
      });
    }
  }
  const out = { reports, failures };
  qualityOf.set(all, out);
  return out;
}

/** The first `limit` items (newest first) whose run date is in the range. */
function latestIn<T extends { runDate: string }>(items: readonly T[], range: DateRange, limit: number): T[] {
  const out: T[] = [];
  for (const item of items) {
    if (out.length >= limit) break;
    if (inRange(item.runDate, range)) out.push(item);
  }
  return out;
}

/** Quarantine counts and assertion results of each transformer run, newest first; and its failures. */
export async function dataQuality(entries: EntriesSource, range: DateRange, limit: number) {
  const { reports, failures } = qualityEntries(await entries());
  return { reports: latestIn(reports, range, limit), failures: latestIn(failures, range, limit) };
}

/** Dead letters, newest first, without their payloads. */
export async function deadLetters(bus: BusView, limit: number) {
  const letters = await bus.listDeadLetters({ limit });
  return {
    deadLetters: letters.map((letter) => ({
      id: letter.id,
      subscription: letter.subscription,
      topic: letter.topic,
      eventType: letter.eventType ?? null,
      eventId: letter.eventId ?? null,
      runId: letter.runId ?? null,
      code: letter.code,
      reason: letter.reason,
      attempts: letter.attempts,
      deadAt: letter.deadAt instanceof Date ? letter.deadAt.toISOString() : String(letter.deadAt),
    })),
  };
}

/** Per-subscription message counts. */
export async function subscriptions(bus: BusView) {
  const stats = await bus.stats();
  return {
    subscriptions: stats.map((stat) => ({ ...stat })),
    totals: stats.reduce(
      (sum, stat) => ({
        pending: sum.pending + stat.pending,
        inFlight: sum.inFlight + stat.inFlight,
        acked: sum.acked + stat.acked,
        dead: sum.dead + stat.dead,
      }),
      { pending: 0, inFlight: 0, acked: 0, dead: 0 },
    ),
  };
}

/** Champion changes, newest first. */
export async function promotions(registry: ModelRegistry, modelName: string | undefined, limit: number) {
  const history = await registry.promotions(modelName);
  return { promotions: history.slice().reverse().slice(0, limit) };
}
