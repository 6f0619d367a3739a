/** Seeded synthetic data for tests and benchmarks: uniform features, labels from a caller's rule. */
import { type Dataset, createDataset } from './dataset.js';
import { createRandom } from './random.js';

/** Rows x features of uniform [0, 1) values from a seeded generator, with labels from `label`. */
export function syntheticDataset(
  nRows: number,
  nFeatures: number,
  label: (row: Float64Array, u: () => number) => number,
  seed = 1,
): Dataset {
  const random = createRandom(seed);
  const values = new Float64Array(nRows * nFeatures);
  const labels = new Uint8Array(nRows);
  const row = new Float64Array(nFeatures);
  for (let r = 0; r < nRows; r++) {
    for (let f = 0; f < nFeatures; f++) row[f] = random.nextFloat();
    values.set(row, r * nFeatures);
    labels[r] = label(row, () => random.nextFloat());
  }
  return createDataset({ featureNames: Array.from({ length: nFeatures }, (_, f) => `x${f}`), values, labels });
}

/** A label drawn from a logistic model of the given margin. */
export function bernoulli(margin: number, u: () => number): number {
  return u() < 1 / (1 + Math.exp(-margin)) ? 1 : 0;
}
