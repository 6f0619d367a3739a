/**
 * The trainer's reactions.
 *
 * `mlops.warehouse.ready.v1`: refuse the event when it reports a failed assertion
 * (`TRAINER.ASSERTIONS_FAILED`, permanent); decide by the retraining policy (`policy.ts`) whether
 * to run the training pipeline (features ▶ train ▶ evaluate ▶ register ▶ batch_predict) or only
 * its `batch_predict` step with the champion; then publish `mlops.model.trained.v1` when a model
 * was trained and one `mlops.predictions.ready.v1` per snapshot date scored. When nothing is scored
 * (no champion yet, or not enough history to train the first model) it publishes
 * `mlops.stage.skipped.v1` with the reason, so the run closes with it as a note.
 *
 * `mlops.stage.failed.v1` from an upstream stage: remember its run dates, so no training reads
 * them (`data-health.ts`).
 *
 * Every effect is keyed by the event: the pipeline parameters (cut-off, timestamps) come from the
 * event, the registry version from the data fingerprint, and the predictions replace whole
 * snapshots, so a redelivered event rewrites identical rows and registers nothing new.
 */
import { createHash } from 'node:crypto';
import { type CloudEvent, type HandlerContext, errorMessage } from '@mlops/kernel';
import { failedRunDates, recordDateStatus } from './data-health.js';
import { TRAINER_SERVICE_CODES, TrainerErrors, asPlatformError, trainerCodeOf } from './errors.js';
import {
  CHURN_PREDICT_PIPELINE,
  CHURN_TRAINING_PIPELINE,
  type ChurnRunResult,
  type PredictParameters,
  type TrainingParameters,
} from './pipeline/churn.pipeline.js';
import { runPipeline } from './pipeline/run-result.js';
import { championAt } from './registry/champion-at.js';
import { isAsyncPipelineRunner } from './pipeline/runner.port.js';
import { submitJob } from './completion.js';
import { TRAINER_SKIP_CODES, announceDeclined, publishOutcome } from './outcome.js';
import { decideTraining, trainingAsOf } from './policy.js';
import type { TrainerHandlerDeps } from './handler.deps.js';
import type { TrainerSettings } from './settings.js';

export type { TrainerHandlerDeps, VertexDeps } from './handler.deps.js';

/** Stages whose failures taint the data of their run dates. */
const UPSTREAM_STAGES = new Set(['sales-gen', 'click-gen', 'startup-gen', 'lander', 'transformer']);

/** The deterministic key of a pipeline run for an event: `churn-<kind>-<hash>`. */
export function runKeyOf(eventId: string, kind: 'train' | 'predict'): string {
  return `churn-${kind}-${createHash('sha256').update(eventId).digest('hex').slice(0, 24)}`;
}

/** A Vertex label value from any string (lowercase, `[a-z0-9_-]`, at most 63 characters). */
function labelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 63);
}

/** The root parameters of a run for an event. */
export function pipelineParameters(
  settings: TrainerSettings,
  input: {
    asOf: string;
    eventTime: string;
    snapshotDates: readonly string[];
    excludedDates: readonly string[];
    runId?: string;
    eventId?: string;
    trigger?: string;
  },
): TrainingParameters {
  return {
    as_of: input.asOf,
    horizon_days: settings.horizonDays,
    snapshot_every_days: settings.sampling.everyDays,
    warmup_days: settings.sampling.warmupDays,
    min_warmup_days: settings.sampling.minWarmupDays,
    min_snapshots: settings.sampling.minSnapshots,
    max_snapshots: settings.sampling.maxSnapshots,
    holdout_fraction: settings.sampling.holdoutFraction,
    embargo_days: settings.sampling.embargoDays,
    excluded_dates: [...input.excludedDates],
    feature_table: settings.featureTable,
    warehouse_schema: settings.warehouseSchema,
    model_name: settings.modelName,
    algorithm: settings.algorithm,
    model_params: { ...settings.modelParams },
    baseline_algorithm: settings.baselineAlgorithm,
    baseline_params: { ...settings.baselineParams },
    code_version: settings.codeVersion,
    created_at: input.eventTime,
    run_id: input.runId ?? '',
    event_id: input.eventId ?? '',
    trigger: input.trigger ?? 'asked',
    snapshot_dates: [...input.snapshotDates],
    predicted_at: input.eventTime,
    medium_threshold: settings.riskThresholds.medium,
    high_threshold: settings.riskThresholds.high,
  };
}

/** The parameters of the prediction-only run of the same event, scoring with `modelVersion`. */
export function predictParameters(training: TrainingParameters, modelVersion: string): PredictParameters {
  const { model_name, snapshot_dates, predicted_at, horizon_days, feature_table, warehouse_schema } = training;
  const { medium_threshold, high_threshold } = training;
  return {
    model_name,
    model_version: modelVersion,
    snapshot_dates,
    predicted_at,
    horizon_days,
    feature_table,
    warehouse_schema,
    medium_threshold,
    high_threshold,
  };
}

/** Handle `warehouse.ready`. */
export async function handleWarehouseReady(
  deps: TrainerHandlerDeps,
  event: CloudEvent<'mlops.warehouse.ready.v1'>,
  context: HandlerContext,
): Promise<void> {
  const ready = event.data;
  const failed = ready.assertions.filter((assertion) => !assertion.passed);
  if (failed.length > 0)
    throw TrainerErrors.assertionsFailed(
      failed.map((assertion) => assertion.name),
      ready.runDates,
    );
  const { settings, registry } = deps;
  await recordDateStatus(deps.documents, ready.runDates, 'ready', event);

  const asOf = trainingAsOf(ready);
  const champion = await registry.champion(settings.modelName);
  const decision = decideTraining(
    ready,
    champion ? { version: champion.version, dataTo: champion.dataRange.to } : undefined,
    settings.retrainEveryDays,
  );
  const excludedDates = (await failedRunDates(deps.documents)).filter((date) => date <= asOf);
  // The run's dates, the later built dates whose features it replaced, and the window's last date
  // when a late date of a backfill closes it again (the cut-off the model is trained as of).
  const snapshotDates = [
    ...new Set([...ready.runDates, ...(ready.affectedDates ?? []), ...(decision.train ? [asOf] : [])]),
  ].sort();
  const parameters = pipelineParameters(settings, {
    asOf,
    eventTime: event.time,
    snapshotDates,
    excludedDates,
    runId: event.runid,
    eventId: event.id,
    trigger: decision.trigger ?? 'predict',
  });
  const labels = {
    run_id: labelValue(event.runid),
    run_date: labelValue(event.rundate),
    trigger: labelValue(decision.trigger ?? 'predict'),
  };
  context.log.info(`${decision.train ? 'training' : 'predicting only'}: ${decision.reason}`, {
    asOf,
    trigger: decision.trigger ?? null,
    snapshots: snapshotDates.length,
    excludedDates: excludedDates.length,
  });

  // Predictions use the champion as of the event, so a replay scores with the model of its time.
  const scorer = (await championAt(registry, settings.modelName, event.time))?.version;
  const scoring = scorer ? predictParameters(parameters, scorer) : null;
  const { runner } = deps;
  if (isAsyncPipelineRunner(runner)) {
    // gcp: submit and acknowledge; the job's completion publishes the outcome (completion.ts).
    const plan = decision.train
      ? { kind: 'train' as const, baseKey: runKeyOf(event.id, 'train'), parameters }
      : scoring
        ? { kind: 'predict' as const, baseKey: runKeyOf(event.id, 'predict'), parameters: scoring }
        : undefined;
    if (!plan)
      return announceDeclined(event, context, {
        code: TRAINER_SKIP_CODES.NO_CHAMPION,
        reason: `no champion yet: nothing to score (${decision.reason})`,
      });
    await submitJob({ ...deps, runner }, event, { ...plan, decision, predictParameters: scoring, labels }, context.log);
    return;
  }
  // A synchronous Vertex AI run gets a job of its own per delivery attempt.
  const attempt = runner.kind === 'vertex' ? `-a${context.delivery.attempt}` : '';
  // Why nothing was trained nor scored, when so: the run closes with it as a note.
  let declined: { code: string; reason: string } | undefined;
  const run = async (): Promise<ChurnRunResult | undefined> => {
    const predict = async (why: { code: string; reason: string }) => {
      if (!scoring) {
        context.log.info(`no predictions: ${settings.modelName} had no champion as of ${event.time}`);
        declined = why;
        return undefined;
      }
      return runPipeline(runner, {
        pipeline: CHURN_PREDICT_PIPELINE,
        parameters: scoring,
        runKey: runKeyOf(event.id, 'predict') + attempt,
        labels,
        log: context.log,
      });
    };
    if (!decision.train)
      return predict({
        code: TRAINER_SKIP_CODES.NO_CHAMPION,
        reason: `no champion yet: nothing to score (${decision.reason})`,
      });
    try {
      return await runPipeline(runner, {
        pipeline: CHURN_TRAINING_PIPELINE,
        parameters,
        runKey: runKeyOf(event.id, 'train') + attempt,
        labels,
        log: context.log,
      });
    } catch (error) {
      if (trainerCodeOf(error) !== TRAINER_SERVICE_CODES.INSUFFICIENT_HISTORY || decision.explicit) throw error;
      context.log.warning(`not training (${decision.reason}): ${errorMessage(error)}`, {
        code: TRAINER_SERVICE_CODES.INSUFFICIENT_HISTORY,
      });
      return predict({
        code: TRAINER_SERVICE_CODES.INSUFFICIENT_HISTORY,
        reason: `no model yet: ${errorMessage(error)}`,
      });
    }
  };
  const result = await run().catch((error: unknown) => {
    throw asPlatformError(error);
  });
  if (result) declined = await publishOutcome(deps, event, context, decision, result);
  if (declined) await announceDeclined(event, context, declined);
}

/** Handle `stage.failed`: remember the run dates of an upstream failure. */
export async function handleStageFailed(
  deps: Pick<TrainerHandlerDeps, 'documents'>,
  event: CloudEvent<'mlops.stage.failed.v1'>,
  context: HandlerContext,
): Promise<void> {
  const failure = event.data;
  if (!UPSTREAM_STAGES.has(failure.stage) || !failure.runDates?.length) return;
  const changed = await recordDateStatus(deps.documents, failure.runDates, 'failed', event, failure.code);
  context.log.warning(
    `${failure.stage} failed (${failure.code}) for ${failure.runDates.length} run date(s); no training will read them until they are rebuilt`,
    {
      code: failure.code,
      runDates: failure.runDates.slice(0, 31),
      recorded: changed,
    },
  );
}
