/**
 * Days of the synthetic world: integer day numbers (days since 1970-01-01 UTC), ISO dates, and the
 * demand curve every generator shares (weekly seasonality, a slow trend, holiday peaks).
 */
import { isIsoDate } from '@mlops/kernel';

const DAY_MS = 86_400_000;

/** Day number of an ISO date (days since 1970-01-01 UTC); throws a RangeError on a non-date. */
export function dayNumber(date: string): number {
  if (!isIsoDate(date)) throw new RangeError(`"${date}" is not a calendar date (YYYY-MM-DD)`);
  return Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

/** The ISO date (YYYY-MM-DD) of a day number. */
export function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Epoch milliseconds of the start (00:00 UTC) of a day number. */
export function dayStartMs(day: number): number {
  return day * DAY_MS;
}

/** Day of the week of a day number: 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday). */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/** Whether an ISO date is a Friday (the startups' weekly delta day). */
export function isFriday(date: string): boolean {
  return weekday(dayNumber(date)) === 5;
}

/** The day number of the n-th (1-based) given weekday of a month, e.g. the 4th Thursday of November. */
function nthWeekday(year: number, month: number, wd: number, n: number): number {
  const first = Math.round(Date.UTC(year, month - 1, 1) / DAY_MS);
  return first + ((wd - weekday(first) + 7) % 7) + (n - 1) * 7;
}

// Orders per weekday relative to the weekly mean (Sunday first): weekends and Mondays are busier.
const WEEKLY = [1.12, 1.08, 0.96, 0.93, 0.95, 1.01, 1.09] as const;
const TREND_ANCHOR = 20454; // 2026-01-01
/** Yearly growth of demand and of sign-ups, relative to 2026-01-01. */
export const YEARLY_GROWTH = 0.08;

/** The slow trend: 1 at 2026-01-01, growing 8% a year, clamped to [0.5, 2]. */
export function trendFactor(day: number): number {
  return Math.min(2, Math.max(0.5, 1 + (YEARLY_GROWTH * (day - TREND_ANCHOR)) / 365));
}

/** Holiday multiplier of a day: Black Friday to Cyber Monday, December, Valentine's, summer sales. */
export function holidayFactor(day: number): number {
  const date = new Date(day * DAY_MS);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + 1;
  const dom = date.getUTCDate();
  const blackFriday = nthWeekday(year, 11, 4, 4) + 1;
  if (day === blackFriday) return 2.6;
  if (day === blackFriday + 3) return 2.1; // Cyber Monday
  if (day > blackFriday && day < blackFriday + 3) return 1.6;
  if (day >= blackFriday - 6 && day < blackFriday) return 1.15;
  if (month === 12) {
    if (dom <= 20) return 1.3;
    if (dom <= 23) return 1.1;
    if (dom <= 25) return 0.6;
    if (dom === 26) return 1.4;
    return 1.05;
  }
  if (month === 1 && dom === 1) return 0.7;
  if (month === 2 && dom >= 7 && dom <= 14) return 1.15;
  const primeDay = nthWeekday(year, 7, 2, 2);
  if (day === primeDay || day === primeDay + 1) return 1.5;
  return 1;
}

/** Demand of a day relative to an ordinary day of 2026: weekday x trend x holiday. */
export function demandFactor(day: number): number {
  return WEEKLY[weekday(day)]! * trendFactor(day) * holidayFactor(day);
}
