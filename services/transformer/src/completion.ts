/**
 * The asynchronous half of the transformer (gcp): no request waits for Dataform. A landed partition
 * that completes dates submits the workflow invocation, records it and acknowledges; the dates are
 * `pending` in the ledger meanwhile, so a redelivery submits nothing again. The invocation's end
 * comes back on `dataform-completions` (a Cloud Logging sink's LogEntry, not a CloudEvent): the
 * consumer re-reads the invocation through the Dataform API, never trusting the log alone, and
 * announces what it ended in, once per invocation. A deadline sweep settles invocations whose
 * completion never came.
 */
import {
  PermanentError,
  TransformError,
  TransientError,
  classifyError,
  followUp,
  type AnyEvent,
  type AsyncTransformRunner,
  type BackfillWindow,
  type CloudEvent,
  type DocumentStore,
  type DocumentValue,
  type HandlerContext,
  type Logger,
  type Publisher,
  type RawConsumer,
  type WireMessage,
} from '@mlops/kernel';
import { publishBuildOutcome, type RunDate } from './build-outcome.js';
import type { BuiltEntry } from './ledger.js';
import { recordBuilt, restoreBuilt } from './ledger.js';

/** Collection of the invocations the transformer started, one document per invocation. */
export const INVOCATIONS_COLLECTION = 'transformer_invocations';

/** The topic of the Dataform completion log sink. */
export const DATAFORM_COMPLETIONS_TOPIC = 'dataform-completions';

/** Default time after which an invocation that never completed is settled by the sweep. */
export const DEFAULT_INVOCATION_DEADLINE_MS = 6 * 60 * 60 * 1000;

/** What submitting and completing need. */
export interface CompletionDeps {
  readonly documents: DocumentStore;
  readonly ledgerCollection: string;
  readonly runner: AsyncTransformRunner;
}

/** One invocation the transformer started, as recorded. */
interface InvocationRecord {
  invocation: string;
  dates: RunDate[];
  /** How each date was built before (null: never), put back when the invocation does not complete. */
  previous: (BuiltEntry | null)[];
  causeEventId: string;
  runid: string;
  rundate: string;
  traceparent: string;
  backfill?: BackfillWindow;
  startedAt: string;
  status: 'running' | 'succeeded' | 'failed' | 'timed-out';
}

function recordId(invocation: string): string {
  return (invocation.split('/').pop() ?? invocation).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 200);
}

function toRecord(data: Record<string, DocumentValue>): InvocationRecord {
  return data as unknown as InvocationRecord;
}

/** Submit the run of `dates`, record it, mark the dates pending, and return: nothing waits. */
export async function submitBuild(
  deps: Omit<CompletionDeps, 'runner'>,
  runner: AsyncTransformRunner,
  event: CloudEvent<'mlops.bronze.landed.v1'>,
  context: HandlerContext,
  dates: readonly RunDate[],
  backfill: BackfillWindow | undefined,
): Promise<void> {
  const runDates = dates.map((date) => date.runDate);
  const previous = await Promise.all(
    runDates.map(async (runDate) => {
      const stored = await deps.documents.get(deps.ledgerCollection, `built_${runDate}`);
      return stored
        ? ({ runDate, inputsHash: stored.data.inputsHash, status: stored.data.status } as BuiltEntry)
        : null;
    }),
  );
  const submission = await runner.submit({ runDates, runId: event.runid });
  const record: InvocationRecord = {
    invocation: submission.invocation,
    dates: dates.map((date) => ({ runDate: date.runDate, inputsHash: date.inputsHash })),
    previous,
    causeEventId: event.id,
    runid: event.runid,
    rundate: runDates.at(-1)!,
    traceparent: event.traceparent,
    ...(backfill ? { backfill } : {}),
    startedAt: new Date().toISOString(),
    status: 'running',
  };
  await deps.documents.upsertBatch(INVOCATIONS_COLLECTION, [
    { id: recordId(submission.invocation), data: record as unknown as Record<string, DocumentValue> },
  ]);
  await recordBuilt(
    deps.documents,
    deps.ledgerCollection,
    dates.map((date) => ({ runDate: date.runDate, inputsHash: date.inputsHash, status: 'pending' as const })),
  );
  context.log.info(`submitted Dataform invocation ${submission.invocation}`, {
    invocation: submission.invocation,
    runDates: runDates.length,
  });
}

/** What a Dataform completion entry names: the invocation's id and how it ended. */
export interface DataformCompletion {
  workflowInvocationId: string;
  terminalState: string;
}

/**
 * Read a completion log entry (the sink's message data: a LogEntry as JSON). Anything else is a
 * permanent `TRANSFORMER.BAD_COMPLETION` naming what is wrong.
 */
export function parseDataformCompletion(message: WireMessage): DataformCompletion {
  const bad = (what: string) =>
    new PermanentError(
      'TRANSFORMER.BAD_COMPLETION',
      `a message on ${DATAFORM_COMPLETIONS_TOPIC} is not a Dataform workflow invocation completion entry: ${what}`,
    );
  let entry: unknown;
  try {
    entry = JSON.parse(Buffer.from(message.data).toString('utf8'));
  } catch {
    throw bad('its data is not JSON');
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw bad('its data is not a JSON object');
  const payload = (entry as { jsonPayload?: unknown }).jsonPayload;
  if (payload === null || typeof payload !== 'object') throw bad('it has no jsonPayload');
  const { workflowInvocationId: id, terminalState: state } = payload as Record<string, unknown>;
  if (typeof id !== 'string' || !/^[A-Za-z0-9_.-]{1,200}$/.test(id))
    throw bad('jsonPayload.workflowInvocationId is missing or not an invocation id');
  if (typeof state !== 'string' || state.length === 0 || state.length > 40)
    throw bad('jsonPayload.terminalState is missing');
  return { workflowInvocationId: id, terminalState: state };
}

function emitter(record: InvocationRecord, publisher: Publisher): HandlerContext['emit'] {
  const cause = {
    id: record.causeEventId,
    runid: record.runid,
    rundate: record.rundate,
    traceparent: record.traceparent,
  };
  return (async (type, data, options = {}) => {
    const next = followUp(cause, type, data, { source: '//mlops/transformer', ...options });
    await publisher.publish(next as AnyEvent);
    return next;
  }) as HandlerContext['emit'];
}

async function mark(deps: CompletionDeps, record: InvocationRecord, status: InvocationRecord['status']): Promise<void> {
  await deps.documents.upsertBatch(INVOCATIONS_COLLECTION, [
    {
      id: recordId(record.invocation),
      data: { ...(record as unknown as Record<string, DocumentValue>), status, settledAt: new Date().toISOString() },
    },
  ]);
}

/** Announce an invocation that did not build its dates, and let them be built again. */
async function announceFailure(
  deps: CompletionDeps,
  record: InvocationRecord,
  publisher: Publisher,
  failure: { code: string; reason: string },
  status: 'failed' | 'timed-out',
): Promise<void> {
  const runDates = record.dates.map((date) => date.runDate);
  await emitter(record, publisher)(
    'mlops.stage.failed.v1',
    {
      stage: 'transformer',
      code: failure.code,
      reason: failure.reason.slice(0, 4000) || 'no reason given',
      runDates,
      causeEventId: record.causeEventId,
      details: { invocation: record.invocation },
    },
    { subject: `warehouse/${runDates[0]}..${runDates.at(-1)}`, rundate: record.rundate },
  );
  await restoreBuilt(
    deps.documents,
    deps.ledgerCollection,
    record.dates.map((date, index) => ({
      runDate: date.runDate,
      ...(record.previous[index] ? { entry: record.previous[index]! } : {}),
    })),
  );
  await mark(deps, record, status);
}

/**
 * Settle a recorded invocation from what the Dataform API says now: its result announced as a
 * synchronous run's would be, or its failure as `stage.failed` with the engine's code. Still
 * running: a completion arrived early (transient: Pub/Sub delivers it again), or, past the
 * deadline, it is cancelled and announced as `TRANSFORMER.DEADLINE_EXCEEDED`.
 */
async function settle(
  deps: CompletionDeps,
  record: InvocationRecord,
  publisher: Publisher,
  log: Logger,
  deadlinePassed: boolean,
): Promise<'succeeded' | 'failed' | 'timed-out'> {
  let progress;
  try {
    progress = await deps.runner.read(
      record.invocation,
      record.dates.map((date) => date.runDate),
    );
  } catch (error) {
    if (!(error instanceof TransformError) || classifyError(error) === 'transient') throw error;
    await announceFailure(deps, record, publisher, { code: error.code, reason: error.message }, 'failed');
    log.error(`Dataform invocation ${record.invocation} failed: ${error.message}`, { code: error.code });
    return 'failed';
  }
  if (progress.state === 'running') {
    if (!deadlinePassed)
      throw new TransientError(
        'TRANSFORMER.COMPLETION_EARLY',
        `Dataform still reports ${record.invocation} as running; its completion is read again later`,
      );
    await deps.runner.cancel(record.invocation).catch(() => undefined);
    const reason = `Dataform invocation ${record.invocation}, started ${record.startedAt}, did not complete by its deadline; it was cancelled`;
    await announceFailure(deps, record, publisher, { code: 'TRANSFORMER.DEADLINE_EXCEEDED', reason }, 'timed-out');
    log.error(reason, { code: 'TRANSFORMER.DEADLINE_EXCEEDED' });
    return 'timed-out';
  }
  await publishBuildOutcome(
    deps,
    { emit: emitter(record, publisher), log, causeEventId: record.causeEventId },
    record.dates,
    progress.result,
    record.backfill,
  );
  await mark(deps, record, 'succeeded');
  return 'succeeded';
}

/**
 * The consumer of `dataform-completions`: each entry names an invocation; one this transformer did
 * not start (another repository, a manual run) is acknowledged and ignored, one already settled is
 * a duplicate, and any other is settled from the Dataform API.
 */
export function dataformCompletionConsumer(deps: CompletionDeps): RawConsumer {
  return {
    topic: DATAFORM_COMPLETIONS_TOPIC,
    handle: async (message, context) => {
      const completion = parseDataformCompletion(message);
      const invocation = deps.runner.invocationName(completion.workflowInvocationId);
      const log = context.log.child({ invocation, terminalState: completion.terminalState });
      const stored = await deps.documents.get(INVOCATIONS_COLLECTION, recordId(invocation));
      if (!stored) {
        log.info('completion of an invocation this transformer did not start; ignored');
        return;
      }
      const record = toRecord(stored.data);
      if (record.status !== 'running') {
        log.info(`completion of an invocation already settled (${record.status}); ignored`);
        return;
      }
      const outcome = await settle(deps, record, context.publisher, log, false);
      log.info(`settled Dataform invocation: ${outcome}`);
    },
  };
}

/**
 * Settle every recorded invocation still running that started more than `deadlineMs` ago: what it
 * ended in, when it ended without a completion reaching us, or `TRANSFORMER.DEADLINE_EXCEEDED`.
 */
export async function sweepInvocations(
  deps: CompletionDeps,
  publisher: Publisher,
  log: Logger,
  options: { deadlineMs?: number; now?: Date } = {},
): Promise<{ settled: number; timedOut: number }> {
  const cutoff = (options.now ?? new Date()).getTime() - (options.deadlineMs ?? DEFAULT_INVOCATION_DEADLINE_MS);
  const due: InvocationRecord[] = [];
  for await (const stored of deps.documents.query(INVOCATIONS_COLLECTION, {
    where: [{ field: 'status', op: '==', value: 'running' }],
  })) {
    const record = toRecord(stored.data);
    if (Date.parse(record.startedAt) <= cutoff) due.push(record);
  }
  let timedOut = 0;
  for (const record of due) {
    const outcome = await settle(deps, record, publisher, log.child({ invocation: record.invocation }), true);
    if (outcome === 'timed-out') timedOut += 1;
  }
  return { settled: due.length, timedOut };
}
