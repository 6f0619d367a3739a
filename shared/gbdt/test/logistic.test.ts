import { describe, expect, it } from 'vitest';
import { LogisticModel, createDataset, fitLogistic, loadModel } from '../src/index.js';
import { syntheticDataset, thrown } from './helpers.js';
import { LOGREG_REFERENCE as ref } from './sklearn.reference.js';

const data = createDataset({ featureNames: ['a', 'b', 'c'], values: ref.X.map((row) => [...row]), labels: ref.y });

describe('logistic regression', () => {
  it("finds scikit-learn's optimum (LogisticRegression(C=1) on StandardScaler output)", () => {
    const model = fitLogistic(data, { l2: 1 });
    ref.coef.forEach((c, f) => expect(model.coefficients[f]).toBeCloseTo(c, 7));
    expect(model.intercept).toBeCloseTo(ref.intercept, 7);
    expect(model.predictRow(ref.X[0]!)).toBeCloseTo(ref.proba0, 7);
  });

  it('shrinks coefficients with a stronger penalty exactly as scikit-learn does with C=0.1', () => {
    const model = fitLogistic(data, { l2: 10 });
    ref.coefC01.forEach((c, f) => expect(model.coefficients[f]).toBeCloseTo(c, 7));
    expect(model.intercept).toBeCloseTo(ref.interceptC01, 7);
  });

  it('is deterministic and round-trips through JSON with identical predictions', () => {
    const model = fitLogistic(data);
    expect(JSON.stringify(fitLogistic(data))).toBe(JSON.stringify(model));
    const restored = loadModel(JSON.parse(JSON.stringify(model)));
    expect(restored).toBeInstanceOf(LogisticModel);
    expect([...restored.predictProba(data)]).toEqual([...model.predictProba(data)]);
  });

  it('converges on separable data instead of running away (the penalty bounds the coefficients)', () => {
    const separable = syntheticDataset(200, 2, (x) => (x[0]! > 0.5 ? 1 : 0));
    const model = fitLogistic(separable, { l2: 1 });
    expect(model.iterations).toBeLessThan(100);
    expect(Number.isFinite(model.coefficients[0])).toBe(true);
    expect(model.coefficients[0]).toBeGreaterThan(1);
  });

  it('gives a constant feature a zero coefficient', () => {
    const withConstant = createDataset({
      featureNames: ['a', 'k'],
      values: ref.X.map((row) => [row[0]!, 5]),
      labels: ref.y,
    });
    expect(fitLogistic(withConstant).coefficients[1]).toBe(0);
  });

  it('rejects an unknown parameter and a negative penalty', () => {
    expect(thrown(() => fitLogistic(data, { C: 1 })).code).toBe('TRAINER.INVALID_PARAM');
    expect(thrown(() => fitLogistic(data, { l2: -1 })).code).toBe('TRAINER.INVALID_PARAM');
  });
});
