/**
 * `train`: fit the challenger (gradient-boosted trees by default) and the logistic-regression
 * baseline on the active customers of the train part. Both are deterministic for their parameters
 * (the seed is one of them). Model names and parameters are checked before the data is read.
 * These are the models `evaluate` judges; `refit` then fits the challenger again on train and
 * holdout together, and that refit is the registered artifact.
 */
import { activePart, decodeDataset } from '../data/dataset.artifact.js';
import { createModel } from '../ml/index.js';
import { defineComponent } from './component.js';

export const trainComponent = defineComponent({
  name: 'train',
  description: 'Fit the challenger and the logistic-regression baseline on the active customers of the train part.',
  io: {
    parameters: {
      algorithm: { type: 'STRING', description: 'Challenger model: gbdt or logreg.' },
      model_params: { type: 'STRUCT', description: 'Hyper-parameters of the challenger (defaults filled in).' },
      baseline_algorithm: { type: 'STRING', description: 'Baseline model (logreg).' },
      baseline_params: { type: 'STRUCT', description: 'Hyper-parameters of the baseline.' },
    },
    artifacts: {
      dataset: { type: 'system.Dataset', description: 'The labelled set from features.' },
    },
    outputParameters: {
      resolved_params: { type: 'STRUCT', description: 'Every hyper-parameter of the challenger, defaults included.' },
      resolved_baseline_params: {
        type: 'STRUCT',
        description: 'Every hyper-parameter of the baseline, defaults included.',
      },
    },
    outputArtifacts: {
      model: { type: 'system.Model', description: 'The challenger fitted on the train part (model JSON).' },
      baseline: { type: 'system.Model', description: 'The baseline (model JSON).' },
    },
  },
  validate(params) {
    if (params.algorithm !== undefined) createModel(params.algorithm, params.model_params ?? {});
    if (params.baseline_algorithm !== undefined) createModel(params.baseline_algorithm, params.baseline_params ?? {});
  },
  async run({ params, artifacts, outputs }, deps) {
    const challenger = createModel(params.algorithm, params.model_params);
    const baseline = createModel(params.baseline_algorithm, params.baseline_params);
    const train = activePart(decodeDataset(await artifacts.dataset.read(), artifacts.dataset.uri), ['train']).data;
    let started = performance.now();
    const model = challenger.fit(train);
    const fitMs = Math.round(performance.now() - started);
    started = performance.now();
    const reference = baseline.fit(train);
    const baselineMs = Math.round(performance.now() - started);
    await outputs.model.write(JSON.stringify(model.toJSON()), { kind: model.kind, fitMs });
    await outputs.baseline.write(JSON.stringify(reference.toJSON()), { kind: reference.kind, fitMs: baselineMs });
    deps.log.info(
      `train: ${challenger.kind} in ${fitMs} ms, ${baseline.kind} in ${baselineMs} ms on ${train.nRows} rows x ${train.nFeatures} features`,
      {
        rows: train.nRows,
        fitMs,
        baselineMs,
      },
    );
    return { resolved_params: { ...challenger.params }, resolved_baseline_params: { ...baseline.params } };
  },
});
