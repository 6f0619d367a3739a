import { describe, expect, it } from 'vitest';
import { addDays, datesBetween, epochDay } from '../src/data/dates.js';
import { planSnapshots, type SnapshotPlanInput } from '../src/data/snapshot.plan.js';

const FIRST = '2025-01-01';
const SAMPLING = {
  everyDays: 7,
  warmupDays: 90,
  minWarmupDays: 14,
  minSnapshots: 4,
  maxSnapshots: 26,
  holdoutFraction: 0.25,
  embargoDays: 30,
};

function input(days: number, overrides: Partial<SnapshotPlanInput> = {}): SnapshotPlanInput {
  const dates = datesBetween(FIRST, addDays(FIRST, days - 1));
  return {
    asOf: dates.at(-1)!,
    featureDates: dates,
    salesDates: new Set(dates),
    horizonDays: 30,
    lookbackDays: 90,
    excludedDates: [],
    sampling: SAMPLING,
    ...overrides,
  };
}

describe('snapshot plan', () => {
  it('labels only snapshots whose whole horizon is in the warehouse', () => {
    const plan = planSnapshots(input(120));
    const all = [...plan.train, ...plan.holdout];
    expect(all.every((date) => addDays(date, 30) <= addDays(FIRST, 119))).toBe(true);
    expect(all.at(-1)! > addDays(FIRST, 119 - 30 - 7)).toBe(true);
  });

  it('splits by time: every holdout snapshot is later than every train snapshot', () => {
    const plan = planSnapshots(input(120));
    expect(plan.holdout.length).toBeGreaterThanOrEqual(1);
    expect(plan.train.at(-1)! < plan.holdout[0]!).toBe(true);
    expect(plan.holdout.length).toBe(Math.round((plan.train.length + plan.embargoed + plan.holdout.length) * 0.25));
    expect(plan.embargoed).toBeGreaterThan(0);
  });

  it('samples a weekly calendar grid, so consecutive days share their snapshots', () => {
    const today = planSnapshots(input(120));
    const tomorrow = planSnapshots(input(121));
    expect(today.step).toBe(7);
    for (const date of [...today.train, ...today.holdout]) expect(epochDay(date) % 7).toBe(0);
    expect(tomorrow.train.slice(0, 3)).toEqual(today.train.slice(0, 3));
  });

  it('makes the grid finer when the weekly one holds too few snapshots', () => {
    const plan = planSnapshots(
      input(45, {
        sampling: { ...SAMPLING, warmupDays: 0, minWarmupDays: 0, embargoDays: 0 },
      }),
    );
    expect(plan.step).toBeLessThan(7);
    expect(plan.train.length + plan.holdout.length).toBeGreaterThanOrEqual(4);
  });

  it('skips a snapshot whose label window misses a run date', () => {
    const gap = addDays(FIRST, 60);
    const dates = datesBetween(FIRST, addDays(FIRST, 119)).filter((date) => date !== gap);
    const plan = planSnapshots(
      input(120, {
        salesDates: new Set(dates),
        sampling: { ...SAMPLING, everyDays: 1, warmupDays: 0, minWarmupDays: 0, minSnapshots: 2, maxSnapshots: 1000 },
      }),
    );
    for (const date of [...plan.train, ...plan.holdout]) expect(date >= gap || addDays(date, 30) < gap).toBe(true);
  });

  it('leaves out snapshots that read a run date an upstream stage failed for', () => {
    const failed = addDays(FIRST, 50);
    const plan = planSnapshots(
      input(120, {
        excludedDates: [failed],
        sampling: {
          ...SAMPLING,
          everyDays: 1,
          warmupDays: 0,
          minWarmupDays: 0,
          minSnapshots: 2,
          maxSnapshots: 1000,
          embargoDays: 0,
        },
      }),
    );
    expect(plan.tainted).toBeGreaterThan(0);
    for (const date of [...plan.train, ...plan.holdout]) {
      // Features read [d - 89, d], labels (d, d + 30]: neither may include the failed date.
      expect(epochDay(failed) < epochDay(date) - 89 || epochDay(failed) > epochDay(date) + 30).toBe(true);
    }
  });

  it('keeps at most maxSnapshots, the latest', () => {
    const plan = planSnapshots(
      input(400, {
        sampling: { ...SAMPLING, maxSnapshots: 10, holdoutFraction: 0.2 },
      }),
    );
    expect(plan.train.length + plan.holdout.length).toBe(10);
    expect(plan.holdout.length).toBe(2);
    expect(plan.holdout.at(-1)! > addDays(FIRST, 400 - 30 - 8)).toBe(true);
  });

  it('embargoes the horizon: every train label window ends by the first holdout snapshot', () => {
    for (const days of [120, 180, 400]) {
      const plan = planSnapshots(input(days));
      expect(plan.embargoDays).toBe(30);
      expect(epochDay(plan.train.at(-1)!) + 30).toBeLessThanOrEqual(epochDay(plan.holdout[0]!));
    }
    // Without an embargo the same history trains on snapshots right up to the holdout.
    const open = planSnapshots(input(120, { sampling: { ...SAMPLING, embargoDays: 0 } }));
    expect(epochDay(open.holdout[0]!) - epochDay(open.train.at(-1)!)).toBe(7);
    expect(open.embargoed).toBe(0);
  });

  it('warms up for the longest feature window when the history allows it', () => {
    const plan = planSnapshots(input(400));
    expect(plan.warmupDays).toBe(90);
    expect(plan.train[0]! >= addDays(FIRST, 90)).toBe(true);
    expect(plan.train.length).toBeGreaterThanOrEqual(4);
  });

  it('shortens the warm-up, not below its floor, until the train part has enough snapshots (120 days: npm start)', () => {
    const plan = planSnapshots(input(120));
    expect(plan.warmupDays).toBeLessThan(90);
    expect(plan.warmupDays).toBeGreaterThanOrEqual(14);
    expect(plan.train[0]! >= addDays(FIRST, plan.warmupDays)).toBe(true);
    expect(plan.train.length).toBeGreaterThanOrEqual(4);
    expect(plan.step).toBe(7);
    // The longest warm-up that still leaves four train snapshots: one more day would leave three.
    const longer = planSnapshots(input(120, { sampling: { ...SAMPLING, minWarmupDays: plan.warmupDays + 1 } }));
    expect(longer.train.length < 4 || longer.step < 7).toBe(true);
  });

  it.each([
    ['history shorter than the horizon', input(25)],
    ['a single labelled snapshot', input(31)],
    ['no room for an embargo between train and holdout', input(60)],
    ['every snapshot tainted', input(60, { excludedDates: datesBetween(FIRST, addDays(FIRST, 59)) })],
  ])('refuses %s with TRAINER.INSUFFICIENT_HISTORY', (_name, request) => {
    expect(() => planSnapshots(request)).toThrow(
      expect.objectContaining({ code: 'TRAINER.INSUFFICIENT_HISTORY', errorClass: 'permanent' }),
    );
  });
});
