/**
 * What a finished run of the project announces, whether it ran inside the request (DuckDB) or was
 * completed later (the Dataform API): `warehouse.ready` and the dates marked built, or
 * `stage.failed` (`TRANSFORMER.ASSERTION_FAILED`) and the dates marked failed. The dates are marked
 * only after the event is out, so a crash in between publishes again (same event id).
 */
import type {
  BackfillWindow,
  DocumentStore,
  HandlerContext,
  Logger,
  TransformRunResult,
  WarehouseReady,
} from '@mlops/kernel';
import { TransformerErrors } from './errors.js';
import { recordBuilt } from './ledger.js';

/** A date of the run and the inputs it was built from. */
export interface RunDate {
  runDate: string;
  inputsHash: string;
}

/** The `warehouse.ready` payload of a run. */
export function readyEvent(result: TransformRunResult, backfill: BackfillWindow | undefined): WarehouseReady {
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
  };
}

/** Announce a finished run and mark its dates. */
export async function publishBuildOutcome(
  deps: { documents: DocumentStore; ledgerCollection: string },
  announce: { emit: HandlerContext['emit']; log: Logger; causeEventId: string },
  dates: readonly RunDate[],
  result: TransformRunResult,
  backfill: BackfillWindow | undefined,
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
  await announce.emit('mlops.warehouse.ready.v1', readyEvent(result, backfill), { subject, rundate: latest });
  await recordBuilt(
    deps.documents,
    deps.ledgerCollection,
    dates.map((date) => ({ runDate: date.runDate, inputsHash: date.inputsHash, status: 'ready' as const })),
  );
}
