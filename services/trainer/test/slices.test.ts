import { describe, expect, it } from 'vitest';
import { rankingMetrics } from '../src/data/slices.js';
import { averagePrecision, createRandom, rocAuc } from '../src/ml/index.js';

function rows(n: number, seed: number, distinct: number, positiveRate: number) {
  const random = createRandom(seed);
  const labels = new Uint8Array(n);
  const scores = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    // Few distinct values make ties; the label leans on the score so the metrics are not trivial.
    const s = distinct > 0 ? Math.floor(random.nextFloat() * distinct) / distinct : random.nextFloat();
    scores[r] = s === 0 && random.nextFloat() < 0.5 ? -0 : s;
    labels[r] = random.nextFloat() < positiveRate * (0.5 + s) ? 1 : 0;
  }
  return { labels, scores };
}

describe('ranking metrics of a slice', () => {
  it.each([
    ['continuous scores', 20_000, 0, 0.3],
    ['heavy ties (-0 among the zeros)', 20_000, 7, 0.4],
    ['rare positives', 5_000, 50, 0.02],
    ['two rows', 2, 0, 0.5],
  ])('equal rocAuc and averagePrecision to the bit: %s', (_name, n, distinct, rate) => {
    for (const seed of [1, 2, 3]) {
      const { labels, scores } = rows(n, seed, distinct, rate);
      if (labels.every((y) => y === labels[0])) labels[0] = 1 - labels[0]!;
      const { rocAuc: auc, prAuc } = rankingMetrics(labels, scores);
      expect(auc).toBe(rocAuc(labels, scores));
      expect(prAuc).toBe(averagePrecision(labels, scores));
    }
  });

  it('refuses rows of one class', () => {
    expect(() => rankingMetrics(new Uint8Array([1, 1]), new Float64Array([0.2, 0.4]))).toThrow(/both classes/);
  });
});
