import { describe, expect, it } from 'vitest';
import { createRandom, rocAuc } from '../src/ml/index.js';
import { pairedAucDifference } from '../src/registry/bootstrap.js';
import { decidePromotion, type PromotionInput } from '../src/registry/promotion.js';

const base: PromotionInput = {
  challengerVersion: 'v-bbbbbbbbbbbb',
  challengerDataTo: '2025-03-31',
  challenger: { rocAuc: 0.8, logLoss: 0.4, ece: 0.02 },
  baseline: { rocAuc: 0.75, logLoss: 0.45, ece: 0.03 },
};
const champion = { version: 'v-aaaaaaaaaaaa', dataTo: '2025-03-24' };
const against = { rocAuc: 0.78, logLoss: 0.42, ece: 0.02 };
const interval = (estimate: number, low: number, high: number) => ({
  estimate,
  low,
  high,
  level: 0.95,
  resamples: 1000,
  seed: 1,
  clusters: 500,
});
const judged = (overrides: Partial<PromotionInput>): PromotionInput => ({
  ...base,
  champion: { ...champion, onHoldout: against },
  difference: interval(0.02, 0.005, 0.035),
  ...overrides,
});

describe('promotion rule', () => {
  it.each([
    ['the first model that beats the baseline and chance', base, true],
    ['a first model that does not beat the baseline', { ...base, baseline: { ...base.baseline, rocAuc: 0.81 } }, false],
    [
      'a first model no better than chance',
      { ...base, challenger: { ...base.challenger, rocAuc: 0.5 }, baseline: { ...base.baseline, rocAuc: 0.4 } },
      false,
    ],
    ['a challenger that beats the champion by more than the uncertainty', judged({}), true],
    [
      'a challenger ahead of the champion, but within the uncertainty',
      judged({ difference: interval(0.02, -0.001, 0.041) }),
      false,
    ],
    ['a challenger that ties the champion', judged({ difference: interval(0, -0.01, 0.01) }), false],
    ['a worse challenger', judged({ difference: interval(-0.02, -0.03, -0.01) }), false],
    [
      'a better-ranking challenger with a worse log loss',
      judged({ challenger: { ...base.challenger, logLoss: 0.43 } }),
      false,
    ],
    [
      'a better-ranking challenger that is worse calibrated',
      judged({ challenger: { ...base.challenger, ece: 0.05 } }),
      false,
    ],
    ['a challenger on older data than the champion (a replay)', judged({ challengerDataTo: '2025-03-01' }), false],
    [
      'the champion itself',
      { ...base, champion: { ...champion, version: base.challengerVersion, onHoldout: undefined } },
      false,
    ],
    [
      'a challenger when the champion cannot score the features, judged against the baseline',
      { ...base, champion: { ...champion, onHoldout: undefined } },
      true,
    ],
  ])('%s', (_name, input, promote) => {
    const decision = decidePromotion(input);
    expect(decision.promote).toBe(promote);
    expect(decision.reason).not.toBe('');
  });

  it('names the interval in the reason of a challenger within noise', () => {
    const decision = decidePromotion(judged({ difference: interval(0.0021, -0.003, 0.0071) }));
    expect(decision.reason).toMatch(/does not beat champion v-aaaaaaaaaaaa by more than the uncertainty/);
    expect(decision.reason).toMatch(/\+0\.0021 \(95 % interval -0\.0030 \.\. \+0\.0071\)/);
  });
});

/** Labels and two noisy scores of the same signal; `edge` makes the challenger's noise smaller. */
function scored(n: number, edge: number, seed: number) {
  const random = createRandom(seed);
  const labels = new Uint8Array(n);
  const challenger = new Float64Array(n);
  const champion = new Float64Array(n);
  const clusters = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const signal = random.nextFloat();
    labels[i] = random.nextFloat() < signal ? 1 : 0;
    champion[i] = signal + (random.nextFloat() - 0.5);
    challenger[i] = signal + (random.nextFloat() - 0.5) * (1 - edge);
    clusters[i] = Math.floor(i / 3); // three rows per customer
  }
  return { labels, challenger, champion, clusters };
}

describe('paired bootstrap of the ROC AUC difference', () => {
  it('estimates the difference of the two ROC AUCs on the rows as they are', () => {
    const data = scored(3000, 0.3, 7);
    const result = pairedAucDifference({ ...data, resamples: 200, seed: 1, level: 0.95 });
    expect(result.estimate).toBeCloseTo(rocAuc(data.labels, data.challenger) - rocAuc(data.labels, data.champion), 12);
    expect(result.clusters).toBe(1000);
    expect(result.low).toBeLessThan(result.estimate);
    expect(result.high).toBeGreaterThan(result.estimate);
  });

  it('is reproducible with its seed', () => {
    const data = scored(2000, 0.1, 3);
    const a = pairedAucDifference({ ...data, resamples: 300, seed: 11, level: 0.95 });
    const b = pairedAucDifference({ ...data, resamples: 300, seed: 11, level: 0.95 });
    expect(b).toEqual(a);
  });

  it('gives the interval of the row-weighted definition to the bit (ties included)', () => {
    // Pinned from the implementation that weighed every row explicitly (a weights array per
    // resample, rows visited through the score order); the challenger's scores are rounded to
    // 1/40 so tie groups of many rows occur.
    const data = scored(3000, 0.3, 7);
    data.challenger = data.challenger.map((value) => Math.round(value * 40) / 40);
    expect(pairedAucDifference({ ...data, resamples: 200, seed: 1, level: 0.95 })).toEqual({
      estimate: 0.03827922256946237,
      low: 0.019306202446583643,
      high: 0.054641587408380626,
      level: 0.95,
      resamples: 200,
      seed: 1,
      clusters: 1000,
    });
  });

  it.each([
    ['every score tied', (value: number) => 0 * value + 0.5],
    ['five distinct scores', (value: number) => Math.round(value * 4) / 4],
    ['scores as they are', (value: number) => value],
  ])('gives the bits of the group-by-group weighted sum (%s)', (_name, coarse) => {
    const data = scored(1500, 0.3, 9);
    data.challenger = data.challenger.map(coarse);
    const input = { ...data, resamples: 60, seed: 5, level: 0.9 };
    const result = pairedAucDifference(input);
    expect(result).toEqual(groupByGroupInterval(input));
  });

  it('leaves out resamples that draw no positive row', () => {
    const labels = new Uint8Array(40);
    labels[0] = 1; // one positive customer among forty
    const scores = Float64Array.from({ length: 40 }, (_, i) => i / 40);
    const input = {
      labels,
      challenger: scores,
      champion: scores.map((v) => 1 - v),
      clusters: Uint32Array.from({ length: 40 }, (_, i) => i),
      resamples: 50,
      seed: 2,
      level: 0.95,
    };
    const result = pairedAucDifference(input);
    expect(result.resamples).toBeLessThan(50);
    expect(result).toEqual(groupByGroupInterval(input));
  });

  it('brackets zero for two equally good models, and not for a clearly better one', () => {
    const same = scored(3000, 0, 5);
    const tie = pairedAucDifference({ ...same, resamples: 500, seed: 1, level: 0.95 });
    expect(tie.low).toBeLessThan(0);
    expect(tie.high).toBeGreaterThan(0);
    const better = pairedAucDifference({ ...scored(3000, 0.6, 5), resamples: 500, seed: 1, level: 0.95 });
    expect(better.low).toBeGreaterThan(0);
  });
});

/**
 * The interval as first written: an explicit weight per row from the customer draws, each model's
 * rows visited group by group in score order (ties count one half).
 */
function groupByGroupInterval(input: Parameters<typeof pairedAucDifference>[0]) {
  const { labels, resamples } = input;
  const n = labels.length;
  const ids = new Map<number, number>();
  const cluster = Uint32Array.from(input.clusters, (c) => {
    if (!ids.has(c)) ids.set(c, ids.size);
    return ids.get(c)!;
  });
  const auc = (scores: Float64Array, weights: Float64Array): number => {
    const order = [...scores.keys()].sort((a, b) => scores[a]! - scores[b]!);
    let below = 0;
    let positives = 0;
    let area = 0;
    for (let start = 0; start < n; ) {
      let end = start;
      let gp = 0;
      let gn = 0;
      while (end < n && scores[order[end]!] === scores[order[start]!]) {
        if (labels[order[end]!] === 1) gp += weights[order[end]!]!;
        else gn += weights[order[end]!]!;
        end++;
      }
      area += gp * (below + gn / 2);
      below += gn;
      positives += gp;
      start = end;
    }
    return area / (positives * below);
  };
  const weights = new Float64Array(n).fill(1);
  const estimate = auc(input.challenger, weights) - auc(input.champion, weights);
  const random = createRandom(input.seed);
  const draws = new Uint32Array(ids.size);
  const differences: number[] = [];
  for (let s = 0; s < resamples; s++) {
    draws.fill(0);
    for (let k = 0; k < ids.size; k++) draws[random.nextInt(ids.size)]! += 1;
    for (let r = 0; r < n; r++) weights[r] = draws[cluster[r]!]!;
    const difference = auc(input.challenger, weights) - auc(input.champion, weights);
    if (Number.isFinite(difference)) differences.push(difference);
  }
  const sorted = Float64Array.from(differences).sort();
  const at = (q: number) => {
    const position = (sorted.length - 1) * q;
    const lower = Math.floor(position);
    const upper = Math.min(sorted.length - 1, lower + 1);
    return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
  };
  const tail = (1 - input.level) / 2;
  return {
    estimate,
    low: at(tail),
    high: at(1 - tail),
    level: input.level,
    resamples: sorted.length,
    seed: input.seed,
    clusters: ids.size,
  };
}
