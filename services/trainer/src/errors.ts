/**
 * The trainer's catalogue of errors. Every failure has a stable `TRAINER.*` code and a class:
 * permanent (bad data, bad settings, a refused warehouse) is dead-lettered; transient (a busy
 * DuckDB file, a Vertex job that ran out of time) is retried by the transport.
 *
 * The ML core (`./ml`) raises its own `TrainerError`s (same `TRAINER.*` namespace, e.g.
 * `TRAINER.NON_FINITE_FEATURE`, `TRAINER.UNKNOWN_MODEL`); {@link asPlatformError} turns them into
 * permanent platform errors with the same code, so the runtime classifies them correctly.
 */
import { PermanentError, PlatformError, TransientError, errorMessage } from '@mlops/kernel';
import { TrainerError } from './ml/index.js';

/** Codes the trainer service raises itself (the ML core's codes are listed in `./ml/errors.ts`). */
export const TRAINER_SERVICE_CODES = {
  ASSERTIONS_FAILED: 'TRAINER.ASSERTIONS_FAILED',
  INSUFFICIENT_HISTORY: 'TRAINER.INSUFFICIENT_HISTORY',
  FEATURE_TABLE_MISSING: 'TRAINER.FEATURE_TABLE_MISSING',
  INVALID_SETTING: 'TRAINER.INVALID_SETTING',
  INVALID_PIPELINE: 'TRAINER.INVALID_PIPELINE',
  INVALID_ARTIFACT: 'TRAINER.INVALID_ARTIFACT',
  UNKNOWN_COMPONENT: 'TRAINER.UNKNOWN_COMPONENT',
  INVALID_COMPONENT_IO: 'TRAINER.INVALID_COMPONENT_IO',
  WAREHOUSE_BUSY: 'TRAINER.WAREHOUSE_BUSY',
  PIPELINE_FAILED: 'TRAINER.PIPELINE_FAILED',
  CHAMPION_ARTIFACT_MISSING: 'TRAINER.CHAMPION_ARTIFACT_MISSING',
  BAD_COMPLETION: 'TRAINER.BAD_COMPLETION',
  COMPLETION_EARLY: 'TRAINER.COMPLETION_EARLY',
  DEADLINE_EXCEEDED: 'TRAINER.DEADLINE_EXCEEDED',
} as const;

const C = TRAINER_SERVICE_CODES;

/** Constructors of the trainer's own errors. */
export const TrainerErrors = {
  /** warehouse.ready reported a failed assertion: that data is not trained on. */
  assertionsFailed: (names: readonly string[], runDates: readonly string[]) =>
    new PermanentError(
      C.ASSERTIONS_FAILED,
      `warehouse.ready for ${runDates[0]}..${runDates.at(-1)} reports ${names.length} failed assertion(s) (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}); refusing to train or predict on that data — fix the data and rebuild the dates`,
      { details: { assertions: names.slice(0, 20) } },
    ),
  /** Not enough labelled history for a train/holdout split by time. */
  insufficientHistory: (reason: string, details: Record<string, unknown>) =>
    new PermanentError(C.INSUFFICIENT_HISTORY, `not enough labelled history to train: ${reason}`, { details }),
  /** The point-in-time feature table is absent (the warehouse was not built yet). */
  featureTableMissing: (table: string) =>
    new PermanentError(
      C.FEATURE_TABLE_MISSING,
      `the feature table ${table} does not exist; run the transformer (Dataform project) before the trainer`,
      {
        details: { table },
      },
    ),
  /** A trainer setting is out of range or malformed. */
  invalidSetting: (name: string, why: string) =>
    new PermanentError(C.INVALID_SETTING, `trainer setting ${name} ${why}`, { details: { setting: name } }),
  /** The pipeline description is inconsistent (an unwired input, a cycle, an unknown task). */
  invalidPipeline: (pipeline: string, problems: readonly string[]) =>
    new PermanentError(C.INVALID_PIPELINE, `pipeline ${pipeline} is invalid: ${problems.join('; ')}`, {
      details: { problems: problems.slice(0, 20) },
    }),
  /** An artifact that cannot be decoded (truncated, wrong format). */
  invalidArtifact: (uri: string, why: string) =>
    new PermanentError(C.INVALID_ARTIFACT, `artifact ${uri} is invalid: ${why}`, { details: { uri } }),
  unknownComponent: (name: string, known: readonly string[]) =>
    new PermanentError(
      C.UNKNOWN_COMPONENT,
      `unknown pipeline component "${name}"; known components are ${known.join(', ')}`,
      { details: { component: name } },
    ),
  /** A component received or produced a value that does not match its declared interface. */
  invalidComponentIo: (component: string, what: string) =>
    new PermanentError(C.INVALID_COMPONENT_IO, `component ${component}: ${what}`, { details: { component } }),
  /** Another process holds the DuckDB file; the bus retries later. */
  warehouseBusy: (message: string, cause?: unknown) =>
    new TransientError(C.WAREHOUSE_BUSY, `the warehouse is busy (another process holds the DuckDB file): ${message}`, {
      cause,
    }),
  /** A pipeline run failed for a reason that carried no code of its own. */
  pipelineFailed: (pipeline: string, message: string, transient: boolean, cause?: unknown) =>
    transient
      ? new TransientError(C.PIPELINE_FAILED, `pipeline ${pipeline} failed: ${message}`, { cause })
      : new PermanentError(C.PIPELINE_FAILED, `pipeline ${pipeline} failed: ${message}`, { cause }),
  /** The registry names a champion whose model file is gone from the lake. */
  championArtifactMissing: (version: string, uri: string, cause?: unknown) =>
    new PermanentError(
      C.CHAMPION_ARTIFACT_MISSING,
      `the champion ${version} has no model at ${uri}; restore it or promote another version`,
      {
        cause,
        details: { version, uri },
      },
    ),
  /** A message on `vertex-completions` that is not a PipelineJob state entry. */
  badCompletion: (what: string) =>
    new PermanentError(
      C.BAD_COMPLETION,
      `a message on vertex-completions is not a Vertex AI PipelineJob state entry: ${what}`,
    ),
  /** The completion arrived while Vertex still reports the job running: read again on redelivery. */
  completionEarly: (job: string) =>
    new TransientError(
      C.COMPLETION_EARLY,
      `Vertex AI still reports ${job} as running; its completion is read again later`,
    ),
} as const;

const LOCKED =
  /could not set lock|conflicting lock|database is locked|database file is locked|write-write conflict|transaction conflict|conflict on/i;

/**
 * Any thrown value as a platform error: the ML core's errors keep their code and are permanent; a
 * DuckDB lock conflict is transient (`TRAINER.WAREHOUSE_BUSY`); platform errors pass unchanged;
 * anything else is returned as is (the runtime treats it as transient).
 */
export function asPlatformError(error: unknown): unknown {
  if (error instanceof PlatformError) return error;
  if (error instanceof TrainerError) {
    return new PermanentError(error.code, error.message, { cause: error, details: { ...error.details } });
  }
  if (LOCKED.test(errorMessage(error)))
    return TrainerErrors.warehouseBusy(errorMessage(error).split('\n')[0]!.slice(0, 300), error);
  return error;
}

/** The `TRAINER.*` code of an error, when it has one. */
export function trainerCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('TRAINER.') ? code : undefined;
}
