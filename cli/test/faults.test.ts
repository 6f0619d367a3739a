/**
 * The fault-injection suite on a short schedule (`npm run test:faults` runs 20 days): a 4-day
 * backfill on the multi-process stack with services SIGKILLed, topics delivered again out of order,
 * a corrupted bronze file found in a window of two dates then repaired and redriven, a full disk for
 * one stage, and a reader checking every state it saw is a whole build; the gold tables must equal
 * a clean run's. The seed is fixed, so a failure replays with `npm run test:faults -- --seed 17 --days 4`.
 */
import { describe, expect, it } from 'vitest';
import { runFaultSuite } from '../../scripts/faults/suite.js';

describe('the fault-injection suite', () => {
  it('ends a faulted run with the gold tables of a clean run, each fault class holding', async () => {
    const lines: string[] = [];
    const result = await runFaultSuite({
      seed: 17,
      days: 4,
      from: '2026-02-01',
      settings: { MLOPS_SCALE: '0.05', MLOPS_CHURN_HORIZON_DAYS: '3', MLOPS_BUS_LEASE_MS: '3000' },
      print: (line) => lines.push(line),
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
    expect(lines.at(-1)).toBe('checksums equal to the clean run: yes');
  }, 900_000);
});
