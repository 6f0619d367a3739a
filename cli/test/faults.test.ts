/**
 * The fault-injection suite on a short schedule (`npm run test:faults` runs 20 days): a 4-day
 * backfill on the multi-process stack with services SIGKILLed, topics delivered again out of order,
 * a corrupted bronze file of one of two dates then repaired and redriven, a full disk for
 * one stage, and a reader checking every state it saw is a whole build; the gold tables must equal
 * a clean run's. The seed is fixed, so a failure replays with
 * `npm run test:faults -- --seed 7 --days 4 --scale 0.05 --horizon 3`.
 */
import { describe, expect, it } from 'vitest';
import { describeSchedule, drawSchedule } from '../../scripts/faults/schedule.js';
import { runFaultSuite } from '../../scripts/faults/suite.js';

describe('the fault schedule', () => {
  it('is the same for the same seed and differs between seeds', () => {
    const lines = (seed: number) => describeSchedule(drawSchedule(seed, '2026-02-01', 20));
    expect(lines(42)).toEqual(lines(42));
    const drawn = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => lines(seed).slice(1).join('\n')));
    expect(drawn.size).toBeGreaterThan(4);
  });

  it('always kills the transformer mid-build, and corrupts the second daily date and fills the third', () => {
    for (const seed of [1, 2, 3, 99, 12345]) {
      const schedule = drawSchedule(seed, '2026-02-01', 20);
      expect(schedule.backfill).toEqual({ from: '2026-02-01', to: '2026-02-20' });
      expect(schedule.dailyDates).toEqual(['2026-02-21', '2026-02-22', '2026-02-23']);
      expect(schedule.kills[0]!.service).toBe('transformer');
      expect(new Set(schedule.kills.map((kill) => kill.service)).size).toBe(schedule.kills.length);
      expect(schedule.kills.length).toBeGreaterThanOrEqual(3);
      expect(schedule.replays.length).toBeGreaterThanOrEqual(2);
      expect(schedule.corrupt.runDate).toBe('2026-02-22');
      expect(schedule.diskFull.runDate).toBe('2026-02-23');
    }
  });
});

describe('the fault-injection suite', () => {
  it('ends a faulted run with the gold tables of a clean run, each fault class holding', async () => {
    const lines: string[] = [];
    const result = await runFaultSuite({
      seed: 7,
      days: 4,
      from: '2026-02-01',
      settings: { MLOPS_SCALE: '0.05', MLOPS_CHURN_HORIZON_DAYS: '3', MLOPS_BUS_LEASE_MS: '3000' },
      print: (line) => {
        lines.push(line);
        console.log(line);
      },
    });
    const report = lines.join('\n');
    expect(result.verdicts.map((entry) => entry.line.split(':')[0])).toEqual([
      'kills',
      'duplicates',
      'bad file',
      'disk full',
      'reads while killing',
      'dead letters left',
    ]);
    for (const entry of result.verdicts) expect(entry.ok, `${entry.line}\n\n${report}`).toBe(true);
    expect(result.clean['warehouse.fct_sales'], report).toMatch(/^[1-9]/);
    expect(result.faulted, report).toEqual(result.clean);
    expect(lines).toContain('checksums equal to the clean run: yes');
  }, 900_000);
});
