/**
 * The asynchronous trainer (gcp): no request waits for Vertex AI. `warehouse.ready` submits the
 * PipelineJob, records it in `trainer_jobs` and acknowledges; the run's trainer stage stays open
 * (pending) meanwhile, since nothing is published. The job's end comes back on
 * `vertex-completions` (a Cloud Logging sink's LogEntry of the job's state change, not a
 * CloudEvent): the consumer re-reads the job through the Vertex AI API, never trusting the entry
 * alone, reads what the steps recorded and publishes what a synchronous run would have, once per
 * job. A deadline sweep settles jobs whose completion never came.
 *
 * One record per triggering event (`churn-<hash of the event id>`), naming its current job: a
 * redelivered event adopts it instead of submitting again; a training run refused for too little
 * history falls back to scoring with the champion, as in-process, by a second job of the same
 * record; an event redriven after its job failed submits a new generation (`-g2`...).
 */
import {
  PermanentError,
  TransientError,
  errorCode,
  errorMessage,
  followUp,
  type AnyEvent,
  type CloudEvent,
  type DocumentValue,
  type HandlerContext,
  type Logger,
  type Publisher,
  type RawConsumer,
  type WireMessage,
} from '@mlops/kernel';
import type { JsonValue } from './components/component.js';
import { TRAINER_SERVICE_CODES, TrainerErrors, asPlatformError, trainerCodeOf } from './errors.js';
import type { TrainerHandlerDeps } from './handler.deps.js';
import { announceDeclined, publishOutcome } from './outcome.js';
import { CHURN_PREDICT_PIPELINE, CHURN_TRAINING_PIPELINE } from './pipeline/churn.pipeline.js';
import type { AsyncPipelineRunner } from './pipeline/runner.port.js';
import type { TrainingDecision } from './policy.js';

/** Collection of the jobs the trainer submitted, one document per triggering event. */
export const TRAINER_JOBS_COLLECTION = 'trainer_jobs';

/** The topic of the Vertex AI PipelineJob state log sink. */
export const VERTEX_COMPLETIONS_TOPIC = 'vertex-completions';

/** Default time after which a job whose completion never came is settled by the sweep. */
export const DEFAULT_JOB_DEADLINE_MS = 6 * 60 * 60 * 1000;

type Kind = 'train' | 'predict';

/** A submitted job, as recorded. */
interface JobRecord {
  job: string;
  runKey: string;
  kind: Kind;
  generation: number;
  /** The triggering `warehouse.ready`, whose follow-ups the completion publishes. */
  event: CloudEvent<'mlops.warehouse.ready.v1'>;
  decision: TrainingDecision;
  /** The scoring run's parameters when a champion existed (the fallback of a refused training). */
  predictParameters: Record<string, JsonValue> | null;
  labels: Record<string, string>;
  startedAt: string;
  status: 'submitting' | 'running' | 'succeeded' | 'failed' | 'timed-out';
  settledAt?: string;
}

/** What submitting and settling need: the handler's dependencies with an asynchronous runner. */
export type CompletionDeps = TrainerHandlerDeps & { readonly runner: AsyncPipelineRunner };

const JOB_ID = /^churn-(train|predict)-([0-9a-f]{24})(?:-g(\d+))?$/;

function recordIdOf(runKey: string): string | undefined {
  const match = JOB_ID.exec(runKey);
  return match ? `churn-${match[2]}` : undefined;
}

function runKeyFor(baseKey: string, generation: number): string {
  return generation > 1 ? `${baseKey}-g${generation}` : baseKey;
}

async function store(deps: CompletionDeps, record: JobRecord): Promise<void> {
  await deps.documents.upsertBatch(TRAINER_JOBS_COLLECTION, [
    // Through JSON: a document holds no undefined fields.
    { id: recordIdOf(record.runKey)!, data: JSON.parse(JSON.stringify(record)) as Record<string, DocumentValue> },
  ]);
}

/** What to submit for an event. */
export interface JobPlan {
  kind: Kind;
  /** `runKeyOf(event.id, kind)`. */
  baseKey: string;
  parameters: Record<string, JsonValue>;
  decision: TrainingDecision;
  predictParameters: Record<string, JsonValue> | null;
  labels: Record<string, string>;
}

/**
 * Submit the event's job and record it, unless the event already has one running or done (a
 * redelivery). Resolves without waiting for the job.
 */
export async function submitJob(
  deps: CompletionDeps,
  event: CloudEvent<'mlops.warehouse.ready.v1'>,
  plan: JobPlan,
  log: Logger,
): Promise<void> {
  const id = recordIdOf(plan.baseKey)!;
  const stored = (await deps.documents.get(TRAINER_JOBS_COLLECTION, id))?.data as unknown as JobRecord | undefined;
  if (stored && (stored.status === 'running' || stored.status === 'succeeded')) {
    log.info(`event already submitted as ${stored.job} (${stored.status}); nothing to do`, { job: stored.job });
    return;
  }
  // A job that failed or timed out is not adopted again: a redriven event starts a new generation.
  const generation =
    stored && (stored.status === 'failed' || stored.status === 'timed-out')
      ? stored.generation + 1
      : (stored?.generation ?? 1);
  await startJob(deps, { event, plan, generation, log, kind: plan.kind });
}

async function startJob(
  deps: CompletionDeps,
  input: { event: CloudEvent<'mlops.warehouse.ready.v1'>; plan: JobPlan; generation: number; log: Logger; kind: Kind },
): Promise<JobRecord> {
  const { event, plan, generation, log, kind } = input;
  const runKey = runKeyFor(plan.baseKey, generation);
  const record: JobRecord = {
    job: deps.runner.jobName(runKey),
    runKey,
    kind,
    generation,
    event,
    decision: plan.decision,
    predictParameters: plan.predictParameters,
    labels: plan.labels,
    startedAt: new Date().toISOString(),
    status: 'submitting',
  };
  // Recorded before submitting, so a completion that arrives at once finds it.
  await store(deps, record);
  const submission = await deps.runner.submit({
    pipeline: kind === 'train' ? CHURN_TRAINING_PIPELINE : CHURN_PREDICT_PIPELINE,
    parameters: plan.parameters,
    runKey,
    labels: plan.labels,
  });
  record.job = submission.job;
  // A job that ended at once may already be settled by its completion: leave that record be.
  const current = (await deps.documents.get(TRAINER_JOBS_COLLECTION, recordIdOf(runKey)!))?.data as unknown as
    | JobRecord
    | undefined;
  if (current?.runKey === runKey && current.status !== 'submitting') return current;
  record.status = 'running';
  await store(deps, record);
  log.info(`${submission.adopted ? 'adopted' : 'submitted'} Vertex AI PipelineJob ${submission.job}`, {
    job: submission.job,
    kind,
  });
  return record;
}

/** What a completion entry names: the job's id and the state it reports. */
export interface VertexCompletion {
  pipelineJobId: string;
  state?: string;
}

/**
 * Read a completion entry (the sink's message data: a LogEntry as JSON). The job id comes from
 * `resource.labels.pipeline_job_id`; anything else is a permanent `TRAINER.BAD_COMPLETION`.
 */
export function parseVertexCompletion(message: WireMessage): VertexCompletion {
  let entry: unknown;
  try {
    entry = JSON.parse(Buffer.from(message.data).toString('utf8'));
  } catch {
    throw TrainerErrors.badCompletion('its data is not JSON');
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    throw TrainerErrors.badCompletion('its data is not a JSON object');
  const resource = (entry as { resource?: { type?: unknown; labels?: Record<string, unknown> } }).resource;
  if (resource?.type !== 'aiplatform.googleapis.com/PipelineJob')
    throw TrainerErrors.badCompletion('resource.type is not aiplatform.googleapis.com/PipelineJob');
  const id = resource.labels?.pipeline_job_id;
  if (typeof id !== 'string' || !/^[a-z0-9][-a-z0-9]{0,127}$/.test(id))
    throw TrainerErrors.badCompletion('resource.labels.pipeline_job_id is missing or not a job id');
  const state = (entry as { jsonPayload?: { state?: unknown } }).jsonPayload?.state;
  return { pipelineJobId: id, ...(typeof state === 'string' ? { state } : {}) };
}

const TERMINAL_STATES = new Set(['PIPELINE_STATE_SUCCEEDED', 'PIPELINE_STATE_FAILED', 'PIPELINE_STATE_CANCELLED']);

/** A handler context that publishes the follow-ups of the recorded event, as its handling would have. */
function contextOf(record: JobRecord, publisher: Publisher, log: Logger, delivery: HandlerContext['delivery']) {
  const event = record.event;
  const emit = (async (type, data, options = {}) => {
    const next = followUp(event, type, data, { source: '//mlops/trainer', ...options });
    await publisher.publish(next as AnyEvent);
    log.info(`emitted ${type}`, { emittedId: next.id, subject: options.subject });
    return next;
  }) as HandlerContext['emit'];
  return { log, delivery, emit } satisfies HandlerContext;
}

async function mark(deps: CompletionDeps, record: JobRecord, status: JobRecord['status']): Promise<void> {
  record.status = status;
  record.settledAt = new Date().toISOString();
  await store(deps, record);
}

async function announceFailure(
  deps: CompletionDeps,
  record: JobRecord,
  context: HandlerContext,
  error: unknown,
  status: 'failed' | 'timed-out',
): Promise<void> {
  const failure = asPlatformError(error);
  await context.emit(
    'mlops.stage.failed.v1',
    {
      stage: 'trainer',
      code: errorCode(failure),
      reason: errorMessage(failure).slice(0, 4000) || 'no reason given',
      runDates: [...record.event.data.runDates],
      causeEventId: record.event.id,
      details: {
        job: record.job,
        errorClass: failure instanceof TransientError ? 'transient' : 'permanent',
      },
    },
    { subject: `trainer/${record.event.data.runDates.at(-1)}` },
  );
  await mark(deps, record, status);
}

/**
 * Settle a recorded job from what Vertex AI says now. Still running: a completion that arrived
 * early is read again later (transient), a non-terminal entry is only noted, and past the deadline
 * the job is cancelled and announced as `TRAINER.DEADLINE_EXCEEDED`.
 */
async function settle(
  deps: CompletionDeps,
  record: JobRecord,
  context: HandlerContext,
  reported: { state?: string; deadlinePassed: boolean },
): Promise<string> {
  const pipeline = record.kind === 'train' ? CHURN_TRAINING_PIPELINE : CHURN_PREDICT_PIPELINE;
  const progress = await deps.runner.read(record.job, pipeline, record.runKey);
  if (progress.state === 'running') {
    if (reported.deadlinePassed) {
      await deps.runner.cancel(record.job).catch(() => undefined);
      const reason = `Vertex AI PipelineJob ${record.job}, submitted ${record.startedAt}, did not finish by its deadline; it was cancelled`;
      await announceFailure(
        deps,
        record,
        context,
        new PermanentError(TRAINER_SERVICE_CODES.DEADLINE_EXCEEDED, reason),
        'timed-out',
      );
      return 'timed-out';
    }
    if (reported.state && TERMINAL_STATES.has(reported.state)) throw TrainerErrors.completionEarly(record.job);
    return 'running';
  }
  const { event, decision } = record;
  if (progress.state === 'failed') {
    const refused =
      record.kind === 'train' &&
      trainerCodeOf(progress.error) === TRAINER_SERVICE_CODES.INSUFFICIENT_HISTORY &&
      !decision.explicit;
    if (!refused) {
      await announceFailure(deps, record, context, progress.error, 'failed');
      return 'failed';
    }
    context.log.warning(`not training (${decision.reason}): ${errorMessage(progress.error)}`, {
      code: TRAINER_SERVICE_CODES.INSUFFICIENT_HISTORY,
    });
    if (!record.predictParameters) {
      await announceDeclined(event, context, {
        code: TRAINER_SERVICE_CODES.INSUFFICIENT_HISTORY,
        reason: `no model yet: ${errorMessage(progress.error)}`,
      });
      await mark(deps, record, 'succeeded');
      return 'declined';
    }
    // As in-process: score with the champion instead, as the same event's next job.
    const baseKey = record.runKey.replace(/^churn-train-/, 'churn-predict-').replace(/-g\d+$/, '');
    await startJob(deps, {
      event,
      kind: 'predict',
      generation: record.generation,
      log: context.log,
      plan: {
        kind: 'predict',
        baseKey,
        parameters: record.predictParameters,
        decision,
        predictParameters: null,
        labels: record.labels,
      },
    });
    return 'predicting';
  }
  const declined = await publishOutcome(deps, event, context, decision, progress.result);
  if (declined) await announceDeclined(event, context, declined);
  await mark(deps, record, 'succeeded');
  return 'succeeded';
}

/**
 * The consumer of `vertex-completions`: an entry names a job; one this trainer did not submit
 * (another pipeline of the project, an older generation) is acknowledged and ignored, one already
 * settled is a duplicate, and any other is settled from the Vertex AI API.
 */
export function vertexCompletionConsumer(deps: CompletionDeps): RawConsumer {
  return {
    topic: VERTEX_COMPLETIONS_TOPIC,
    handle: async (message, raw) => {
      const completion = parseVertexCompletion(message);
      const log = raw.log.child({ pipelineJob: completion.pipelineJobId, state: completion.state ?? null });
      const id = recordIdOf(completion.pipelineJobId);
      const stored = id ? await deps.documents.get(TRAINER_JOBS_COLLECTION, id) : undefined;
      const record = stored?.data as unknown as JobRecord | undefined;
      if (!record || record.runKey !== completion.pipelineJobId) {
        log.info('state entry of a job this trainer is not waiting for; ignored');
        return;
      }
      if (record.status !== 'running' && record.status !== 'submitting') {
        log.info(`state entry of a job already settled (${record.status}); ignored`);
        return;
      }
      const context = contextOf(record, raw.publisher, log.child({ runId: record.event.runid }), raw.delivery);
      const outcome = await settle(deps, record, context, { ...completion, deadlinePassed: false });
      log.info(`Vertex AI PipelineJob ${record.job}: ${outcome}`);
    },
  };
}

/**
 * Settle every recorded job still open that was submitted more than `deadlineMs` ago: what it ended
 * in, when it ended without a completion reaching us, or `TRAINER.DEADLINE_EXCEEDED`. A record
 * whose submission never happened (the delivery failed and was settled by the runtime) is dropped.
 */
export async function sweepJobs(
  deps: CompletionDeps,
  publisher: Publisher,
  log: Logger,
  options: { deadlineMs?: number; now?: Date } = {},
): Promise<{ settled: number; timedOut: number }> {
  const cutoff = (options.now ?? new Date()).getTime() - (options.deadlineMs ?? DEFAULT_JOB_DEADLINE_MS);
  const due: JobRecord[] = [];
  for (const status of ['running', 'submitting'] as const) {
    for await (const stored of deps.documents.query(TRAINER_JOBS_COLLECTION, {
      where: [{ field: 'status', op: '==', value: status }],
    })) {
      const record = stored.data as unknown as JobRecord;
      if (Date.parse(record.startedAt) <= cutoff) due.push(record);
    }
  }
  let timedOut = 0;
  const delivery = {
    messageId: 'deadline-sweep',
    subscription: 'trainer.deadline-sweep',
    attempt: 1,
    publishedAt: new Date(),
  };
  for (const record of due) {
    const scoped = log.child({ pipelineJob: record.job, runId: record.event.runid });
    try {
      const outcome = await settle(deps, record, contextOf(record, publisher, scoped, delivery), {
        deadlinePassed: true,
      });
      if (outcome === 'timed-out') timedOut += 1;
    } catch (error) {
      if (record.status === 'submitting' && errorCode(error) === 'VERTEX.REQUEST_REFUSED') {
        await mark(deps, record, 'failed');
        continue;
      }
      throw error;
    }
  }
  return { settled: due.length, timedOut };
}
