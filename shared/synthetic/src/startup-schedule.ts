/**
 * When startups land: one full load on the first run, then a delta on every Friday. The rule is
 * pure and shared, so the transformer knows which dates to wait for startups on without asking the
 * generator.
 */
import { isFriday } from './calendar.js';
import { bronzePrefix, partitionDateOf } from './bronze-layout.js';
import type { StartupLoadType } from './startups.generator.js';
import type { ObjectStore } from '@mlops/kernel';

/**
 * The date of the full load, given the full load already in the lake (if any) and, for a run that
 * belongs to a backfill window, the window's first date. With no full load yet, a backfill puts it
 * at the window's first date whichever date of the window is handled first, so the lake does not
 * depend on the order the events arrive in; a single run puts it at its own date.
 */
export function startupFullLoadDate(
  runDate: string,
  fullLoadInLake: string | undefined,
  backfillFrom?: string,
): string {
  if (fullLoadInLake !== undefined) return fullLoadInLake;
  return backfillFrom !== undefined && backfillFrom < runDate ? backfillFrom : runDate;
}

/** The startups load a run date gets: `full` on the full-load date, `delta` on other Fridays, else none. */
export function startupLoadOn(runDate: string, fullLoadDate: string): StartupLoadType | undefined {
  if (runDate === fullLoadDate) return 'full';
  return isFriday(runDate) ? 'delta' : undefined;
}

/** Whether startups land for a run date (see {@link startupLoadOn}). */
export function startupsExpectedOn(runDate: string, fullLoadDate: string): boolean {
  return startupLoadOn(runDate, fullLoadDate) !== undefined;
}

async function firstLine(objects: Pick<ObjectStore, 'stream'>, key: string): Promise<string> {
  const stream = objects.stream(key);
  let text = '';
  try {
    for await (const chunk of stream) {
      text += Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      const end = text.indexOf('\n');
      if (end >= 0) return text.slice(0, end);
      if (text.length > 1_000_000) break;
    }
    return text;
  } finally {
    stream.destroy();
  }
}

/**
 * The date of the full startups load in the lake, or undefined when there is none: the earliest
 * partition of `bronze/startups/` whose first row says `"load_type":"full"`.
 */
export async function findStartupFullLoad(objects: Pick<ObjectStore, 'list' | 'stream'>): Promise<string | undefined> {
  const firstKeyByDate = new Map<string, string>();
  for (const meta of await objects.list('bronze/startups/dt=')) {
    const date = partitionDateOf(meta.key);
    if (date !== undefined && !firstKeyByDate.has(date) && meta.key.startsWith(bronzePrefix('startups', date)))
      firstKeyByDate.set(date, meta.key);
  }
  for (const date of [...firstKeyByDate.keys()].sort()) {
    const line = await firstLine(objects, firstKeyByDate.get(date)!);
    try {
      if ((JSON.parse(line) as { load_type?: unknown }).load_type === 'full') return date;
    } catch {
      // Not a row we wrote: it says nothing about load types.
    }
  }
  return undefined;
}
