/**
 * What a finished run of the project announces, whether it ran inside the request (DuckDB) or was
 * completed later (the Dataform API): `warehouse.ready` and the dates marked built, or
 * `stage.failed` (`TRANSFORMER.ASSERTION_FAILED`) and the dates marked failed. The dates are marked
 * only after the event is out, so a crash in between publishes again (same event id).
 *
 * The ready event also says what the ledger knows around the run: the dates built earlier whose
 * gold partitions the run replaced (`affectedDates`: a date that landed after later dates were
 * built changes their features), and, for a backfill, whether the window's last date is built
 * and none of its dates still misses a source (`closesBackfill`): the trainer trains on the window
 * then, and again when a date of the window is built after that (a replay, a redrive of a broken
 * date). A date that lands after the last one (sales-gen's two threads finish dates out of order;
 * Pub/Sub does not keep order) so holds the training until it is built, instead of training twice.
 */
import { dayNumber } from '@mlops/synthetic';
import {
  type BackfillWindow,
  type DocumentStore,
  type HandlerContext,
  type Logger,
  type TransformRunResult,
  WAREHOUSE_LOOKBACK_DAYS,
  type WarehouseReady,
} from '@mlops/kernel';
import { fullLoadInLedger, incompleteDates } from './completeness.js';
import { TransformerErrors } from './errors.js';
import { type LedgerState, readLedger, recordBuilt } from './ledger.js';

/** A date of the run and the inputs it was built from. */
export interface RunDate {
  runDate: string;
  inputsHash: string;
}

/** What the ledger adds to a run's ready event. */
export interface ReadyContext {
  /** Dates built before the run whose gold partitions it replaced, sorted. */
  affectedDates: string[];
  /** With a backfill: whether the window's last date is built once this run is, and no date of it is incomplete. */
  closesBackfill?: boolean;
}

/**
 * The ready context of a run from the ledger before its dates are marked: the dates built (ready)
 * within the lookback after one of its run dates, and whether the backfill closes: its last date
 * built or in the run, and every date of it complete (`fullLoadKnown`: the startups full load's
 * date when the ledger has not seen it land).
 */
export function readyContext(
  ledger: Pick<LedgerState, 'built' | 'landed'>,
  runDates: readonly string[],
  backfill: BackfillWindow | undefined,
  fullLoadKnown?: string,
): ReadyContext {
  const runDays = new Set(runDates.map(dayNumber));
  const affectedDates: string[] = [];
  for (const [date, built] of ledger.built) {
    if (built.status !== 'ready' || runDates.includes(date)) continue;
    const day = dayNumber(date);
    for (let back = 1; back < WAREHOUSE_LOOKBACK_DAYS; back++)
      if (runDays.has(day - back)) {
        affectedDates.push(date);
        break;
      }
  }
  affectedDates.sort();
  if (!backfill) return { affectedDates };
  const lastBuilt = runDates.includes(backfill.to) || ledger.built.get(backfill.to)?.status === 'ready';
  const closesBackfill =
    lastBuilt && incompleteDates(ledger, fullLoadInLedger(ledger) ?? fullLoadKnown, backfill).length === 0;
  return { affectedDates, closesBackfill };
}

/** The `warehouse.ready` payload of a run. */
export function readyEvent(
  result: TransformRunResult,
  backfill: BackfillWindow | undefined,
  context: ReadyContext = { affectedDates: [] },
): WarehouseReady {
  return {
    runDates: [...result.runDates] as [string, ...string[]],
    tables: result.tables.map((table) => ({ name: table.name, rows: table.rows })),
    quarantine: result.quarantine.map((entry) => ({ table: entry.table, rows: entry.rows })),
    assertions: result.assertions.map((assertion) => ({
      name: assertion.name,
      passed: assertion.passed,
      failingRows: assertion.failingRows,
    })),
    engine: result.engine,
    durationMs: Math.round(result.durationMs),
    ...(result.invocation ? { invocation: result.invocation } : {}),
    ...(backfill ? { backfill } : {}),
    ...(context.affectedDates.length > 0 ? { affectedDates: context.affectedDates } : {}),
    ...(backfill && context.closesBackfill !== undefined ? { closesBackfill: context.closesBackfill } : {}),
  };
}

/** Announce a finished run and mark its dates. */
export async function publishBuildOutcome(
  deps: { documents: DocumentStore; ledgerCollection: string },
  announce: { emit: HandlerContext['emit']; log: Logger; causeEventId: string },
  dates: readonly RunDate[],
  result: TransformRunResult,
  backfill: BackfillWindow | undefined,
  /** The startups full load's date as the handler found it (the lake), when the ledger has not seen it land. */
  fullLoadKnown?: string,
): Promise<void> {
  const runDates = dates.map((date) => date.runDate);
  const subject = `warehouse/${runDates[0]}..${runDates.at(-1)}`;
  const latest = runDates.at(-1)!;
  const failed = result.assertions.filter((assertion) => !assertion.passed);
  if (failed.length > 0) {
    const error = TransformerErrors.assertionFailed(failed, runDates);
    await announce.emit(
      'mlops.stage.failed.v1',
      {
        stage: 'transformer',
        code: error.code,
        reason: error.message.slice(0, 4000),
        runDates,
        causeEventId: announce.causeEventId,
        details: {
          engine: result.engine,
          assertions: failed.map((assertion) => ({ name: assertion.name, failingRows: assertion.failingRows })),
        },
      },
      { subject, rundate: latest },
    );
    await recordBuilt(
      deps.documents,
      deps.ledgerCollection,
      dates.map((date) => ({ runDate: date.runDate, inputsHash: date.inputsHash, status: 'failed' as const })),
    );
    announce.log.error(error.message, { code: error.code, runDates: runDates.length });
    return;
  }
  const context = readyContext(
    await readLedger(deps.documents, deps.ledgerCollection),
    runDates,
    backfill,
    fullLoadKnown,
  );
  if (context.affectedDates.length > 0)
    announce.log.info(
      `the run replaced the gold partitions of ${context.affectedDates.length} later date(s) built before it`,
      { first: context.affectedDates[0], last: context.affectedDates.at(-1) },
    );
  await announce.emit('mlops.warehouse.ready.v1', readyEvent(result, backfill, context), {
    subject,
    rundate: latest,
  });
  await recordBuilt(
    deps.documents,
    deps.ledgerCollection,
    dates.map((date) => ({ runDate: date.runDate, inputsHash: date.inputsHash, status: 'ready' as const })),
  );
}
