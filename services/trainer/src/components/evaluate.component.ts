/**
 * `evaluate`: score the challenger and the baseline (both fitted on the train part) on the holdout
 * (the latest snapshots, after the embargo, never seen in training): ROC AUC, PR AUC, log loss,
 * calibration by decile and its expected error, for the whole holdout and by slice (`active`, the
 * scored population; recency; segment), and the challenger's feature importance.
 */
import { decodeDataset, holdoutPart } from '../data/dataset.artifact.js';
import { sliceMetrics, sliceRows, type SliceMetrics } from '../data/slices.js';
import { loadModel, type FeatureImportance } from '../ml/index.js';
import { predictMatrix } from '../scoring/compiled-forest.js';
import { defineComponent } from './component.js';

/** The slice every decision is made on: customers active at the snapshot. */
export const POPULATION_SLICE = 'active';

/** The metrics artifact. */
export interface MetricsArtifact {
  format: 'mlops.metrics.v2';
  /** The slice the headline figures and the promotion use. */
  population: typeof POPULATION_SLICE;
  challenger: Record<string, SliceMetrics>;
  baseline: Record<string, SliceMetrics>;
  featureImportance: FeatureImportance[];
}

export const evaluateComponent = defineComponent({
  name: 'evaluate',
  description:
    'Holdout metrics of the challenger and the baseline, whole and by slice (active, recency, segment), and the challenger feature importance.',
  io: {
    parameters: {},
    artifacts: {
      dataset: { type: 'system.Dataset', description: 'The labelled set from features.' },
      model: { type: 'system.Model', description: 'The challenger from train.' },
      baseline: { type: 'system.Model', description: 'The baseline from train.' },
    },
    outputParameters: {
      roc_auc: { type: 'NUMBER_DOUBLE', description: 'Challenger ROC AUC on the active customers of the holdout.' },
      baseline_roc_auc: {
        type: 'NUMBER_DOUBLE',
        description: 'Baseline ROC AUC on the active customers of the holdout.',
      },
      roc_auc_all: { type: 'NUMBER_DOUBLE', description: 'Challenger ROC AUC on the whole holdout (lapsed included).' },
    },
    outputArtifacts: {
      metrics: { type: 'system.Metrics', description: 'Metrics of both models by slice (mlops.metrics.v2).' },
    },
  },
  async run({ artifacts, outputs }, deps) {
    const set = decodeDataset(await artifacts.dataset.read(), artifacts.dataset.uri);
    const holdout = holdoutPart(set);
    const model = loadModel(JSON.parse((await artifacts.model.read()).toString('utf8')));
    const baseline = loadModel(JSON.parse((await artifacts.baseline.read()).toString('utf8')));
    const slices = sliceRows(holdout.facts, set.header.segments, set.header.horizonDays);
    const challenger = sliceMetrics(holdout.data.labels, predictMatrix(model, holdout.data), slices);
    const reference = sliceMetrics(holdout.data.labels, baseline.predictProba(holdout.data), slices);
    const featureImportance = model
      .featureImportance()
      .sort((a, b) => b.gain - a.gain || a.feature.localeCompare(b.feature));
    const artifact: MetricsArtifact = {
      format: 'mlops.metrics.v2',
      population: POPULATION_SLICE,
      challenger,
      baseline: reference,
      featureImportance,
    };
    const active = challenger[POPULATION_SLICE]!;
    const baselineActive = reference[POPULATION_SLICE]!;
    const auc = active.rocAuc ?? 0.5;
    const baselineAuc = baselineActive.rocAuc ?? 0.5;
    const aucAll = challenger.all?.rocAuc ?? auc;
    await outputs.metrics.write(JSON.stringify(artifact), {
      rocAuc: auc,
      prAuc: active.prAuc ?? 0,
      logLoss: active.logLoss,
      ece: active.ece,
      baselineRocAuc: baselineAuc,
      rocAucAll: aucAll,
    });
    deps.log.info(
      `evaluate: ROC AUC ${auc.toFixed(4)} on ${active.rows} active holdout rows (baseline ${baselineAuc.toFixed(4)}); ${aucAll.toFixed(4)} on all ${holdout.data.nRows}`,
      {
        rocAuc: auc,
        baselineRocAuc: baselineAuc,
        rocAucAll: aucAll,
      },
    );
    return { roc_auc: auc, baseline_roc_auc: baselineAuc, roc_auc_all: aucAll };
  },
});
