import { describe, expect, it } from 'vitest';
import { decideTraining, trainingAsOf } from '../src/policy.js';

const champion = { version: 'v-aaaaaaaaaaaa', dataTo: '2025-03-01' };

describe('retraining policy', () => {
  it.each([
    [
      'asked explicitly, even with a fresh champion',
      { runDates: ['2025-03-02'], retrain: true },
      champion,
      true,
      'asked',
      true,
    ],
    [
      'last date of a backfill',
      { runDates: ['2025-03-30', '2025-03-31'], backfill: { from: '2025-01-01', to: '2025-03-31' } },
      undefined,
      true,
      'backfill-end',
      false,
    ],
    [
      'a backfill still running (no champion either)',
      { runDates: ['2025-02-01'], backfill: { from: '2025-01-01', to: '2025-03-31' } },
      undefined,
      false,
      undefined,
      false,
    ],
    [
      'a backfill still running with a stale champion',
      { runDates: ['2025-05-01'], backfill: { from: '2025-04-01', to: '2025-06-01' } },
      champion,
      false,
      undefined,
      false,
    ],
    [
      'a late date of a backfill built after its last date (the window closes again)',
      { runDates: ['2025-02-01'], backfill: { from: '2025-01-01', to: '2025-03-31' }, closesBackfill: true },
      champion,
      true,
      'backfill-end',
      false,
    ],
    [
      'a backfill run its producer says does not close the window, whatever its dates',
      { runDates: ['2025-03-31'], backfill: { from: '2025-01-01', to: '2025-03-31' }, closesBackfill: false },
      undefined,
      false,
      undefined,
      false,
    ],
    ['no champion yet', { runDates: ['2025-03-02'] }, undefined, true, 'no-champion', false],
    ['a champion 6 days old', { runDates: ['2025-03-07'] }, champion, false, undefined, false],
    ['a champion 7 days old', { runDates: ['2025-03-08'] }, champion, true, 'schedule', false],
    [
      'a champion older than the latest date of a batch',
      { runDates: ['2025-03-02', '2025-03-09'] },
      champion,
      true,
      'schedule',
      false,
    ],
  ] as const)('%s', (_name, event, current, train, trigger, explicit) => {
    const decision = decideTraining(event as never, current, 7);
    expect(decision.train).toBe(train);
    expect(decision.trigger).toBe(trigger);
    expect(decision.explicit).toBe(explicit);
    expect(decision.reason.length).toBeGreaterThan(10);
  });

  it("trains a window closed by a late date as of the window's last date", () => {
    const backfill = { from: '2025-01-01', to: '2025-03-31' };
    expect(trainingAsOf({ runDates: ['2025-02-01'], backfill, closesBackfill: true })).toBe('2025-03-31');
    expect(trainingAsOf({ runDates: ['2025-02-01'], backfill, closesBackfill: false })).toBe('2025-02-01');
    expect(trainingAsOf({ runDates: ['2025-02-01', '2025-02-03'] })).toBe('2025-02-03');
    const decision = decideTraining({ runDates: ['2025-02-01'], backfill, closesBackfill: true }, champion, 7);
    expect(decision.reason).toMatch(
      /closed by 1 date\(s\) of it built after its last date \(landed late, or built again\)/,
    );
  });
});
