import { describe, expect, it } from 'vitest';
import { createDataset, createFeatureMatrix, createModel, createRandom } from '../src/ml/index.js';
import { columnScorer } from '../src/scoring/compiled-forest.js';

/** Rows with signal in some features, noise in others, a few ties and a constant feature. */
function data(rows: number, seed: number) {
  const random = createRandom(seed);
  const featureNames = ['a', 'b', 'c', 'constant', 'noise'];
  const values = new Float64Array(rows * featureNames.length);
  const labels = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const a = random.nextFloat();
    const b = Math.floor(random.nextFloat() * 5);
    const c = random.nextFloat() * 100;
    values.set([a, b, c, 7, random.nextFloat()], r * 5);
    labels[r] = random.nextFloat() < 0.2 + 0.5 * a + 0.05 * b - (c > 80 ? 0.2 : 0) ? 1 : 0;
  }
  return { featureNames, values, labels };
}

function columnsOf(values: Float64Array, width: number, names: readonly string[], wanted: readonly string[]) {
  const rows = values.length / width;
  return wanted.map((name) => {
    const f = names.indexOf(name);
    return Float64Array.from({ length: rows }, (_, r) => values[r * width + f]!);
  });
}

describe('compiled forest', () => {
  it.each([
    ['shallow trees', { nTrees: 30, maxDepth: 3 }],
    ['deep, uneven trees', { nTrees: 20, maxDepth: 6, minChildWeight: 20 }],
    ['single leaves', { nTrees: 3, maxDepth: 1, gamma: 1e9 }],
  ])('scores %s exactly as the model does, reading only the features it splits on', (_name, params) => {
    const train = data(3000, 1);
    const model = createModel('gbdt', { threads: 1, seed: 0, ...params }).fit(createDataset(train));
    const test = data(2500, 2);
    const expected = model.predictProba(createFeatureMatrix({ featureNames: test.featureNames, values: test.values }));
    const scorer = columnScorer(model);
    expect(scorer.features).not.toContain('constant');
    const scores = scorer.score(columnsOf(test.values, 5, test.featureNames, scorer.features), 2500);
    expect(scores).toEqual(expected);
  });

  it('falls back to the model itself for a logistic regression', () => {
    const train = data(1000, 3);
    const model = createModel('logreg', {}).fit(createDataset(train));
    const scorer = columnScorer(model);
    expect(scorer.features).toEqual(train.featureNames);
    const scores = scorer.score(columnsOf(train.values, 5, train.featureNames, scorer.features), 1000);
    expect(scores).toEqual(
      model.predictProba(createFeatureMatrix({ featureNames: train.featureNames, values: train.values })),
    );
  });
});
