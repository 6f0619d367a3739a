/**
 * The trainer's settings: which models, which label, how to sample, where the tables are. Checked
 * when the service is created, so a bad model name or parameter stops the process at start-up
 * (`TRAINER.UNKNOWN_MODEL`, `TRAINER.INVALID_PARAM`, `TRAINER.INVALID_SETTING`) instead of failing
 * on the first event.
 */
import { DEFAULT_RISK_THRESHOLDS } from './components/batch-predict.component.js';
import type { SamplingSettings } from './data/snapshot.plan.js';
import { checkIdentifier } from './data/warehouse-tables.js';
import { TrainerErrors, asPlatformError } from './errors.js';
import { createModel } from './ml/index.js';
import { DEFAULT_GBDT_PARAMS } from './pipeline/churn.pipeline.js';

/** Everything the trainer is told. */
export interface TrainerSettings {
  /** Registry name of the model. */
  readonly modelName: string;
  /** Challenger algorithm (`gbdt`) and its hyper-parameters. */
  readonly algorithm: string;
  readonly modelParams: Readonly<Record<string, number>>;
  /** Baseline algorithm (`logreg`) and its hyper-parameters. */
  readonly baselineAlgorithm: string;
  readonly baselineParams: Readonly<Record<string, number>>;
  /** Churn = no order in this many days after the snapshot (`config.trainer.churnHorizonDays`). */
  readonly horizonDays: number;
  /** Retrain when the champion's data is this many days older than the new data (`config.trainer.retrainEveryDays`). */
  readonly retrainEveryDays: number;
  readonly sampling: SamplingSettings;
  readonly featureTable: string;
  /** Schema (BigQuery dataset) of the gold tables (`config.warehouse.warehouseDataset`). */
  readonly warehouseSchema: string;
  /** Probability thresholds of the medium and high risk bands. */
  readonly riskThresholds: { readonly medium: number; readonly high: number };
  /** Version of the trainer code; part of every fingerprint. */
  readonly codeVersion: string;
  /** Keep each run's artifacts in the lake (`mlops/pipeline-runs/`) instead of memory (local runner). */
  readonly keepArtifacts: boolean;
}

/** Defaults of everything but the code version. */
export const DEFAULT_TRAINER_SETTINGS: Omit<TrainerSettings, 'codeVersion'> = Object.freeze({
  modelName: 'churn',
  algorithm: 'gbdt',
  modelParams: DEFAULT_GBDT_PARAMS,
  baselineAlgorithm: 'logreg',
  baselineParams: Object.freeze({}),
  horizonDays: 30,
  retrainEveryDays: 7,
  sampling: Object.freeze({
    everyDays: 7,
    warmupDays: 90,
    minWarmupDays: 14,
    minSnapshots: 4,
    maxSnapshots: 26,
    holdoutFraction: 0.25,
    embargoDays: 30,
  }),
  featureTable: 'fct_customer_features',
  warehouseSchema: 'warehouse',
  riskThresholds: DEFAULT_RISK_THRESHOLDS,
  keepArtifacts: false,
});

/** Settings as given: anything left out takes its default. */
export type TrainerSettingsInput = Partial<Omit<TrainerSettings, 'sampling' | 'riskThresholds'>> & {
  readonly codeVersion: string;
  readonly sampling?: Partial<SamplingSettings>;
  readonly riskThresholds?: Partial<TrainerSettings['riskThresholds']>;
};

function wholeNumber(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw TrainerErrors.invalidSetting(name, `must be a whole number from ${min} to ${max} (got ${value})`);
  return value;
}

/** Fill defaults and check every setting (models and their parameters included). */
export function resolveTrainerSettings(input: TrainerSettingsInput): TrainerSettings {
  // The embargo follows the horizon unless it is set: a training label window must end by the holdout.
  const sampling = {
    ...DEFAULT_TRAINER_SETTINGS.sampling,
    embargoDays: input.horizonDays ?? DEFAULT_TRAINER_SETTINGS.horizonDays,
    ...(input.sampling ?? {}),
  };
  const riskThresholds = { ...DEFAULT_TRAINER_SETTINGS.riskThresholds, ...(input.riskThresholds ?? {}) };
  const settings: TrainerSettings = {
    ...DEFAULT_TRAINER_SETTINGS,
    ...input,
    modelParams:
      input.modelParams ??
      (input.algorithm === undefined || input.algorithm === 'gbdt' ? DEFAULT_TRAINER_SETTINGS.modelParams : {}),
    sampling,
    riskThresholds,
  };
  if (!/^[a-z][a-z0-9_-]{0,62}$/.test(settings.modelName))
    throw TrainerErrors.invalidSetting(
      'modelName',
      `must be lowercase letters, digits, _ and - (got ${JSON.stringify(settings.modelName)})`,
    );
  if (settings.codeVersion.trim() === '') throw TrainerErrors.invalidSetting('codeVersion', 'must not be empty');
  try {
    createModel(settings.algorithm, settings.modelParams);
    createModel(settings.baselineAlgorithm, settings.baselineParams);
  } catch (error) {
    throw asPlatformError(error);
  }
  wholeNumber('horizonDays', settings.horizonDays, 1, 365);
  wholeNumber('retrainEveryDays', settings.retrainEveryDays, 1, 365);
  wholeNumber('sampling.everyDays', sampling.everyDays, 1, 365);
  wholeNumber('sampling.warmupDays', sampling.warmupDays, 0, 365);
  wholeNumber('sampling.minWarmupDays', sampling.minWarmupDays, 0, sampling.warmupDays);
  wholeNumber('sampling.embargoDays', sampling.embargoDays, 0, 365);
  wholeNumber('sampling.minSnapshots', sampling.minSnapshots, 2, 1000);
  wholeNumber('sampling.maxSnapshots', sampling.maxSnapshots, 2, 1000);
  if (!(sampling.holdoutFraction > 0 && sampling.holdoutFraction < 1))
    throw TrainerErrors.invalidSetting(
      'sampling.holdoutFraction',
      `must be between 0 and 1 (got ${sampling.holdoutFraction})`,
    );
  if (!(riskThresholds.medium > 0 && riskThresholds.medium < riskThresholds.high && riskThresholds.high < 1)) {
    throw TrainerErrors.invalidSetting(
      'riskThresholds',
      `must satisfy 0 < medium < high < 1 (got ${riskThresholds.medium}, ${riskThresholds.high})`,
    );
  }
  checkIdentifier('featureTable', settings.featureTable);
  checkIdentifier('warehouseSchema', settings.warehouseSchema);
  return Object.freeze(settings);
}
