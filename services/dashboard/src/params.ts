/**
 * Validation of query parameters. Every endpoint names the parameters it accepts; anything else,
 * a repeated parameter, a malformed date, a backwards range or a limit above the maximum is a 400
 * with a stable code, so a typo never silently widens a query.
 */
import { DashboardErrors } from './errors.js';

/** The raw query string as fastify parses it. */
export type RawQuery = Record<string, string | string[] | undefined>;

/** The parameters of one request: known names only, each given at most once. */
export class QueryParams {
  private constructor(private readonly values: ReadonlyMap<string, string>) {}

  /** Check the names (only `allowed`, each once) and keep the values. */
  static of(raw: unknown, allowed: readonly string[]): QueryParams {
    const values = new Map<string, string>();
    for (const [name, value] of Object.entries((raw ?? {}) as RawQuery)) {
      if (!allowed.includes(name)) throw DashboardErrors.unknownParameter(name.slice(0, 60), allowed);
      if (Array.isArray(value)) throw DashboardErrors.badParameter(name, 'is given more than once');
      if (value === undefined) continue;
      values.set(name, value);
    }
    return new QueryParams(values);
  }

  /** The trimmed value, or undefined when absent or empty. */
  text(name: string): string | undefined {
    const value = this.values.get(name)?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  /** A calendar date YYYY-MM-DD (a real one: 2026-02-30 is refused). */
  date(name: string): string | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    if (!isCalendarDate(value)) throw DashboardErrors.badDate(name, value);
    return value;
  }

  /** An inclusive date range from `from` and `to`; either end may be open. */
  range(): DateRange {
    const from = this.date('from');
    const to = this.date('to');
    if (from !== undefined && to !== undefined && from > to) throw DashboardErrors.rangeBackwards(from, to);
    return { from: from ?? null, to: to ?? null };
  }

  /** A whole number between 1 and `max` (default when absent). */
  limit(options: { fallback: number; max: number; name?: string }): number {
    const name = options.name ?? 'limit';
    const raw = this.text(name);
    if (raw === undefined) return options.fallback;
    if (!/^\d{1,12}$/.test(raw))
      throw DashboardErrors.badParameter(
        name,
        `must be a whole number between 1 and ${options.max} (got "${raw.slice(0, 40)}")`,
      );
    const value = Number(raw);
    if (value < 1) throw DashboardErrors.badParameter(name, `must be at least 1 (got ${value})`);
    if (value > options.max) throw DashboardErrors.limitTooLarge(name, value, options.max);
    return value;
  }

  /** One of a fixed set of values. */
  choice<T extends string>(name: string, allowed: readonly T[], fallback?: T): T | undefined {
    const value = this.text(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value))
      throw DashboardErrors.badParameter(name, `must be one of ${allowed.join(', ')} (got "${value.slice(0, 40)}")`);
    return value as T;
  }

  /** A short identifier (run ids, model names): letters, digits and `._:-`. */
  identifier(name: string): string | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    if (!/^[\w.:-]{1,200}$/.test(value))
      throw DashboardErrors.badParameter(name, 'must be 1 to 200 letters, digits or ._:-');
    return value;
  }
}

/** An inclusive range of dates; null ends are open. */
export interface DateRange {
  from: string | null;
  to: string | null;
}

/** Whether a string is a real calendar date in YYYY-MM-DD form. */
export function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
}

/** `date` plus `days` (may be negative), as YYYY-MM-DD. */
export function addDays(date: string, days: number): string {
  const parsed = new Date(`${date}T00:00:00Z`);
  parsed.setUTCDate(parsed.getUTCDate() + days);
  return parsed.toISOString().slice(0, 10);
}

/** Whether a date falls in an inclusive range with open ends. */
export function inRange(date: string, range: DateRange): boolean {
  return (range.from === null || date >= range.from) && (range.to === null || date <= range.to);
}
