/**
 * The model a prediction server answers with: the registered version's `model.json` read from the
 * folder Vertex AI copied the version to (`AIP_STORAGE_URI`), through the object store port, and
 * compiled into the same column scorer batch prediction uses, so both give the same probabilities.
 */
import type { ObjectStore } from '@mlops/kernel';
import { TrainerErrors } from '../errors.js';
import { loadModel } from '../ml/index.js';
import { columnScorer } from '../scoring/compiled-forest.js';
import { instanceColumns } from './instances.js';
import { SERVED_MODEL_FILE } from './serving.container.js';

/** A loaded model, ready to answer predict requests. */
export interface ServedModel {
  kind: string;
  /** The features the model was trained on: an array instance gives them in this order. */
  featureNames: readonly string[];
  /** Churn probabilities of the request's instances, in order (throws a ServingError on bad input). */
  predict(body: unknown): number[];
}

/** Load and compile the model of a version folder (the store is rooted at that folder). */
export async function loadServedModel(folder: ObjectStore): Promise<ServedModel> {
  const uri = folder.uri(SERVED_MODEL_FILE);
  let json: unknown;
  try {
    json = JSON.parse((await folder.get(SERVED_MODEL_FILE)).toString('utf8'));
  } catch (error) {
    throw TrainerErrors.invalidArtifact(uri, `cannot read the served model: ${(error as Error).message}`);
  }
  const model = loadModel(json);
  const scorer = columnScorer(model);
  return {
    kind: model.kind,
    featureNames: model.featureNames,
    predict(body) {
      const { columns, rows } = instanceColumns(body, model.featureNames, scorer.features);
      return Array.from(scorer.score(columns, rows));
    },
  };
}
