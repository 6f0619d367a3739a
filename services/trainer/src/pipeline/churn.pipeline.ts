/**
 * The churn pipeline, described once:
 *
 * ```
 * features ──dataset──▶ train ──model, baseline──▶ evaluate ──metrics──▶ register ──champion_version──▶ batch_predict
 *     │                   └──params──▶ refit (after evaluate) ──refit model──▲
 *     └──────dataset, data range, fingerprint, sampling──────────────────────▲
 * ```
 *
 * `CHURN_TRAINING_PIPELINE` runs all five; `CHURN_PREDICT_PIPELINE` is the same description cut
 * down to `batch_predict` (the champion scores the new snapshots; nothing is trained), its
 * `model_version` becoming a root parameter (the champion as of the triggering event).
 */
import { batchPredictComponent, DEFAULT_RISK_THRESHOLDS } from '../components/batch-predict.component.js';
import { evaluateComponent } from '../components/evaluate.component.js';
import { featuresComponent } from '../components/features.component.js';
import { refitComponent } from '../components/refit.component.js';
import { registerComponent } from '../components/register.component.js';
import { trainComponent } from '../components/train.component.js';
import {
  artifactOf,
  assertValidPipeline,
  definePipeline,
  fromPipeline,
  fromTask,
  selectTasks,
  task,
  type RunParameters,
} from './dag.js';
import type { PipelineRunResult } from './run-result.js';

/**
 * Hyper-parameters of the challenger GBDT unless the settings say otherwise. One histogram thread:
 * the trainer shares two cores with DuckDB and the other services, and the thread count never
 * changes the model (it is left out of the fingerprint).
 */
export const DEFAULT_GBDT_PARAMS: Readonly<Record<string, number>> = Object.freeze({
  nTrees: 100,
  maxDepth: 4,
  learningRate: 0.1,
  minChildWeight: 1,
  seed: 0,
  threads: 1,
});

const p = fromPipeline;

/** The training pipeline: features ▶ train ▶ evaluate ▶ register ▶ batch_predict. */
export const CHURN_TRAINING_PIPELINE = definePipeline({
  name: 'mlops-churn-training',
  description:
    'Churn model: point-in-time features and labels, GBDT and logistic baseline, holdout evaluation, registry with champion/challenger, batch prediction.',
  parameters: {
    as_of: { type: 'STRING', description: 'Data cut-off (YYYY-MM-DD), the latest run date of the triggering event.' },
    horizon_days: { type: 'NUMBER_INTEGER', description: 'Churn horizon in days.', default: 30 },
    snapshot_every_days: { type: 'NUMBER_INTEGER', description: 'Grid step of sampled snapshots.', default: 7 },
    warmup_days: {
      type: 'NUMBER_INTEGER',
      description: 'Days of history skipped at the start where the data allows (the longest feature window).',
      default: 90,
    },
    min_warmup_days: { type: 'NUMBER_INTEGER', description: 'The shortest warm-up allowed.', default: 14 },
    min_snapshots: { type: 'NUMBER_INTEGER', description: 'Fewest train snapshots aimed for.', default: 4 },
    max_snapshots: { type: 'NUMBER_INTEGER', description: 'Most snapshots used.', default: 26 },
    holdout_fraction: {
      type: 'NUMBER_DOUBLE',
      description: 'Share of snapshots held out (the latest).',
      default: 0.25,
    },
    embargo_days: {
      type: 'NUMBER_INTEGER',
      description: 'Days from the last train snapshot to the first holdout snapshot, at least (the horizon).',
      default: 30,
    },
    excluded_dates: { type: 'LIST', description: 'Run dates an upstream stage failed for.', default: [] },
    feature_table: { type: 'STRING', description: 'Point-in-time feature table.', default: 'fct_customer_features' },
    warehouse_schema: {
      type: 'STRING',
      description: 'Schema (BigQuery dataset) of the gold tables.',
      default: 'warehouse',
    },
    model_name: { type: 'STRING', description: 'Registry name of the model.', default: 'churn' },
    algorithm: { type: 'STRING', description: 'Challenger algorithm.', default: 'gbdt' },
    model_params: {
      type: 'STRUCT',
      description: 'Challenger hyper-parameters.',
      default: { ...DEFAULT_GBDT_PARAMS },
    },
    baseline_algorithm: { type: 'STRING', description: 'Baseline algorithm.', default: 'logreg' },
    baseline_params: { type: 'STRUCT', description: 'Baseline hyper-parameters.', default: {} },
    code_version: { type: 'STRING', description: 'Version of the trainer code (part of the fingerprint).' },
    created_at: { type: 'STRING', description: 'Time of the triggering event (RFC 3339).' },
    run_id: { type: 'STRING', description: 'Run id (`runid`) of the triggering event.', default: '' },
    event_id: { type: 'STRING', description: 'Id of the triggering event.', default: '' },
    trigger: { type: 'STRING', description: 'Why the run trains (the retraining policy).', default: 'asked' },
    snapshot_dates: { type: 'LIST', description: 'Snapshot dates to score.' },
    predicted_at: { type: 'STRING', description: 'Timestamp written on the predictions (the triggering event time).' },
    medium_threshold: {
      type: 'NUMBER_DOUBLE',
      description: 'Probability from which a customer is medium risk.',
      default: DEFAULT_RISK_THRESHOLDS.medium,
    },
    high_threshold: {
      type: 'NUMBER_DOUBLE',
      description: 'Probability from which a customer is high risk.',
      default: DEFAULT_RISK_THRESHOLDS.high,
    },
  },
  tasks: {
    features: task(featuresComponent, {
      parameters: {
        as_of: p('as_of'),
        horizon_days: p('horizon_days'),
        snapshot_every_days: p('snapshot_every_days'),
        warmup_days: p('warmup_days'),
        min_warmup_days: p('min_warmup_days'),
        min_snapshots: p('min_snapshots'),
        max_snapshots: p('max_snapshots'),
        holdout_fraction: p('holdout_fraction'),
        embargo_days: p('embargo_days'),
        excluded_dates: p('excluded_dates'),
        feature_table: p('feature_table'),
        warehouse_schema: p('warehouse_schema'),
      },
      artifacts: {},
    }),
    train: task(trainComponent, {
      parameters: {
        algorithm: p('algorithm'),
        model_params: p('model_params'),
        baseline_algorithm: p('baseline_algorithm'),
        baseline_params: p('baseline_params'),
      },
      artifacts: { dataset: artifactOf('features', 'dataset') },
    }),
    evaluate: task(evaluateComponent, {
      parameters: {},
      artifacts: {
        dataset: artifactOf('features', 'dataset'),
        model: artifactOf('train', 'model'),
        baseline: artifactOf('train', 'baseline'),
      },
    }),
    refit: task(refitComponent, {
      parameters: {
        algorithm: p('algorithm'),
        resolved_params: fromTask('train', 'resolved_params'),
      },
      artifacts: { dataset: artifactOf('features', 'dataset') },
      after: ['evaluate'],
    }),
    register: task(registerComponent, {
      parameters: {
        model_name: p('model_name'),
        code_version: p('code_version'),
        created_at: p('created_at'),
        run_id: p('run_id'),
        event_id: p('event_id'),
        trigger: p('trigger'),
        algorithm: p('algorithm'),
        resolved_params: fromTask('train', 'resolved_params'),
        baseline_algorithm: p('baseline_algorithm'),
        resolved_baseline_params: fromTask('train', 'resolved_baseline_params'),
        horizon_days: p('horizon_days'),
        data_fingerprint: fromTask('features', 'data_fingerprint'),
        data_from: fromTask('features', 'data_from'),
        data_to: fromTask('features', 'data_to'),
        holdout_from: fromTask('features', 'holdout_from'),
        holdout_to: fromTask('features', 'holdout_to'),
        train_rows: fromTask('features', 'train_rows'),
        holdout_rows: fromTask('features', 'holdout_rows'),
        sampling: fromTask('features', 'sampling'),
        refit_rows: fromTask('refit', 'refit_rows'),
      },
      artifacts: {
        dataset: artifactOf('features', 'dataset'),
        holdout_model: artifactOf('train', 'model'),
        model: artifactOf('refit', 'model'),
        baseline: artifactOf('train', 'baseline'),
        metrics: artifactOf('evaluate', 'metrics'),
      },
    }),
    batch_predict: task(batchPredictComponent, {
      parameters: {
        model_name: p('model_name'),
        model_version: fromTask('register', 'champion_version'),
        first_champion: fromTask('register', 'first_champion'),
        snapshot_dates: p('snapshot_dates'),
        predicted_at: p('predicted_at'),
        horizon_days: p('horizon_days'),
        feature_table: p('feature_table'),
        warehouse_schema: p('warehouse_schema'),
        medium_threshold: p('medium_threshold'),
        high_threshold: p('high_threshold'),
      },
      artifacts: {},
    }),
  },
});

/** The prediction-only pipeline: `batch_predict` of the same description, with the champion. */
export const CHURN_PREDICT_PIPELINE = selectTasks(CHURN_TRAINING_PIPELINE, {
  name: 'mlops-churn-batch-predict',
  description: 'Churn batch prediction with the current champion (no training).',
  keep: ['batch_predict'],
  defaults: { first_champion: false },
});

assertValidPipeline(CHURN_TRAINING_PIPELINE);
assertValidPipeline(CHURN_PREDICT_PIPELINE);

/** The values a training run takes (typed from the components' inputs). */
export type TrainingParameters = RunParameters<typeof CHURN_TRAINING_PIPELINE>;

/** The values a prediction-only run takes. */
export type PredictParameters = RunParameters<typeof CHURN_PREDICT_PIPELINE>;

/** What a training run produced, every task's outputs typed. */
export type TrainingRunResult = PipelineRunResult<typeof CHURN_TRAINING_PIPELINE>;

/** What a run of either churn pipeline produced. */
export type ChurnRunResult = TrainingRunResult | PipelineRunResult<typeof CHURN_PREDICT_PIPELINE>;
