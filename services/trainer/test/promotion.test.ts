import { describe, expect, it } from 'vitest';
import { decidePromotion, type PromotionInput } from '../src/registry/promotion.js';

const base: PromotionInput = {
  challengerVersion: 'v-bbbbbbbbbbbb',
  challengerRocAuc: 0.8,
  baselineRocAuc: 0.75,
  challengerDataTo: '2025-03-31',
};
const champion = { version: 'v-aaaaaaaaaaaa', dataTo: '2025-03-24' };

describe('promotion rule', () => {
  it.each([
    ['the first model that beats the baseline and chance', base, true],
    ['a first model that does not beat the baseline', { ...base, baselineRocAuc: 0.81 }, false],
    ['a first model no better than chance', { ...base, challengerRocAuc: 0.5, baselineRocAuc: 0.4 }, false],
    [
      'a challenger that beats the champion on the same holdout',
      { ...base, champion: { ...champion, rocAucOnHoldout: 0.79 } },
      true,
    ],
    ['a challenger that ties the champion', { ...base, champion: { ...champion, rocAucOnHoldout: 0.8 } }, false],
    ['a worse challenger', { ...base, champion: { ...champion, rocAucOnHoldout: 0.82 } }, false],
    [
      'a challenger on older data than the champion (a replay)',
      { ...base, challengerDataTo: '2025-03-01', champion: { ...champion, rocAucOnHoldout: 0.6 } },
      false,
    ],
    [
      'the champion itself',
      { ...base, champion: { ...champion, version: base.challengerVersion, rocAucOnHoldout: undefined } },
      false,
    ],
    [
      'a challenger when the champion cannot score the features, judged against the baseline',
      { ...base, champion: { ...champion, rocAucOnHoldout: undefined } },
      true,
    ],
  ])('%s', (_name, input, promote) => {
    const decision = decidePromotion(input);
    expect(decision.promote).toBe(promote);
    expect(decision.reason).not.toBe('');
  });
});
