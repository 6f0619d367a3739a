/**
 * The range of run dates the platform accepts: not after tomorrow (UTC) unless future dates are
 * allowed, and not before a configured earliest date. Checked where a run date enters: the CLI and
 * every service that reads `pipeline.started`.
 */
import { ConfigError } from '../errors.js';
import { isIsoDate } from '../events/event-validator.js';

/** What bounds a run date. */
export interface RunDateBounds {
  /** First accepted run date, YYYY-MM-DD (`MLOPS_EARLIEST_RUN_DATE`). */
  readonly earliest: string;
  /** Accept dates after tomorrow, UTC (`MLOPS_ALLOW_FUTURE_DATES`). */
  readonly allowFuture: boolean;
}

/**
 * Days of history a gold partition reads (the Dataform project's `LOOKBACK_DAYS`, a test keeps them
 * equal): building run date r can change the gold partitions r .. r + 89, so a date that lands after
 * later dates were built changes those built dates too.
 */
export const WAREHOUSE_LOOKBACK_DAYS = 90;

/** The bounds when none are configured. */
export const DEFAULT_RUN_DATE_BOUNDS: RunDateBounds = Object.freeze({ earliest: '2020-01-01', allowFuture: false });

/** The bounds the environment configures (`MLOPS_EARLIEST_RUN_DATE`, `MLOPS_ALLOW_FUTURE_DATES`). */
export function runDateBoundsFrom(env: Readonly<Record<string, string | undefined>>): RunDateBounds {
  const earliest = env.MLOPS_EARLIEST_RUN_DATE?.trim() || DEFAULT_RUN_DATE_BOUNDS.earliest;
  if (!isIsoDate(earliest))
    throw new ConfigError('MLOPS_EARLIEST_RUN_DATE', `must be a date, YYYY-MM-DD (got "${earliest}")`);
  const raw = env.MLOPS_ALLOW_FUTURE_DATES?.trim().toLowerCase() ?? '';
  let allowFuture = false;
  if (['1', 'true', 'yes'].includes(raw)) allowFuture = true;
  else if (!['', '0', 'false', 'no'].includes(raw))
    throw new ConfigError('MLOPS_ALLOW_FUTURE_DATES', `must be true or false (got "${raw}")`);
  return { earliest, allowFuture };
}

/** The UTC date after `now`, YYYY-MM-DD. */
export function utcTomorrow(now: Date): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString().slice(0, 10);
}

/**
 * Why a calendar date is not an accepted run date, or undefined when it is. `runDate` must already
 * be a calendar date (YYYY-MM-DD).
 */
export function runDateOutOfBounds(
  runDate: string,
  bounds: RunDateBounds = DEFAULT_RUN_DATE_BOUNDS,
  now: Date = new Date(),
): string | undefined {
  if (runDate < bounds.earliest)
    return `run date ${runDate} is before the earliest run date ${bounds.earliest} (MLOPS_EARLIEST_RUN_DATE)`;
  const tomorrow = utcTomorrow(now);
  if (!bounds.allowFuture && runDate > tomorrow)
    return `run date ${runDate} is after tomorrow (${tomorrow}, UTC); set MLOPS_ALLOW_FUTURE_DATES=true to run future dates`;
  return undefined;
}
