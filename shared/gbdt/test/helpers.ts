import { type Dataset, createDataset, createRandom } from '../src/index.js';

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

/** Run `fn` and return the error it throws (or fail the test when it does not throw). */
export function thrown(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected an error, but nothing was thrown');
}
