/** Small helpers for building the dashboard's SQL (values always bound, never spliced). */
import type { WarehouseValue } from '@mlops/shared';
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
    parts.push(`${column} >= ?::date`);
    params.push(range.from);
  }
  if (range.to !== null) {
    parts.push(`${column} <= ?::date`);
    params.push(range.to);
  }
  return { sql: parts.length ? parts.join(' and ') : 'true', params };
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
