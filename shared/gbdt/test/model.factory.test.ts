import { describe, expect, it } from 'vitest';
import { GbdtModel, LogisticModel, TrainerError, createModel, loadModel, rocAuc } from '../src/index.js';
import { bernoulli, syntheticDataset, thrown } from './helpers.js';

describe('createModel', () => {
  it('throws TRAINER.UNKNOWN_MODEL naming the bad name and the valid ones', () => {
    const error = thrown(() => createModel('xgboost'));
    expect(error).toBeInstanceOf(TrainerError);
    expect(error.code).toBe('TRAINER.UNKNOWN_MODEL');
    expect(error.message).toContain('"xgboost"');
    expect(error.message).toContain('"gbdt"');
    expect(error.message).toContain('"logreg"');
  });

  it('validates parameters before any data is seen', () => {
    expect(thrown(() => createModel('gbdt', { maxDepth: 0 })).code).toBe('TRAINER.INVALID_PARAM');
    expect(thrown(() => createModel('logreg', { maxDepth: 3 })).code).toBe('TRAINER.INVALID_PARAM');
  });

  it('fills defaults and fits the named family', () => {
    const data = syntheticDataset(300, 3, (x, u) => bernoulli(4 * (x[0]! - 0.5), u));
    const gbdt = createModel('gbdt', { nTrees: 5 });
    expect(gbdt.params).toMatchObject({ nTrees: 5, maxDepth: 6, learningRate: 0.1, maxBins: 256 });
    expect(gbdt.fit(data)).toBeInstanceOf(GbdtModel);
    const logreg = createModel('logreg');
    expect(logreg.params).toMatchObject({ l2: 1 });
    expect(logreg.fit(data)).toBeInstanceOf(LogisticModel);
  });
});

describe('loadModel', () => {
  it('rejects an unknown kind with TRAINER.UNKNOWN_MODEL and junk with TRAINER.INVALID_MODEL_JSON', () => {
    expect(thrown(() => loadModel({ kind: 'forest' })).code).toBe('TRAINER.UNKNOWN_MODEL');
    expect(thrown(() => loadModel('not a model')).code).toBe('TRAINER.INVALID_MODEL_JSON');
    expect(thrown(() => loadModel({ kind: 'gbdt', format: 'mlops.gbdt.v1' })).code).toBe('TRAINER.INVALID_MODEL_JSON');
  });
});

describe('GBDT against the logistic baseline', () => {
  // Train and holdout from the same generator; the holdout uses a different seed.
  const xor = (x: Float64Array, u: () => number): number =>
    bernoulli((x[0]! > 0.5 !== x[1]! > 0.5 ? 2.5 : -2.5) + 0.5 * x[2]!, u);
  const linear = (x: Float64Array, u: () => number): number => bernoulli(3 * x[0]! - 2 * x[1]! + x[2]! - 1, u);

  it('beats logistic regression on a non-linear (XOR) interaction', () => {
    const train = syntheticDataset(4000, 5, xor, 21);
    const holdout = syntheticDataset(2000, 5, xor, 22);
    const gbdtAuc = rocAuc(
      holdout.labels,
      createModel('gbdt', { nTrees: 40, maxDepth: 3, learningRate: 0.2 }).fit(train).predictProba(holdout),
    );
    const logregAuc = rocAuc(holdout.labels, createModel('logreg').fit(train).predictProba(holdout));
    expect(gbdtAuc).toBeGreaterThan(0.85);
    expect(logregAuc).toBeLessThan(0.6);
    expect(gbdtAuc - logregAuc).toBeGreaterThan(0.25);
  });

  it('both beat chance on a linear problem', () => {
    const train = syntheticDataset(3000, 5, linear, 31);
    const holdout = syntheticDataset(1500, 5, linear, 32);
    const gbdtAuc = rocAuc(
      holdout.labels,
      createModel('gbdt', { nTrees: 40, maxDepth: 3 }).fit(train).predictProba(holdout),
    );
    const logregAuc = rocAuc(holdout.labels, createModel('logreg').fit(train).predictProba(holdout));
    expect(gbdtAuc).toBeGreaterThan(0.7);
    expect(logregAuc).toBeGreaterThan(0.7);
    // On a truly linear signal the linear model should be at least as good.
    expect(logregAuc).toBeGreaterThan(gbdtAuc - 0.02);
  });
});
