import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WAREHOUSE_LOOKBACK_DAYS } from '@mlops/kernel';
import { readyContext } from '../src/build-outcome.js';
import type { BuiltEntry } from '../src/ledger.js';

function built(entries: Record<string, BuiltEntry['status']>): {
  built: Map<string, BuiltEntry>;
} {
  return {
    built: new Map(Object.entries(entries).map(([runDate, status]) => [runDate, { runDate, inputsHash: 'h', status }])),
  };
}

describe('the ready event context from the ledger', () => {
  it('uses the Dataform project lookback', () => {
    const constants = readFileSync(new URL('../../../dataform/includes/constants.js', import.meta.url), 'utf8');
    expect(constants).toMatch(new RegExp(`const LOOKBACK_DAYS = ${WAREHOUSE_LOOKBACK_DAYS};`));
  });

  it('names the later built dates within the lookback of a run date, and no others', () => {
    const ledger = built({
      '2026-01-01': 'ready', // before the run
      '2026-01-11': 'ready', // one day after
      '2026-04-09': 'ready', // 89 days after: the lookback's last day
      '2026-04-10': 'ready', // 90 days after: outside
      '2026-02-01': 'failed', // its assertions failed: the trainer leaves it out anyway
      '2026-02-02': 'pending',
    });
    expect(readyContext(ledger, ['2026-01-10'], undefined)).toEqual({
      affectedDates: ['2026-01-11', '2026-04-09'],
    });
    // A date in the run itself is not "affected"; a second run date extends the range.
    expect(readyContext(ledger, ['2026-01-10', '2026-01-11', '2026-01-20'], undefined).affectedDates).toEqual([
      '2026-04-09',
      '2026-04-10',
    ]);
    // Nothing built after the run: an in-order run affects nothing.
    expect(readyContext(ledger, ['2026-05-01'], undefined).affectedDates).toEqual([]);
  });

  it('closes a backfill when its last date is in the run or built before it', () => {
    const window = { from: '2026-01-01', to: '2026-01-31' };
    expect(readyContext(built({}), ['2026-01-30', '2026-01-31'], window).closesBackfill).toBe(true);
    expect(readyContext(built({}), ['2026-01-01'], window).closesBackfill).toBe(false);
    expect(readyContext(built({ '2026-01-31': 'ready' }), ['2026-01-05'], window).closesBackfill).toBe(true);
    // The last date failed its assertions or is still being built (gcp): not closed.
    expect(readyContext(built({ '2026-01-31': 'failed' }), ['2026-01-05'], window).closesBackfill).toBe(false);
    expect(readyContext(built({ '2026-01-31': 'pending' }), ['2026-01-05'], window).closesBackfill).toBe(false);
  });
});
