/**
 * The trainer: on `mlops.warehouse.ready.v1` it trains and registers a churn model when the
 * retraining policy says so, and batch-predicts with the champion; it publishes
 * `mlops.model.trained.v1` and `mlops.predictions.ready.v1`. On `mlops.stage.failed.v1` from an
 * upstream stage it remembers the dates no training may read.
 *
 * The pipeline (features ▶ train ▶ evaluate ▶ register ▶ batch_predict) is described once
 * (`pipeline/churn.pipeline.ts`); it runs in-process, or on Vertex AI Pipelines from its compiled
 * KFP v2 spec (gcp).
 */
export { createTrainerService, type TrainerServiceDeps } from './service.js';
export { trainerFromPlatform, type TrainerCompositionOptions } from './compose.js';
export { TRAINER_SERVICE_CODES, TrainerErrors, asPlatformError } from './errors.js';
export { TRAINER_ERROR_CODES } from './ml/index.js';
export {
  DEFAULT_TRAINER_SETTINGS,
  resolveTrainerSettings,
  type TrainerSettings,
  type TrainerSettingsInput,
} from './settings.js';
export { decideTraining, type TrainingDecision, type TrainingTrigger } from './policy.js';
export { runKeyOf, pipelineParameters, predictParameters, type VertexDeps } from './handler.js';
export { DATA_HEALTH_COLLECTION } from './data-health.js';
export { CHURN_PREDICT_PIPELINE, CHURN_TRAINING_PIPELINE, DEFAULT_GBDT_PARAMS } from './pipeline/churn.pipeline.js';
export {
  compilePipeline,
  storePipelineSpec,
  KFP_SCHEMA_VERSION,
  KFP_SDK_VERSION,
  type PipelineSpecJson,
} from './pipeline/kfp.compiler.js';
export { LocalPipelineRunner } from './pipeline/local.runner.js';
export { VertexPipelineRunner } from './pipeline/vertex.runner.js';
export type { PipelineRunner, RawRunResult } from './pipeline/runner.port.js';
export { decodeRunResult, runPipeline, type PipelineRunResult } from './pipeline/run-result.js';
export type { PipelineParameter } from './pipeline/dag.js';
export { DEFAULT_RISK_THRESHOLDS, PREDICTIONS_TABLE, riskBand } from './components/batch-predict.component.js';
export { MODELS_PREFIX, modelKey } from './registry/artifacts.js';
export { trainerCodeVersion } from './code-version.js';
export { FEATURE_LOOKBACK_DAYS, featureColumns, readLabelledRows } from './components/features.component.js';
export {
  decodeDataset,
  encodeDataset,
  fingerprintOf,
  type DatasetHeader,
  type TrainingSet,
} from './data/dataset.artifact.js';
export { planSnapshots, type SamplingSettings, type SnapshotPlan } from './data/snapshot.plan.js';
export { resolveTables, type WarehouseTables } from './data/warehouse-tables.js';
export { columnScorer, predictMatrix, type ColumnScorer } from './scoring/compiled-forest.js';
