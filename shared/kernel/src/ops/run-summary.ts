import type { EventType } from '../events/event-catalog.js';
import type { LedgerEntry } from './ledger-entry.js';

/** How a stage of a run stands: still to close, or closed in one of four ways. */
export type StageStatus = 'running' | 'succeeded' | 'failed' | 'skipped' | 'blocked';

/** A stage of one run: when its input arrived, how long it was handled and queued, and how it closed. */
export interface RunStage {
  stage: string;
  /** When the stage's first input of this run arrived. */
  startedAt: string;
  /** The last output of its (first) handling. */
  finishedAt: string | null;
  /** Handling time: from the service starting on the input to its last output (the first handling). */
  durationMs: number | null;
  /** How long the input waited on the bus before the service started on it. */
  queuedMs: number | null;
  status: StageStatus;
  detail: string | null;
  /** A later handling of the same input (a replay or redelivery): when it started and how long it took. */
  latest: { handledAt: string; durationMs: number } | null;
}

/** One run (a runid): its date, stages and outcome. */
export interface RunSummary {
  runId: string;
  runDate: string;
  trigger: string | null;
  startedAt: string;
  lastEventAt: string;
  status: 'running' | 'succeeded' | 'failed';
  events: number;
  stages: RunStage[];
  /** Stages this run needs closed, and how many are closed (in success, skip, failure or blocked). */
  stagesExpected: number;
  stagesClosed: number;
}

/** The stages every started run needs closed; the trainer joins a run that carries a build. */
export const RUN_STAGES = ['sales-gen', 'click-gen', 'startup-gen', 'lander', 'transformer'] as const;

const UPSTREAM_OF_BUILD = ['sales-gen', 'click-gen', 'startup-gen', 'lander'];

// The stages that consume each event type.
const CONSUMERS: Partial<Record<EventType, readonly string[]>> = {
  'mlops.pipeline.started.v1': ['sales-gen', 'click-gen', 'startup-gen'],
  'mlops.sales.generated.v1': ['lander'],
  'mlops.bronze.landed.v1': ['transformer'],
  'mlops.warehouse.ready.v1': ['trainer'],
};

type Outcome = 'succeeded' | 'failed' | 'skipped';

/** An output event closing a stage of a run. */
interface Close {
  entry: LedgerEntry;
  outcome: Outcome;
  detail: string | null;
}

interface StageEvents {
  inputs: LedgerEntry[];
  closes: Close[];
}

interface RunEvents {
  runId: string;
  runDate: string;
  start: LedgerEntry | undefined;
  startedMs: number;
  /** The backfill window of the run (`from..to`), when it is part of one. */
  window: { key: string; to: string } | undefined;
  own: LedgerEntry[];
  stages: Map<string, StageEvents>;
}

const ms = (time: string) => Date.parse(time);

function stageEvents(run: RunEvents, stage: string): StageEvents {
  let events = run.stages.get(stage);
  if (!events) run.stages.set(stage, (events = { inputs: [], closes: [] }));
  return events;
}

function datesOf(entry: LedgerEntry): string[] {
  const dates = entry.summary.runDates;
  return Array.isArray(dates) && dates.length > 0 ? dates.map(String) : [entry.runDate];
}

/** How an output event closes its producer's stage. */
function closeOf(entry: LedgerEntry): { stage: string; close: Close } {
  const s = entry.summary;
  if (entry.type === 'mlops.stage.failed.v1')
    return {
      stage: String(s.stage ?? entry.stage),
      close: { entry, outcome: 'failed', detail: `${String(s.code)}: ${String(s.reason)}` },
    };
  if (entry.type === 'mlops.stage.skipped.v1')
    return { stage: String(s.stage ?? entry.stage), close: { entry, outcome: 'skipped', detail: String(s.reason) } };
  let detail: string | null = null;
  if (entry.type === 'mlops.sales.generated.v1') detail = `${String(s.documentCount)} documents`;
  else if (s.rowCount !== undefined) detail = `${String(s.rowCount)} rows`;
  else if (entry.type === 'mlops.warehouse.ready.v1')
    detail = datesOf(entry).length > 1 ? `built with ${datesOf(entry).length} dates` : 'built';
  else if (entry.type === 'mlops.model.trained.v1') detail = `trained ${String(s.version)}`;
  else if (entry.type === 'mlops.predictions.ready.v1') detail = `scored with ${String(s.modelVersion)}`;
  return { stage: entry.stage, close: { entry, outcome: 'succeeded', detail } };
}

/** The outcome that stands: the latest failure or success (a redrive after a failure wins), else a skip. */
function finalOutcome(closes: readonly Close[]): Outcome {
  const decisive = closes.filter((close) => close.outcome !== 'skipped');
  return decisive.length === 0 ? 'skipped' : decisive[decisive.length - 1]!.outcome;
}

/**
 * Whether the trainer's handlings of this run are over: each build it was given ends in a skip, a
 * failure, or predictions for every date of the build.
 */
function trainerDone(events: StageEvents): boolean {
  if (events.inputs.length === 0) return events.closes.length > 0;
  return events.inputs.every((input) => {
    const mine = events.closes.filter(
      (close) => close.entry.causationId === null || close.entry.causationId === input.eventId,
    );
    if (mine.some((close) => close.outcome !== 'succeeded')) return true;
    const scored = new Set(
      mine.flatMap((close) =>
        close.entry.type === 'mlops.predictions.ready.v1' ? [String(close.entry.summary.snapshotDate)] : [],
      ),
    );
    return datesOf(input).every((date) => scored.has(date));
  });
}

/** Handling and queue times of the closes: per cause, its first handling; a later one as `latest`. */
function timings(
  closes: readonly Close[],
  startedAt: string,
  byId: ReadonlyMap<string, LedgerEntry>,
): Pick<RunStage, 'finishedAt' | 'durationMs' | 'queuedMs' | 'latest'> {
  const groups = new Map<string, LedgerEntry[]>();
  for (const { entry } of closes) {
    const key = entry.causationId ?? '';
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  let durationMs: number | null = null;
  let queuedMs: number | null = null;
  let finished = 0;
  let latest: RunStage['latest'] = null;
  for (const [cause, entries] of groups) {
    const starts = entries.flatMap((entry) => (entry.handlingStart ? [ms(entry.handlingStart)] : []));
    if (starts.length === 0) {
      // Events from other publishers carry no handling start: from the input's arrival to the output.
      const end = Math.max(...entries.map((entry) => ms(entry.time)));
      finished = Math.max(finished, end);
      durationMs = (durationMs ?? 0) + (end - ms(startedAt));
      continue;
    }
    const first = Math.min(...starts);
    const end = Math.max(
      ...entries.filter((entry) => entry.handlingStart && ms(entry.handlingStart) === first).map((e) => ms(e.time)),
    );
    finished = Math.max(finished, end);
    durationMs = (durationMs ?? 0) + (end - first);
    const causeEntry = byId.get(cause);
    if (causeEntry) queuedMs = (queuedMs ?? 0) + Math.max(0, first - ms(causeEntry.time));
    // Later handlings: a re-emitted event keeps its first time and notes the latest.
    const later = entries.flatMap((entry) => [
      ...(entry.handlingStart && ms(entry.handlingStart) > first
        ? [{ start: ms(entry.handlingStart), end: ms(entry.time) }]
        : []),
      ...(entry.latest?.handlingStart && ms(entry.latest.handlingStart) > first
        ? [{ start: ms(entry.latest.handlingStart), end: ms(entry.latest.time) }]
        : []),
    ]);
    if (later.length > 0) {
      const start = Math.max(...later.map((attempt) => attempt.start));
      const end = Math.max(...later.filter((attempt) => attempt.start === start).map((attempt) => attempt.end));
      if (!latest || start > ms(latest.handledAt))
        latest = { handledAt: new Date(start).toISOString(), durationMs: end - start };
    }
  }
  return { finishedAt: finished > 0 ? new Date(finished).toISOString() : null, durationMs, queuedMs, latest };
}

/**
 * A stage's times. The trainer adds up its handlings (one per build it was given); another stage is
 * timed by its first handling, and a later one, of the same input (a replay) or of another (the same
 * date landed again), is shown as `latest`.
 */
function stageTimings(
  stage: string,
  primary: readonly Close[],
  closes: readonly Close[],
  startedAt: string,
  byId: ReadonlyMap<string, LedgerEntry>,
): Pick<RunStage, 'finishedAt' | 'durationMs' | 'queuedMs' | 'latest'> {
  if (stage === 'trainer') return timings(primary, startedAt, byId);
  const cause = primary[0]!.entry.causationId;
  const measured = timings(
    primary.filter((close) => close.entry.causationId === cause),
    startedAt,
    byId,
  );
  const last = closes[closes.length - 1]!.entry;
  if (last.causationId === cause || !last.handlingStart) return measured;
  const again = closes.filter((close) => close.entry.handlingStart === last.handlingStart);
  const end = Math.max(...again.map((close) => ms(close.entry.time)));
  if (measured.latest && ms(measured.latest.handledAt) >= ms(last.handlingStart)) return measured;
  return { ...measured, latest: { handledAt: last.handlingStart, durationMs: end - ms(last.handlingStart) } };
}

/** Group entries by run, attribute inputs and closes to the runs' stages (a build closes every date it covers). */
function collect(entries: readonly LedgerEntry[]): RunEvents[] {
  const sorted = [...entries].sort((a, b) => ms(a.time) - ms(b.time) || a.eventId.localeCompare(b.eventId));
  const runs = new Map<string, RunEvents>();
  for (const entry of sorted) {
    let run = runs.get(entry.runId);
    if (!run) {
      run = {
        runId: entry.runId,
        runDate: entry.runDate,
        start: undefined,
        startedMs: ms(entry.time),
        window: undefined,
        own: [],
        stages: new Map(),
      };
      runs.set(entry.runId, run);
    }
    run.own.push(entry);
    if (entry.type === 'mlops.pipeline.started.v1' && !run.start) {
      run.start = entry;
      run.runDate = typeof entry.summary.runDate === 'string' ? entry.summary.runDate : entry.runDate;
      run.startedMs = ms(entry.time);
      const backfill = entry.summary.backfill as { from?: unknown; to?: unknown } | undefined;
      if (backfill && typeof backfill === 'object')
        run.window = { key: `${String(backfill.from)}..${String(backfill.to)}`, to: String(backfill.to) };
    }
  }
  const byDate = new Map<string, RunEvents[]>();
  for (const run of runs.values()) byDate.set(run.runDate, [...(byDate.get(run.runDate) ?? []), run]);

  for (const entry of sorted) {
    const run = runs.get(entry.runId)!;
    for (const stage of CONSUMERS[entry.type] ?? []) stageEvents(run, stage).inputs.push(entry);
    if (entry.type === 'mlops.pipeline.started.v1') continue;
    const { stage, close } = closeOf(entry);
    // A build closes the transformer stage of every run whose date it covers, started before it.
    const targets =
      stage === 'transformer'
        ? datesOf(entry).flatMap((date) =>
            (byDate.get(date) ?? []).filter(
              (other) =>
                other === run ||
                (other.startedMs <= ms(entry.time) && (other.start !== undefined || other.stages.has('transformer'))),
            ),
          )
        : [run];
    for (const target of new Set(targets)) stageEvents(target, stage).closes.push(close);
  }
  return [...runs.values()];
}

/** Why a stage that has not closed will not run, if it will not. */
function notReached(
  stage: string,
  run: RunEvents,
  status: (stage: string) => StageStatus | undefined,
  windowMates: readonly RunEvents[],
): { status: StageStatus; detail: string } | undefined {
  if (stage === 'lander') {
    if (status('sales-gen') === 'failed') return { status: 'blocked', detail: 'sales-gen failed' };
    if (status('sales-gen') === 'skipped') return { status: 'skipped', detail: 'no sales generated: nothing to land' };
  }
  if (stage !== 'transformer') return undefined;
  for (const upstream of UPSTREAM_OF_BUILD) {
    const upstreamStatus = status(upstream);
    if (upstreamStatus === 'failed' || upstreamStatus === 'blocked')
      return { status: 'blocked', detail: `not built: ${upstream} failed` };
  }
  for (const upstream of ['sales-gen', 'click-gen'])
    if (status(upstream) === 'skipped') return { status: 'skipped', detail: `not built: ${upstream} was skipped` };
  // A backfill builds its window together, once its last date is complete: then whatever is complete
  // is built, and a date completing later waits for the rest. So a date of the window that failed
  // upstream holds the others when it is the last date, or once the last date has been handled.
  const last = windowMates.find((mate) => mate.runDate === run.window?.to);
  const lastHandled = (last?.stages.get('transformer')?.closes.length ?? 0) > 0;
  for (const mate of windowMates) {
    if (mate !== last && !lastHandled) continue;
    for (const upstream of [...UPSTREAM_OF_BUILD, 'transformer']) {
      const closes = mate.stages.get(upstream)?.closes ?? [];
      const failure = closes.findLast((close) => close.outcome === 'failed');
      if (failure && finalOutcome(closes) === 'failed' && ms(failure.entry.time) >= run.startedMs)
        return {
          status: 'blocked',
          detail: `not built: waits for ${mate.runDate} of the backfill window ${run.window!.key}, whose ${upstream} failed`,
        };
    }
  }
  return undefined;
}

function summarise(run: RunEvents, byId: ReadonlyMap<string, LedgerEntry>, windowMates: RunEvents[]): RunSummary {
  const names = [...new Set([...(run.start ? RUN_STAGES : []), ...run.stages.keys()])];
  const derived = new Map<string, RunStage | undefined>();
  const statusOf = (name: string) => derived.get(name)?.status;
  for (const name of names) {
    const events = run.stages.get(name) ?? { inputs: [], closes: [] };
    const startedAt =
      events.inputs[0]?.time ?? events.closes[0]?.entry.handlingStart ?? events.closes[0]?.entry.time ?? null;
    const done = name === 'trainer' ? trainerDone(events) : events.closes.length > 0;
    if (done && startedAt) {
      const outcome = finalOutcome(events.closes);
      const decisive = events.closes.filter((c) => c.outcome === outcome);
      // The trainer's handlings add up, whatever each ended in; another stage is timed by its outcome.
      const primary = name === 'trainer' ? events.closes : decisive;
      const detail =
        (decisive.find((c) => c.entry.type === 'mlops.model.trained.v1') ?? decisive.findLast((c) => c.detail))
          ?.detail ?? null;
      derived.set(name, {
        stage: name,
        startedAt,
        ...stageTimings(name, primary, events.closes, startedAt, byId),
        status: outcome,
        detail,
      });
      continue;
    }
    const reason = notReached(name, run, statusOf, windowMates);
    if (reason || startedAt)
      derived.set(name, {
        stage: name,
        startedAt: startedAt ?? new Date(run.startedMs).toISOString(),
        finishedAt: null,
        durationMs: null,
        queuedMs: null,
        status: reason?.status ?? 'running',
        detail: reason?.detail ?? null,
        latest: null,
      });
  }
  const stages = [...derived.values()].filter((stage): stage is RunStage => stage !== undefined);
  const expected = new Set([...(run.start ? RUN_STAGES : []), ...stages.map((stage) => stage.stage)]);
  const closed = stages.filter((stage) => stage.status !== 'running').length;
  const failed = stages.some((stage) => stage.status === 'failed' || stage.status === 'blocked');
  const first = run.own[0]!;
  return {
    runId: run.runId,
    runDate: run.runDate,
    trigger: typeof run.start?.summary.trigger === 'string' ? run.start.summary.trigger : null,
    startedAt: run.start?.time ?? first.time,
    lastEventAt: run.own[run.own.length - 1]!.time,
    status: failed ? 'failed' : closed < expected.size ? 'running' : 'succeeded',
    events: run.own.length,
    stages,
    stagesExpected: expected.size,
    stagesClosed: closed,
  };
}

/**
 * Runs from ledger entries, newest first. Every output event closes its producer's stage of its
 * run; a build (`warehouse.ready`, or the transformer's failure or skip) closes the transformer
 * stage of every run whose date it covers; the trainer closes when each build it was given ends in
 * predictions for all its dates, a skip or a failure. A stage that cannot run because an upstream
 * stage failed is `blocked`. Durations are handling times; queue wait is apart.
 */
export function summariseRuns(entries: readonly LedgerEntry[]): RunSummary[] {
  const byId = new Map(entries.map((entry) => [entry.eventId, entry]));
  const runs = collect(entries);
  const byWindow = new Map<string, RunEvents[]>();
  for (const run of runs) if (run.window) byWindow.set(run.window.key, [...(byWindow.get(run.window.key) ?? []), run]);
  return runs
    .map((run) => summarise(run, byId, run.window ? byWindow.get(run.window.key)!.filter((mate) => mate !== run) : []))
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
}
