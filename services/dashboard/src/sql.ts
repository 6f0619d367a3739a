/**
 * Small helpers for building the dashboard's SQL (values always bound, never spliced). The SQL is
 * written in the subset DuckDB and BigQuery both accept (see the BigQuery warehouse adapter):
 * `cast(x as string|integer|int64|date)`, `countif`, `if`, explicit `nulls last` on ascending keys
 * (BigQuery puts nulls first there, DuckDB last), no `::`, `filter (where ...)` or lists.
 */
import type { WarehouseValue } from '@mlops/kernel';
import type { DateRange } from './params.js';

/** A fragment of SQL and its positional parameters. */
export interface SqlPart {
  sql: string;
  params: WarehouseValue[];
}

/** `column >= from and column <= to` for the ends that are set (joined with `and`), or `true`. */
export function dateBetween(column: string, range: DateRange): SqlPart {
  const parts: string[] = [];
  const params: WarehouseValue[] = [];
  if (range.from !== null) {
    parts.push(`${column} >= cast(? as date)`);
    params.push(range.from);
  }
  if (range.to !== null) {
    parts.push(`${column} <= cast(? as date)`);
    params.push(range.to);
  }
  return { sql: parts.length ? parts.join(' and ') : 'true', params };
}

/**
 * The day number of a DATE expression (days since 1970-01-01) from `extract` and arithmetic alone:
 * the two engines share no function for it (BigQuery's `unix_date`/`date_diff` are not DuckDB's).
 * The civil-calendar formula counts March-based years so leap days fall at a year's end.
 */
export function dayNumberSql(date: string): string {
  const month = `extract(month from ${date})`;
  const year = `(extract(year from ${date}) - if(${month} <= 2, 1, 0))`;
  return `cast(365 * ${year} + floor(${year} / 4) - floor(${year} / 100) + floor(${year} / 400) + floor((153 * (${month} + if(${month} <= 2, 9, -3)) + 2) / 5) + extract(day from ${date}) - 719469 as integer)`;
}

/** A number from a row value (DuckDB may hand back bigints as strings when they are huge). */
export function num(value: WarehouseValue | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : Number(value);
}

/** A string (or null) from a row value. */
export function str(value: WarehouseValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  return String(value);
}

/** Cents to dollars, exactly two decimals. */
export function usd(cents: number): number {
  return Math.round(cents) / 100;
}

/** A ratio, or null when the denominator is zero. */
export function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}
