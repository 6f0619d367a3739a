/**
 * The record of a Vertex AI job the trainer submitted (`trainer_jobs`, one per triggering event),
 * written as JSON and read back checked: the completion acts on it long after the submission.
 */
import { validateEvent, type CloudEvent, type DocumentValue } from '@mlops/kernel';
import { TrainerErrors } from './errors.js';
import { CHURN_PREDICT_PIPELINE, type PredictParameters } from './pipeline/churn.pipeline.js';
import { isRunParameters, runParametersMismatch } from './pipeline/run-result.js';
import type { TrainingDecision, TrainingTrigger } from './policy.js';

/** What a job runs. */
export type JobKind = 'train' | 'predict';

/** Where a job stands. */
export type JobStatus = 'submitting' | 'running' | 'succeeded' | 'failed' | 'timed-out';

/** A submitted job, as recorded. */
export interface JobRecord {
  job: string;
  runKey: string;
  kind: JobKind;
  generation: number;
  /** The triggering `warehouse.ready`, whose follow-ups the completion publishes. */
  event: CloudEvent<'mlops.warehouse.ready.v1'>;
  decision: TrainingDecision;
  /** The scoring run's parameters when a champion existed (the fallback of a refused training). */
  predictParameters: PredictParameters | null;
  labels: Record<string, string>;
  startedAt: string;
  status: JobStatus;
  settledAt?: string;
}

const STATUSES: readonly string[] = ['submitting', 'running', 'succeeded', 'failed', 'timed-out'];
const TRIGGERS: readonly string[] = ['asked', 'backfill-end', 'schedule', 'no-champion'];

function isStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && STATUSES.includes(value);
}

function isTrigger(value: unknown): value is TrainingTrigger {
  return typeof value === 'string' && TRIGGERS.includes(value);
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decisionOf(value: unknown): TrainingDecision | undefined {
  if (!isObject(value)) return undefined;
  const { train, trigger, explicit, reason } = value;
  if (typeof train !== 'boolean' || typeof explicit !== 'boolean' || typeof reason !== 'string') return undefined;
  if (trigger === undefined) return { train, explicit, reason };
  return isTrigger(trigger) ? { train, trigger, explicit, reason } : undefined;
}

function labelsOf(value: unknown): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  const labels: Record<string, string> = {};
  for (const [name, label] of Object.entries(value)) {
    if (typeof label !== 'string') return undefined;
    labels[name] = label;
  }
  return labels;
}

function isDocumentValue(value: unknown): value is DocumentValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isDocumentValue);
  return isObject(value) && Object.values(value).every(isDocumentValue);
}

/** A job record as a document (through JSON: a document holds no undefined fields). */
export function jobDocument(record: JobRecord): Record<string, DocumentValue> {
  const document: unknown = JSON.parse(JSON.stringify(record));
  if (!isObject(document) || !isDocumentValue(document))
    throw TrainerErrors.invalidJobRecord(record.runKey, 'it is not a JSON object');
  return document;
}

/** A stored job record, checked field by field; `TRAINER.INVALID_JOB_RECORD` names what is wrong. */
export function decodeJobRecord(id: string, data: Readonly<Record<string, unknown>>): JobRecord {
  const bad = (what: string) => TrainerErrors.invalidJobRecord(id, what);
  const { job, runKey, kind, generation, event, decision, predictParameters, labels, startedAt, status, settledAt } =
    data;
  if (typeof job !== 'string' || typeof runKey !== 'string') throw bad('job and runKey must be strings');
  if (kind !== 'train' && kind !== 'predict') throw bad(`kind must be train or predict (got ${JSON.stringify(kind)})`);
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1)
    throw bad('generation must be a whole number from 1');
  if (typeof startedAt !== 'string') throw bad('startedAt must be a timestamp');
  if (!isStatus(status)) throw bad(`status ${JSON.stringify(status)} is not one the trainer writes`);
  if (settledAt !== undefined && typeof settledAt !== 'string') throw bad('settledAt must be a timestamp');
  let trigger: CloudEvent<'mlops.warehouse.ready.v1'>;
  try {
    const validated = validateEvent(event);
    if (validated.type !== 'mlops.warehouse.ready.v1') throw new Error(`its type is ${validated.type}`);
    trigger = validated;
  } catch (error) {
    throw bad(`event is not a mlops.warehouse.ready.v1: ${error instanceof Error ? error.message : String(error)}`);
  }
  const decided = decisionOf(decision);
  if (!decided) throw bad('decision is not a training decision');
  const labelled = labelsOf(labels);
  if (!labelled) throw bad('labels must map names to strings');
  let scoring: PredictParameters | null = null;
  if (predictParameters !== null) {
    if (!isObject(predictParameters)) throw bad('predictParameters must be an object or null');
    if (!isRunParameters(CHURN_PREDICT_PIPELINE, predictParameters))
      throw bad(`predictParameters: ${runParametersMismatch(CHURN_PREDICT_PIPELINE, predictParameters)}`);
    scoring = predictParameters;
  }
  return {
    job,
    runKey,
    kind,
    generation,
    event: trigger,
    decision: decided,
    predictParameters: scoring,
    labels: labelled,
    startedAt,
    status,
    ...(settledAt === undefined ? {} : { settledAt }),
  };
}
