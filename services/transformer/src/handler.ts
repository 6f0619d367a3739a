/**
 * The transformer's reaction to `mlops.bronze.landed.v1`: note the landed partition in the ledger,
 * then build every run date that is complete (sales and clickstream, plus startups on the date of
 * the full load and on Fridays) and not yet built from these exact partitions, all in one run of the
 * Dataform project. A backlog is therefore one run, not one per date. A backfill's window is built in
 * date order while it lands, in runs of `maxDatesPerRun` as soon as its earliest unbuilt dates make
 * a full run (see {@link backfillRunsReady}); the last, shorter run waits until the whole window has
 * landed (see {@link backfillShouldWait}).
 *
 * A partition that leaves its date exactly as it was built (a replay, a re-run, a backfill overlapping
 * built dates) closes that date's stage: `stage.skipped` (`TRANSFORMER.ALREADY_BUILT`), or
 * `stage.failed` again when that build failed its assertions.
 *
 * The run publishes one `mlops.warehouse.ready.v1` with the per-table counts, quarantine counts and
 * assertion results; when an assertion fails it publishes `mlops.stage.failed.v1`
 * (`TRANSFORMER.ASSERTION_FAILED`) instead, so nothing downstream trains on that data. The dates are
 * marked built only after the event is out, so a crash in between rebuilds them (partition replace:
 * same result) and publishes again (same event id). A run waits while other processes use the
 * warehouse (inside its write session, not as a failed attempt).
 *
 * A date whose partition cannot be read fails alone (see isolation.ts): it is recorded as broken
 * with the file and the reason, announced with `stage.failed`, and later dates build without it.
 * When it is the handled event's own date, the event is dead-lettered with that error instead, so
 * `mlops dlq redrive` retries it once the file is fixed; otherwise a copy of the handled event is
 * dead-lettered with the broken dates' reason, for the same redrive.
 */
import { findStartupFullLoad } from '@mlops/synthetic';
import {
  type BackfillWindow,
  type CloudEvent,
  type DeadLetterSink,
  type DocumentStore,
  type HandlerContext,
  type ObjectStore,
  isAsyncTransformRunner,
  type TransformRunner,
} from '@mlops/kernel';
import { publishBuildOutcome } from './build-outcome.js';
import { fullLoadInLedger, incompleteDates, isComplete, missingSources } from './completeness.js';
import { submitBuild } from './completion.js';
import { TransformerErrors } from './errors.js';
import { brokenError, buildChecked, deadLetterFinder, type BrokenDate } from './isolation.js';
import { inputsHash, readLedger, recordLanded, type BuiltEntry, type LandedEntry, type LedgerState } from './ledger.js';

/** Codes of the transformer's `stage.skipped`. */
export const TRANSFORMER_SKIP_CODES = { ALREADY_BUILT: 'TRANSFORMER.ALREADY_BUILT' } as const;

/** What the handler needs. */
export interface TransformerHandlerDeps {
  readonly documents: DocumentStore;
  readonly runner: TransformRunner;
  readonly ledgerCollection: string;
  /** The lake, to find the startups full load when the ledger has not seen it land. */
  readonly objects?: Pick<ObjectStore, 'list' | 'stream'>;
  /** Most run dates in one run of the project; a longer backlog is built in consecutive runs. */
  readonly maxDatesPerRun: number;
  /** Most landed rows in one run (a date over it runs alone); absent: no limit. */
  readonly maxRowsPerRun?: number;
  /** Where a copy of an event that found other dates broken is dead-lettered, for `mlops dlq redrive`. */
  readonly deadLetters?: DeadLetterSink;
}

/** A run date that can be built, and from what. */
export interface BuildableDate {
  runDate: string;
  inputsHash: string;
  entries: LandedEntry[];
}

/** What asks for a build: the handled event, whose own date and id let a broken date be retried. */
export interface BuildTrigger {
  readonly runDate: string;
  readonly eventId: string;
}

/**
 * Complete dates not yet built from their current partitions, in date order. A date whose inputs
 * changed since it was built (a partition re-landed with other content) is built again; a date
 * that failed its assertions is not retried until its inputs change; a broken date (a partition it
 * could not read) only for an event of that date or a redelivery of the event that found it.
 */
export function buildableDates(
  ledger: LedgerState,
  fullLoadKnown: string | undefined,
  trigger?: BuildTrigger,
): BuildableDate[] {
  const buildable: BuildableDate[] = [];
  for (const [runDate, sources] of [...ledger.landed.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const backfill = [...sources.values()].find((entry) => entry.backfill)?.backfill;
    if (!isComplete(ledger, runDate, fullLoadKnown, backfill)) continue;
    const entries = [...sources.values()];
    const hash = inputsHash(entries);
    const built = ledger.built.get(runDate);
    const retry =
      built?.status === 'broken' && (runDate === trigger?.runDate || built.causeEventId === trigger?.eventId);
    if (built?.inputsHash === hash && !retry) continue;
    buildable.push({ runDate, inputsHash: hash, entries });
  }
  return buildable;
}

/**
 * Whether a partition landed by a backfill should wait instead of building whatever is complete: a
 * backfill's dates are built in full runs while the window lands (only those of
 * {@link backfillRunsReady}), the rest once the whole window has landed, so a 120-day backfill is
 * two runs of the project, not one per date as the lander works through the window. One exception keeps a
 * stuck date (a stage that failed for it) from holding the rest back: when the window's last date
 * completes, whatever is complete is built; dates completing after that wait for the window again
 * (a redrive or replay of the stuck date finishes it).
 */
export function backfillShouldWait(
  ledger: LedgerState,
  fullLoadKnown: string | undefined,
  landed: { runDate: string; backfill?: BackfillWindow },
): boolean {
  const window = landed.backfill;
  if (!window) return false;
  if (landed.runDate === window.to && isComplete(ledger, window.to, fullLoadKnown, window)) return false;
  return incompleteDates(ledger, fullLoadKnown, window).length > 0;
}

/**
 * At a backfill window's last date: the earlier dates of the window still incomplete and the sources
 * they lack. They are built when they complete; the window closes (the trainer trains it) only once
 * none is incomplete.
 */
function logLateDates(
  ledger: LedgerState,
  fullLoadKnown: string | undefined,
  window: BackfillWindow,
  context: HandlerContext,
): void {
  const late = incompleteDates(ledger, fullLoadKnown, window);
  if (late.length === 0) return;
  const lacking = late
    .slice(0, 31)
    .map((runDate) => `${runDate} (${missingSources(ledger, runDate, fullLoadKnown, window).join(', ')})`);
  context.log.warning(
    `the backfill window ${window.from}..${window.to} reached its last date with ${late.length} earlier date(s) incomplete: ${lacking.join(', ')}; each is built when it completes, and the window closes (the trainer trains it) once none is incomplete`,
    { incomplete: late.length, first: late[0] },
  );
}

/** What one run of the project may hold. */
export interface RunLimits {
  readonly maxDatesPerRun: number;
  readonly maxRowsPerRun?: number;
}

/** The rows a date's landed partitions hold. */
function rowsOf(date: BuildableDate): number {
  return date.entries.reduce((sum, entry) => sum + entry.rowCount, 0);
}

/**
 * Consecutive runs of the dates, in order: a run closes at `maxDatesPerRun` dates, or before the date
 * that would take it past `maxRowsPerRun` landed rows (DuckDB's memory grows with the rows of a run;
 * a year at scale 10 holds ten times the rows per date of scale 1).
 */
export function runsOf(dates: readonly BuildableDate[], limits: RunLimits): BuildableDate[][] {
  const runs: BuildableDate[][] = [];
  let run: BuildableDate[] = [];
  let rows = 0;
  for (const date of dates) {
    const more = rowsOf(date);
    const overRows = limits.maxRowsPerRun !== undefined && rows + more > limits.maxRowsPerRun;
    if (run.length > 0 && (run.length >= limits.maxDatesPerRun || overRows)) {
      runs.push(run);
      run = [];
      rows = 0;
    }
    run.push(date);
    rows += more;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * The runs of a backfill window that can be built while the rest is still landing: the full runs
 * (see {@link runsOf}) of the buildable dates before the window's first incomplete date, in date
 * order. Every date before a run is then built (or stuck: failed, broken), so each run's
 * point-in-time lookback sees what building the whole window at once would, and the runs are those
 * of that build. The rest waits: a run not yet full until more dates complete (one closed by rows
 * only once the date after it is known), the last run until the window is complete.
 */
export function backfillRunsReady(
  buildable: readonly BuildableDate[],
  firstIncomplete: string,
  limits: RunLimits,
): BuildableDate[][] {
  const runs = runsOf(
    buildable.filter((date) => date.runDate < firstIncomplete),
    limits,
  );
  const last = runs.at(-1);
  return last && last.length < limits.maxDatesPerRun ? runs.slice(0, -1) : runs;
}

/**
 * How the date of a landed partition was built when it was built from exactly the partitions it
 * has now (a replay, a re-run of the date, a backfill overlapping built dates), else undefined.
 */
export function alreadyBuilt(
  ledger: LedgerState,
  fullLoadKnown: string | undefined,
  landed: { runDate: string; backfill?: BackfillWindow },
): BuiltEntry | undefined {
  if (!isComplete(ledger, landed.runDate, fullLoadKnown, landed.backfill)) return undefined;
  const built = ledger.built.get(landed.runDate);
  const sources = ledger.landed.get(landed.runDate)!;
  if (built?.status === 'broken') return undefined;
  return built?.inputsHash === inputsHash(sources.values()) ? built : undefined;
}

/**
 * Close the transformer stage of a date that is not built again: `stage.skipped`
 * (`TRANSFORMER.ALREADY_BUILT`) when it was built, or `stage.failed` again when its build from these
 * same partitions failed its assertions (it is rebuilt only when a partition changes).
 */
async function announceAlreadyBuilt(
  event: CloudEvent<'mlops.bronze.landed.v1'>,
  context: HandlerContext,
  built: BuiltEntry,
): Promise<void> {
  const { runDate } = built;
  if (built.status === 'pending') {
    context.log.info(`${runDate} is being built from these partitions; its completion will announce it`, { runDate });
    return;
  }
  const options = { subject: `transformer/${runDate}`, rundate: runDate };
  if (built.status === 'ready') {
    context.log.info(`${runDate} is already built from these partitions`, { runDate });
    await context.emit(
      'mlops.stage.skipped.v1',
      {
        stage: 'transformer',
        code: TRANSFORMER_SKIP_CODES.ALREADY_BUILT,
        reason: `${runDate} was already built from these partitions`,
        runDates: [runDate],
        causeEventId: event.id,
      },
      options,
    );
    return;
  }
  const error = TransformerErrors.alreadyFailed(runDate);
  await context.emit(
    'mlops.stage.failed.v1',
    { stage: 'transformer', code: error.code, reason: error.message, runDates: [runDate], causeEventId: event.id },
    options,
  );
}

/** The backfill window covering the dates' landed partitions, if any carried one. */
function backfillOf(dates: readonly BuildableDate[]): BackfillWindow | undefined {
  const windows = dates.flatMap((date) => date.entries.flatMap((entry) => (entry.backfill ? [entry.backfill] : [])));
  if (windows.length === 0) return undefined;
  return {
    from: windows.map((window) => window.from).sort()[0]!,
    to: windows
      .map((window) => window.to)
      .sort()
      .at(-1)!,
  };
}

/** Handle one landed partition. */
export async function handleBronzeLanded(
  deps: TransformerHandlerDeps,
  event: CloudEvent<'mlops.bronze.landed.v1'>,
  context: HandlerContext,
): Promise<void> {
  const landed = event.data;
  await recordLanded(deps.documents, deps.ledgerCollection, landed);
  const ledger = await readLedger(deps.documents, deps.ledgerCollection);
  if (ledger.foreign.length > 0)
    context.log.warning('ignoring documents in the ledger collection that are not ledger entries', {
      ids: ledger.foreign.slice(0, 20),
    });

  let fullLoad = fullLoadInLedger(ledger);
  if (fullLoad === undefined && deps.objects) fullLoad = await findStartupFullLoad(deps.objects);
  const built = alreadyBuilt(ledger, fullLoad, landed);
  if (built) await announceAlreadyBuilt(event, context, built);
  const trigger = { runDate: landed.runDate, eventId: event.id };
  let runs: BuildableDate[][];
  if (backfillShouldWait(ledger, fullLoad, landed)) {
    const missing = incompleteDates(ledger, fullLoad, landed.backfill!);
    const window = `${landed.backfill!.from}..${landed.backfill!.to}`;
    runs = backfillRunsReady(buildableDates(ledger, fullLoad, trigger), missing[0]!, deps);
    const progress = { runDate: landed.runDate, incomplete: missing.length, firstIncomplete: missing[0] };
    if (runs.length === 0) {
      context.log.info(
        `waiting for the backfill window: ${missing.length} date(s) of ${window} still incomplete`,
        progress,
      );
      return;
    }
    context.log.info(
      `building ${runs.flat().length} date(s) of the backfill window ${window} while ${missing.length} still land`,
      progress,
    );
  } else {
    runs = runsOf(buildableDates(ledger, fullLoad, trigger), deps);
    if (landed.backfill && landed.runDate === landed.backfill.to)
      logLateDates(ledger, fullLoad, landed.backfill, context);
  }
  const dates = runs.flat();
  if (dates.length === 0) {
    if (built) return;
    const sources = [...(ledger.landed.get(landed.runDate)?.keys() ?? [])].sort();
    context.log.info(`waiting: ${landed.runDate} has ${sources.join(', ')}`, { runDate: landed.runDate, sources });
    return;
  }

  if (runs.length > 1)
    context.log.info(`building ${dates.length} run dates in ${runs.length} runs of at most ${deps.maxDatesPerRun}`, {
      first: dates[0]!.runDate,
      last: dates.at(-1)!.runDate,
    });
  const broken: BrokenDate[] = [];
  for (const chunk of runs)
    broken.push(
      ...(await buildChecked(deps, event, context, chunk, (part) => buildDates(deps, event, context, part, fullLoad))),
    );
  const own = broken.find((entry) => entry.date.runDate === landed.runDate);
  if (own) throw brokenError(own);
  if (broken.length > 0 && deps.deadLetters) await deadLetterFinder(deps.deadLetters, event, context, broken);
}

/**
 * One run of the project for consecutive dates, then its event; the dates are marked built only
 * after the event is out.
 */
async function buildDates(
  deps: TransformerHandlerDeps,
  event: CloudEvent<'mlops.bronze.landed.v1'>,
  context: HandlerContext,
  dates: readonly BuildableDate[],
  fullLoadKnown: string | undefined,
): Promise<void> {
  const runDates = dates.map((date) => date.runDate);
  context.log.info(`building ${runDates.length} run date(s)`, {
    runDates: runDates.length <= 31 ? runDates : [runDates[0], '...', runDates.at(-1)],
  });
  if (isAsyncTransformRunner(deps.runner))
    return submitBuild(deps, deps.runner, event, context, dates, backfillOf(dates));
  const result = await deps.runner.run({
    runDates,
    runId: event.runid,
    log: context.log,
    landedRows: dates.reduce((sum, date) => sum + rowsOf(date), 0),
  });
  await publishBuildOutcome(
    deps,
    { ...context, causeEventId: event.id },
    dates,
    result,
    backfillOf(dates),
    fullLoadKnown,
  );
}
