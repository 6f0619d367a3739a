import { describe, expect, it } from 'vitest';
import { DIRTY_KINDS, DirtPlan, Random, dayFirstTimestamp, dirtyTimestamp, zonelessTimestamp } from '@mlops/synthetic';

describe('dirt plans', () => {
  it.each([
    [0, 1000, 0],
    [0.01, 1000, 10],
    [0.05, 2000, 100],
    [0.5, 10, 5],
  ])('marks a share of %f of %i records: %i dirty, each kind in turn', (share, records, expected) => {
    const plan = new DirtPlan(share, Random.of(3));
    let dirty = 0;
    for (let i = 0; i < records; i += 1) if (plan.decide()) dirty += 1;
    expect(Math.abs(dirty - expected)).toBeLessThanOrEqual(1);
    expect(plan.total).toBe(dirty);
    const counts = Object.values(plan.counts);
    if (dirty >= DIRTY_KINDS.length) {
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  it('refuses a share outside [0, 1]', () => {
    expect(() => new DirtPlan(1.5, Random.of(1))).toThrow(RangeError);
    expect(() => new DirtPlan(-0.1, Random.of(1))).toThrow(RangeError);
  });

  it('writes the dirty timestamp formats', () => {
    const ms = Date.parse('2026-03-05T07:08:09.123Z');
    expect(dayFirstTimestamp(ms)).toBe('05/03/2026 07:08');
    expect(zonelessTimestamp(ms)).toBe('2026-03-05T07:08:09');
    expect(dirtyTimestamp(ms, 'epoch_millis')).toBe(ms);
    expect(dirtyTimestamp(ms, undefined)).toBe('2026-03-05T07:08:09.123Z');
    expect(dirtyTimestamp(ms, 'null_required')).toBe('2026-03-05T07:08:09.123Z');
  });
});
