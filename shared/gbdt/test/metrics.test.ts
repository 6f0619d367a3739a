import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  calibrationByDecile,
  evaluateBinary,
  logLoss,
  rocAuc,
  thresholdMetrics,
} from '../src/index.js';
import { thrown } from './helpers.js';
import { METRICS_REFERENCE as ref } from './sklearn.reference.js';

describe('ROC AUC', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 when everything ties', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(rocAuc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])).toBe(0);
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });

  it('counts a tie between a positive and a negative as one half (hand-computed)', () => {
    // Pairs (pos, neg): (0.8 vs 0.3) win, (0.8 vs 0.5) win, (0.5 vs 0.3) win, (0.5 vs 0.5) tie → 3.5 / 4.
    expect(rocAuc([1, 1, 0, 0], [0.8, 0.5, 0.5, 0.3])).toBeCloseTo(0.875, 15);
  });

  it('matches scikit-learn on a fixed dataset with ties, unweighted and weighted', () => {
    expect(rocAuc(ref.labels, ref.probabilities)).toBeCloseTo(ref.rocAuc, 12);
    expect(rocAuc(ref.labels, ref.probabilities, ref.weights)).toBeCloseTo(ref.rocAucWeighted, 12);
  });

  it('does not depend on row order', () => {
    const order = ref.labels.map((_, i) => (i * 17) % ref.labels.length);
    expect(
      rocAuc(
        order.map((i) => ref.labels[i]!),
        order.map((i) => ref.probabilities[i]!),
      ),
    ).toBeCloseTo(ref.rocAuc, 12);
  });

  it('is undefined for a single class', () => {
    expect(thrown(() => rocAuc([1, 1], [0.2, 0.3])).code).toBe('TRAINER.UNDEFINED_METRIC');
  });
});

describe('average precision (PR AUC)', () => {
  it('is 1 when every positive ranks first, and the hand-computed value otherwise', () => {
    expect(averagePrecision([1, 1, 0], [0.9, 0.8, 0.1])).toBe(1);
    // Ranking: pos (P=1, R=1/2), neg, pos (P=2/3, R=1) → 1/2·1 + 1/2·2/3 = 5/6.
    expect(averagePrecision([1, 0, 1], [0.9, 0.5, 0.1])).toBeCloseTo(5 / 6, 15);
  });

  it('matches scikit-learn on a fixed dataset with ties, unweighted and weighted', () => {
    expect(averagePrecision(ref.labels, ref.probabilities)).toBeCloseTo(ref.averagePrecision, 12);
    expect(averagePrecision(ref.labels, ref.probabilities, ref.weights)).toBeCloseTo(ref.averagePrecisionWeighted, 12);
  });

  it('is undefined without positives', () => {
    expect(thrown(() => averagePrecision([0, 0], [0.2, 0.3])).code).toBe('TRAINER.UNDEFINED_METRIC');
  });
});

describe('log loss', () => {
  it('is the mean negative log-likelihood (hand-computed)', () => {
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 15);
  });

  it('clips probabilities of exactly 0 or 1 instead of returning Infinity', () => {
    const loss = logLoss([1, 0], [0, 1]);
    // 1 − (1 − 1e-15) is 1.11e-15 in doubles, as in scikit-learn.
    expect(loss).toBeCloseTo(-(Math.log(1e-15) + Math.log(1 - (1 - 1e-15))) / 2, 12);
    expect(Number.isFinite(loss)).toBe(true);
  });

  it('matches scikit-learn, unweighted and weighted', () => {
    expect(logLoss(ref.labels, ref.probabilities)).toBeCloseTo(ref.logLoss, 12);
    expect(logLoss(ref.labels, ref.probabilities, ref.weights)).toBeCloseTo(ref.logLossWeighted, 12);
  });

  it('rejects a probability outside [0, 1]', () => {
    expect(thrown(() => logLoss([1], [1.2])).code).toBe('TRAINER.INVALID_SCORE');
  });
});

describe('calibration by decile', () => {
  it('matches scikit-learn calibration_curve(strategy="quantile") with tied probabilities', () => {
    const bins = calibrationByDecile(ref.labels, ref.probabilities);
    expect(bins.map((b) => b.observedRate)).toEqual(ref.calibrationObserved.map((v) => expect.closeTo(v, 12)));
    expect(bins.map((b) => b.meanPredicted)).toEqual(ref.calibrationPredicted.map((v) => expect.closeTo(v, 12)));
    expect(bins.reduce((sum, b) => sum + b.count, 0)).toBe(ref.labels.length);
  });

  it('matches scikit-learn with distinct probabilities: ten bins of four rows', () => {
    const bins = calibrationByDecile(ref.labels, ref.probabilities2);
    expect(bins.map((b) => b.count)).toEqual(Array(10).fill(4));
    expect(bins.map((b) => b.observedRate)).toEqual(ref.calibration2Observed.map((v) => expect.closeTo(v, 12)));
    expect(bins.map((b) => b.meanPredicted)).toEqual(ref.calibration2Predicted.map((v) => expect.closeTo(v, 12)));
  });
});

describe('metrics at a threshold', () => {
  it('counts scores at or above the threshold as positive (hand-computed)', () => {
    const m = thresholdMetrics([1, 1, 0, 0, 1], [0.9, 0.5, 0.5, 0.1, 0.2], 0.5);
    expect(m).toMatchObject({ truePositives: 2, falsePositives: 1, trueNegatives: 1, falseNegatives: 1 });
    expect(m.accuracy).toBeCloseTo(3 / 5, 15);
    expect(m.precision).toBeCloseTo(2 / 3, 15);
    expect(m.recall).toBeCloseTo(2 / 3, 15);
    expect(m.f1).toBeCloseTo(2 / 3, 15);
  });

  it('reports precision 0 when nothing is predicted positive', () => {
    expect(thresholdMetrics([1, 0], [0.1, 0.2], 0.5).precision).toBe(0);
  });
});

describe('evaluateBinary', () => {
  it('bundles every metric', () => {
    const m = evaluateBinary(ref.labels, ref.probabilities);
    expect(m.rows).toBe(40);
    expect(m.rocAuc).toBeCloseTo(ref.rocAuc, 12);
    expect(m.prAuc).toBeCloseTo(ref.averagePrecision, 12);
    expect(m.logLoss).toBeCloseTo(ref.logLoss, 12);
    expect(m.calibration.length).toBe(ref.calibrationObserved.length);
  });

  it.each([
    ['mismatched lengths', () => rocAuc([0, 1], [0.5]), 'TRAINER.SHAPE_MISMATCH'],
    ['a label 2', () => rocAuc([0, 2], [0.1, 0.5]), 'TRAINER.INVALID_LABEL'],
    ['a NaN score', () => rocAuc([0, 1], [0.1, NaN]), 'TRAINER.INVALID_SCORE'],
    ['no rows', () => logLoss([], []), 'TRAINER.UNDEFINED_METRIC'],
  ])('rejects %s with its code', (_, fn, code) => {
    expect(thrown(fn).code).toBe(code);
  });
});
