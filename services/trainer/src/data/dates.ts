/** Calendar dates (YYYY-MM-DD, UTC) as the pipeline uses them. */
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const DAY_MS = 86_400_000;

/** Whether a string is a real calendar date in YYYY-MM-DD form. */
export function isDate(value: unknown): value is string {
  return (
    typeof value === 'string' && DATE.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)
  );
}

/** Days since 1970-01-01. */
export function epochDay(date: string): number {
  return Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

/** The date `days` after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Every date from `from` to `to`, both included. */
export function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let day = epochDay(from); day <= epochDay(to); day++)
    out.push(new Date(day * DAY_MS).toISOString().slice(0, 10));
  return out;
}
