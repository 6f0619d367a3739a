/**
 * The transformer: on `mlops.bronze.landed.v1` it keeps a ledger of landed partitions per run date
 * and, when dates are complete, runs the Dataform project (bronze ▶ silver ▶ gold) for all of them
 * at once, then publishes `mlops.warehouse.ready.v1` (or `mlops.stage.failed.v1` when an assertion
 * fails).
 */
import {
  errorCode,
  errorMessage,
  isAsyncTransformRunner,
  type AnyEvent,
  type DeadLetterSink,
  type HandlerContext,
  type Publisher,
  type CloudEvent,
  type DocumentStore,
  type ObjectStore,
  type Service,
  type TransformRunner,
} from '@mlops/kernel';
import { dataformCompletionConsumer, sweepInvocations } from './completion.js';
import { TransformerErrors } from './errors.js';
import { handleBronzeLanded } from './handler.js';
import { LEDGER_COLLECTION } from './ledger.js';

/** What {@link createTransformerService} needs. */
export interface TransformerServiceDeps {
  /** The document store holding the ledger (SQLite locally, Firestore in the cloud). */
  readonly documents: DocumentStore;
  /**
   * Runs the Dataform project: `DuckDbTransformRunner` (local, emulator) or
   * `DataformApiTransformRunner` (gcp).
   */
  readonly runner: TransformRunner;
  /** The lake, read only to find the startups full load when the ledger has not seen it land. */
  readonly objects?: Pick<ObjectStore, 'list' | 'stream'>;
  /**
   * Where the deadline sweep announces invocations that never completed (gcp: the bus). Without it
   * only completions settle invocations.
   */
  readonly publisher?: Publisher;
  /**
   * Where a copy of an event that found other dates' partitions unreadable is dead-lettered, so
   * `mlops dlq redrive` retries those dates once the files are fixed (the bus). Without it, a replay
   * of the dates' landed events does.
   */
  readonly deadLetters?: DeadLetterSink;
  /** How long an invocation may run before the sweep settles it (default 6 hours). */
  readonly invocationDeadlineMs?: number;
  /** Ledger collection (default `transformer_ledger`). */
  readonly ledgerCollection?: string;
  /**
   * Most run dates in one run of the project (default {@link DEFAULT_MAX_DATES_PER_RUN}). A longer
   * backlog is built in consecutive runs, each with its own event: the features' full build over a
   * year of snapshots at scale 10 spills more than 60 GB in DuckDB, sixty at a time do not.
   */
  readonly maxDatesPerRun?: number;
  /**
   * Most landed rows in one run of the project (default: no limit); a run closes before the date
   * that would take it past this, so DuckDB's memory per run stays flat whatever the scale.
   */
  readonly maxRowsPerRun?: number;
}

/** Default most run dates in one run of the project. */
export const DEFAULT_MAX_DATES_PER_RUN = 60;

/** The transformer service. One event at a time: runs of the project never overlap in a process. */
export function createTransformerService(deps: TransformerServiceDeps): Service {
  const limit = deps.maxDatesPerRun ?? DEFAULT_MAX_DATES_PER_RUN;
  if (!Number.isInteger(limit) || limit < 1)
    throw TransformerErrors.badSetting('maxDatesPerRun', `must be a whole number of at least 1 (got ${limit})`);
  const rows = deps.maxRowsPerRun;
  if (rows !== undefined && (!Number.isInteger(rows) || rows < 1))
    throw TransformerErrors.badSetting('maxRowsPerRun', `must be a whole number of at least 1 (got ${rows})`);
  const handlerDeps = {
    documents: deps.documents,
    runner: deps.runner,
    ledgerCollection: deps.ledgerCollection ?? LEDGER_COLLECTION,
    maxDatesPerRun: deps.maxDatesPerRun ?? DEFAULT_MAX_DATES_PER_RUN,
    ...(rows === undefined ? {} : { maxRowsPerRun: rows }),
    ...(deps.objects ? { objects: deps.objects } : {}),
    ...(deps.deadLetters ? { deadLetters: deps.deadLetters } : {}),
  };
  const { runner } = deps;
  const handle = async (event: AnyEvent, context: HandlerContext): Promise<void> => {
    await handleBronzeLanded(handlerDeps, event as CloudEvent<'mlops.bronze.landed.v1'>, context);
    if (isAsyncTransformRunner(runner) && deps.publisher) {
      // Invocations whose completion never came are settled on the next landed partition.
      await sweepInvocations({ ...handlerDeps, runner }, deps.publisher, context.log, {
        ...(deps.invocationDeadlineMs === undefined ? {} : { deadlineMs: deps.invocationDeadlineMs }),
      }).catch((error: unknown) =>
        context.log.warning(`the invocation deadline sweep failed: ${errorMessage(error)}`, {
          code: errorCode(error),
        }),
      );
    }
  };
  // Events are handled one after another even when delivered at once (a redelivery while a run is
  // going): the later one reads the ledger after the run and finds its dates built.
  let previous: Promise<unknown> = Promise.resolve();
  return {
    name: 'transformer',
    consumes: ['mlops.bronze.landed.v1'],
    concurrency: 1,
    handle: (event, context) => {
      const turn = previous.then(() => handle(event, context));
      previous = turn.catch(() => undefined);
      return turn;
    },
    // gcp: the Dataform API finishes runs later; their completions arrive on their own topic.
    ...(isAsyncTransformRunner(runner)
      ? { rawConsumers: [dataformCompletionConsumer({ ...handlerDeps, runner })] }
      : {}),
  };
}
