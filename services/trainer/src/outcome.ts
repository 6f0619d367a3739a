/**
 * What the trainer publishes once a pipeline run is known: `model.trained` for a trained version
 * (uploaded to the Vertex AI Model Registry first when it was promoted on gcp), one
 * `predictions.ready` per snapshot scored, or `stage.skipped` when nothing was scored. Called by the
 * handler after an in-process run, and by the completion of a Vertex AI job (`completion.ts`).
 */
import type { CloudEvent, HandlerContext } from '@mlops/kernel';
import type { SnapshotPredictions } from './components/batch-predict.component.js';
import { PREDICTIONS_TABLE } from './components/batch-predict.component.js';
import { TrainerErrors } from './errors.js';
import type { TrainerHandlerDeps } from './handler.deps.js';
import type { PipelineRunResult } from './pipeline/runner.port.js';
import type { TrainingDecision } from './policy.js';

/** Codes of the trainer's `stage.skipped` besides `TRAINER.INSUFFICIENT_HISTORY`. */
export const TRAINER_SKIP_CODES = { NO_CHAMPION: 'TRAINER.NO_CHAMPION' } as const;

/** Close the run's trainer stage when nothing was scored: `stage.skipped` with the reason as its note. */
export async function announceDeclined(
  event: CloudEvent<'mlops.warehouse.ready.v1'>,
  context: HandlerContext,
  declined: { code: string; reason: string },
): Promise<void> {
  await context.emit(
    'mlops.stage.skipped.v1',
    {
      stage: 'trainer',
      code: declined.code,
      reason: declined.reason.slice(0, 4000),
      runDates: [...event.data.runDates],
      causeEventId: event.id,
    },
    { subject: `trainer/${event.data.runDates.at(-1)}` },
  );
}

/** Publish what the pipeline produced; resolves to why nothing was scored, when nothing was. */
export async function publishOutcome(
  deps: TrainerHandlerDeps,
  event: CloudEvent<'mlops.warehouse.ready.v1'>,
  context: HandlerContext,
  decision: TrainingDecision,
  result: PipelineRunResult,
): Promise<{ code: string; reason: string } | undefined> {
  const { settings, registry } = deps;
  const registered = result.tasks.register?.outputs;
  const features = result.tasks.features?.outputs;
  if (registered && features) {
    const version = String(registered.version);
    const entry = await registry.get(settings.modelName, version);
    if (!entry)
      throw TrainerErrors.pipelineFailed(
        result.pipeline,
        `the register step reported ${version}, which the registry does not hold`,
        true,
      );
    const championVersion = String(registered.champion_version || '');
    if (deps.serving) await registry.recordServing(settings.modelName, version, deps.serving);
    if (deps.vertex && registered.promoted === true) {
      const resource = await deps.vertex.uploadChampion(entry);
      await registry.recordVertexModel(settings.modelName, version, resource);
    }
    await context.emit(
      'mlops.model.trained.v1',
      {
        modelName: settings.modelName,
        version,
        fingerprint: entry.fingerprint,
        dataRange: { from: entry.dataRange.from, to: entry.dataRange.to },
        metrics: { rocAuc: entry.metrics.rocAuc, prAuc: entry.metrics.prAuc, logLoss: entry.metrics.logLoss },
        ...(entry.baselineMetrics
          ? {
              baselineMetrics: {
                rocAuc: entry.baselineMetrics.rocAuc,
                prAuc: entry.baselineMetrics.prAuc,
                logLoss: entry.baselineMetrics.logLoss,
              },
            }
          : {}),
        promoted: registered.promoted === true,
        // The schema wants a non-empty champion; "none" when no model has been promoted yet.
        championVersion: championVersion || 'none',
        artifactUri: entry.artifactUri,
        ...(result.job ? { pipelineJob: result.job } : {}),
      },
      { subject: `model/${settings.modelName}/${version}` },
    );
    context.log.info(
      `trained ${version} (${decision.trigger}): ROC AUC ${entry.metrics.rocAuc.toFixed(4)} vs baseline ${entry.baselineMetrics?.rocAuc.toFixed(4) ?? '-'}; champion ${championVersion || 'none'}`,
      {
        version,
        promoted: registered.promoted === true,
      },
    );
  }
  const predicted = result.tasks.batch_predict?.outputs;
  const modelVersion = String(predicted?.model_version ?? '');
  if (!modelVersion) {
    context.log.info(`no predictions: ${settings.modelName} had no champion as of ${event.time}`);
    const trained = registered ? ` (${String(registered.version)} was not promoted)` : '';
    return { code: TRAINER_SKIP_CODES.NO_CHAMPION, reason: `no champion yet: nothing to score${trained}` };
  }
  for (const snapshot of (predicted?.predictions ?? []) as unknown as SnapshotPredictions[]) {
    await context.emit(
      'mlops.predictions.ready.v1',
      {
        snapshotDate: snapshot.snapshotDate,
        modelVersion: snapshot.modelVersion || modelVersion,
        table: `${settings.warehouseSchema}.${PREDICTIONS_TABLE}`,
        rows: snapshot.rows,
        riskBands: snapshot.riskBands,
      },
      { subject: `predictions/${snapshot.snapshotDate}` },
    );
  }
  return undefined;
}
