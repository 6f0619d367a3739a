/**
 * Which sources a run date needs before it can be built, and which dates of a backfill window still
 * miss one. The handler waits on these while a window lands; the ready event closes a window only
 * when none of its dates is incomplete (see build-outcome.ts).
 */
import { dayNumber, isoDate, startupFullLoadDate, startupsExpectedOn } from '@mlops/synthetic';
import type { BackfillWindow, BronzeSource } from '@mlops/kernel';
import type { LedgerState } from './ledger.js';

/** The sources a date needs before it can be built. */
export function requiredSources(runDate: string, fullLoadDate: string): BronzeSource[] {
  return startupsExpectedOn(runDate, fullLoadDate) ? ['sales', 'clickstream', 'startups'] : ['sales', 'clickstream'];
}

/** The date of the startups full load the ledger has seen land, if any. */
export function fullLoadInLedger(ledger: Pick<LedgerState, 'landed'>): string | undefined {
  const dates = [...ledger.landed.values()].flatMap((sources) => {
    const startups = sources.get('startups');
    return startups?.loadType === 'full' ? [startups.runDate] : [];
  });
  return dates.sort()[0];
}

/** The sources a date still lacks (empty: complete). */
export function missingSources(
  ledger: Pick<LedgerState, 'landed'>,
  runDate: string,
  fullLoadKnown: string | undefined,
  backfill: BackfillWindow | undefined,
): BronzeSource[] {
  const sources = ledger.landed.get(runDate);
  return requiredSources(runDate, startupFullLoadDate(runDate, fullLoadKnown, backfill?.from)).filter(
    (source) => !sources?.has(source),
  );
}

/** Whether every source a date needs has landed. */
export function isComplete(
  ledger: Pick<LedgerState, 'landed'>,
  runDate: string,
  fullLoadKnown: string | undefined,
  backfill: BackfillWindow | undefined,
): boolean {
  return ledger.landed.has(runDate) && missingSources(ledger, runDate, fullLoadKnown, backfill).length === 0;
}

/** The dates of a backfill window that still miss a source. */
export function incompleteDates(
  ledger: Pick<LedgerState, 'landed'>,
  fullLoadKnown: string | undefined,
  window: BackfillWindow,
): string[] {
  const missing: string[] = [];
  for (let day = dayNumber(window.from); day <= dayNumber(window.to); day++) {
    const runDate = isoDate(day);
    if (!isComplete(ledger, runDate, fullLoadKnown, window)) missing.push(runDate);
  }
  return missing;
}
