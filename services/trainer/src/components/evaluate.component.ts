/**
 * `evaluate`: score the challenger and the baseline on the holdout (the latest snapshots, never
 * seen in training): ROC AUC, PR AUC, log loss, calibration by decile, and the challenger's
 * feature importance.
 */
import { decodeDataset } from '../data/dataset.artifact.js';
import { evaluateBinary, loadModel, type BinaryMetrics, type FeatureImportance } from '../ml/index.js';
import { defineComponent } from './component.js';

/** Metrics of one model on the holdout, as stored in the metrics artifact and the registry. */
export interface HoldoutMetrics {
  rocAuc: number;
  prAuc: number;
  logLoss: number;
  rows: number;
  positiveRate: number;
  calibration: { decile: number; meanPredicted: number; observedRate: number; count: number }[];
}

/** The metrics artifact. */
export interface MetricsArtifact {
  format: 'mlops.metrics.v1';
  challenger: HoldoutMetrics;
  baseline: HoldoutMetrics;
  featureImportance: FeatureImportance[];
}

/** The registry's view of binary metrics. */
export function holdoutMetrics(metrics: BinaryMetrics): HoldoutMetrics {
  return {
    rocAuc: metrics.rocAuc,
    prAuc: metrics.prAuc,
    logLoss: metrics.logLoss,
    rows: metrics.rows,
    positiveRate: metrics.positiveRate,
    calibration: metrics.calibration.map((bin) => ({
      decile: bin.bin,
      meanPredicted: bin.meanPredicted,
      observedRate: bin.observedRate,
      count: bin.count,
    })),
  };
}

export const evaluateComponent = defineComponent({
  name: 'evaluate',
  description: 'Holdout metrics of the challenger and the baseline, and the challenger feature importance.',
  io: {
    parameters: {},
    artifacts: {
      dataset: { type: 'system.Dataset', description: 'The labelled set from features.' },
      model: { type: 'system.Model', description: 'The challenger from train.' },
      baseline: { type: 'system.Model', description: 'The baseline from train.' },
    },
    outputParameters: {
      roc_auc: { type: 'NUMBER_DOUBLE', description: 'Challenger ROC AUC on the holdout.' },
      baseline_roc_auc: { type: 'NUMBER_DOUBLE', description: 'Baseline ROC AUC on the holdout.' },
    },
    outputArtifacts: {
      metrics: { type: 'system.Metrics', description: 'Metrics of both models (mlops.metrics.v1).' },
    },
  },
  async run({ artifacts, outputs }, deps) {
    const { holdout } = decodeDataset(await artifacts.dataset.read(), artifacts.dataset.uri);
    const model = loadModel(JSON.parse((await artifacts.model.read()).toString('utf8')));
    const baseline = loadModel(JSON.parse((await artifacts.baseline.read()).toString('utf8')));
    const challenger = holdoutMetrics(evaluateBinary(holdout.labels, model.predictProba(holdout)));
    const reference = holdoutMetrics(evaluateBinary(holdout.labels, baseline.predictProba(holdout)));
    const featureImportance = model
      .featureImportance()
      .sort((a, b) => b.gain - a.gain || a.feature.localeCompare(b.feature));
    const artifact: MetricsArtifact = {
      format: 'mlops.metrics.v1',
      challenger,
      baseline: reference,
      featureImportance,
    };
    await outputs.metrics.write(JSON.stringify(artifact), {
      rocAuc: challenger.rocAuc,
      prAuc: challenger.prAuc,
      logLoss: challenger.logLoss,
      baselineRocAuc: reference.rocAuc,
    });
    deps.log.info(
      `evaluate: ROC AUC ${challenger.rocAuc.toFixed(4)} (baseline ${reference.rocAuc.toFixed(4)}) on ${holdout.nRows} holdout rows`,
      {
        rocAuc: challenger.rocAuc,
        baselineRocAuc: reference.rocAuc,
      },
    );
    return { roc_auc: challenger.rocAuc, baseline_roc_auc: reference.rocAuc };
  },
});
