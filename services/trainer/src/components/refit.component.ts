/**
 * `refit`: after evaluation, fit the challenger again with the same parameters on the active
 * customers of train and holdout together, so the model that scores uses the latest labelled
 * weeks. The registry keeps the holdout metrics of the model `train` fitted (what was measured)
 * and this refit as the artifact (what scores); both are in the lake.
 */
import { activePart, decodeDataset } from '../data/dataset.artifact.js';
import { createModel } from '../ml/index.js';
import { defineComponent } from './component.js';

export const refitComponent = defineComponent({
  name: 'refit',
  description:
    'Fit the challenger again on the active customers of train and holdout together: the registered artifact.',
  io: {
    parameters: {
      algorithm: { type: 'STRING', description: 'Challenger model: gbdt or logreg.' },
      resolved_params: { type: 'STRUCT', description: 'Every hyper-parameter of the challenger, from train.' },
    },
    artifacts: {
      dataset: { type: 'system.Dataset', description: 'The labelled set from features.' },
    },
    outputParameters: {
      refit_rows: { type: 'NUMBER_INTEGER', description: 'Rows the refit learned from.' },
    },
    outputArtifacts: {
      model: { type: 'system.Model', description: 'The challenger refitted on train + holdout (model JSON).' },
    },
  },
  validate(params) {
    if (params.algorithm !== undefined && params.resolved_params !== undefined)
      createModel(params.algorithm, params.resolved_params);
  },
  async run({ params, artifacts, outputs }, deps) {
    const trainer = createModel(params.algorithm, params.resolved_params);
    const data = activePart(decodeDataset(await artifacts.dataset.read(), artifacts.dataset.uri), [
      'train',
      'holdout',
    ]).data;
    const started = performance.now();
    const model = trainer.fit(data);
    const fitMs = Math.round(performance.now() - started);
    await outputs.model.write(JSON.stringify(model.toJSON()), { kind: model.kind, fitMs, rows: data.nRows });
    deps.log.info(`refit: ${trainer.kind} on ${data.nRows} rows (train + holdout) in ${fitMs} ms`, {
      rows: data.nRows,
      fitMs,
    });
    return { refit_rows: data.nRows };
  },
});
