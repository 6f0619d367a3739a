/** The options of `npm run rehearse:gcp`, parsed from `(argv, env)` so tests pass their own. */
import { isIsoDate } from '@mlops/kernel';

/** What the rehearsal runs. */
export interface RehearsalOptions {
  from: string;
  to: string;
  /** Keep the scratch folder (logs, state of both runs) instead of deleting it. */
  keep: boolean;
  /** `mlops backfill --seed`/`--scale` of both runs (unset: the services' configuration). */
  seed?: number;
  scale?: number;
  /** Longest wait for the gcp run's ledger to close every date, seconds. */
  timeoutS: number;
  /** Skip the poison message. */
  poison: boolean;
}

export const USAGE =
  'usage: npm run rehearse:gcp -- --from YYYY-MM-DD --to YYYY-MM-DD [--seed N] [--scale X] [--timeout S] [--keep] [--no-poison]';

/** Parse the arguments; a bad one throws an error naming it. */
export function parseRehearsalOptions(argv: readonly string[]): RehearsalOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (arg === '--keep' || arg === '--no-poison') flags.add(arg);
    else if (['--from', '--to', '--seed', '--scale', '--timeout'].includes(arg)) {
      const value = argv[index + 1];
      if (value === undefined || value.startsWith('--')) throw new Error(`${arg} needs a value\n${USAGE}`);
      values.set(arg, value);
      index += 1;
    } else throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  const date = (name: string) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`${name} is required\n${USAGE}`);
    if (!isIsoDate(value)) throw new Error(`${name} must be a date YYYY-MM-DD (got "${value}")`);
    return value;
  };
  const from = date('--from');
  const to = date('--to');
  if (to < from) throw new Error(`--to (${to}) is before --from (${from})`);
  const number = (name: string, check: (value: number) => boolean, what: string) => {
    const raw = values.get(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || !check(value)) throw new Error(`${name} must be ${what} (got "${raw}")`);
    return value;
  };
  const seed = number('--seed', (value) => Number.isInteger(value) && value >= 0, 'a whole number');
  const scale = number('--scale', (value) => value > 0 && value <= 1000, 'a number above 0');
  const timeoutS = number('--timeout', (value) => value > 0, 'a number of seconds') ?? 3600;
  return {
    from,
    to,
    keep: flags.has('--keep'),
    ...(seed !== undefined ? { seed } : {}),
    ...(scale !== undefined ? { scale } : {}),
    timeoutS,
    poison: !flags.has('--no-poison'),
  };
}
