import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WAREHOUSE_LOOKBACK_DAYS } from '@mlops/kernel';
import { readyContext } from '../src/build-outcome.js';
import { isoDate, dayNumber } from '@mlops/synthetic';
import type { BronzeSource } from '@mlops/kernel';
import type { BuiltEntry, LandedEntry, LedgerState } from '../src/ledger.js';

/** A ledger whose dates are built as given, and where every date of January 2026 landed in full but `lacking`'s. */
function built(
  entries: Record<string, BuiltEntry['status']>,
  lacking: Record<string, BronzeSource> = {},
): Pick<LedgerState, 'built' | 'landed'> {
  const landed: LedgerState['landed'] = new Map();
  for (let day = dayNumber('2026-01-01'); day <= dayNumber('2026-01-31'); day++) {
    const runDate = isoDate(day);
    const sources = new Map<BronzeSource, LandedEntry>();
    for (const source of ['sales', 'clickstream', 'startups'] as const) {
      if (lacking[runDate] === source) continue;
      const loadType = source !== 'startups' ? 'full' : runDate === '2026-01-01' ? 'full' : 'delta';
      sources.set(source, { runDate, source, contentHash: 'c', rowCount: 1, loadType });
    }
    landed.set(runDate, sources);
  }
  return {
    built: new Map(Object.entries(entries).map(([runDate, status]) => [runDate, { runDate, inputsHash: 'h', status }])),
    landed,
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

  it('does not close a backfill while a date of it still misses a source, whichever date the run holds', () => {
    const window = { from: '2026-01-01', to: '2026-01-31' };
    // 2026-01-30 finished after the last date (two sales-gen threads; Pub/Sub keeps no order): the
    // run of the last date does not close the window, the run of the late date does, once.
    const late = built({}, { '2026-01-30': 'sales' });
    expect(readyContext(late, ['2026-01-31'], window).closesBackfill).toBe(false);
    expect(readyContext(built({ '2026-01-31': 'ready' }), ['2026-01-30'], window).closesBackfill).toBe(true);
    // A date lacking its clickstream, or the startups of a Friday, holds it the same way.
    expect(readyContext(built({}, { '2026-01-02': 'clickstream' }), ['2026-01-31'], window).closesBackfill).toBe(false);
    expect(readyContext(built({}, { '2026-01-09': 'startups' }), ['2026-01-31'], window).closesBackfill).toBe(false);
    // A Thursday needs no startups: lacking them holds nothing.
    expect(readyContext(built({}, { '2026-01-08': 'startups' }), ['2026-01-31'], window).closesBackfill).toBe(true);
  });
});
