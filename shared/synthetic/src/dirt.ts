/**
 * Deliberately dirty records. A {@link DirtPlan} marks records dirty at an exact share, spread
 * evenly over a stream (so a generator can stream without knowing the total first), and cycles
 * through the kinds so every kind appears once the stream has `kinds.length / share` records.
 */
import type { Random } from './prng.js';

/** Dirty kinds shared by the generators. */
export type DirtyKind =
  /** A timestamp as epoch milliseconds (a JSON number) instead of an ISO string. */
  | 'epoch_millis'
  /** A timestamp as `DD/MM/YYYY HH:mm`. */
  | 'day_first'
  /** An ISO timestamp without a zone (`2026-01-05T14:23:11`). */
  | 'missing_zone'
  /** A required field set to null. */
  | 'null_required'
  /** A negative amount (money or a duration). */
  | 'negative_amount'
  /** The same record a second time with the same id. */
  | 'duplicate_id';

/** Every dirty kind, in the order plans cycle through them. */
export const DIRTY_KINDS: readonly DirtyKind[] = [
  'epoch_millis',
  'day_first',
  'missing_zone',
  'null_required',
  'negative_amount',
  'duplicate_id',
];

/** Decides, record by record, which records are dirty and how. */
export class DirtPlan {
  private accumulator: number;
  private next = 0;
  private readonly offset: number;
  /** How many records were marked, per kind. */
  readonly counts: Record<DirtyKind, number>;

  /** `share` in [0, 1]; `random` places the first dirty record and the first kind. */
  constructor(
    private readonly share: number,
    random: Random,
    private readonly kinds: readonly DirtyKind[] = DIRTY_KINDS,
  ) {
    if (!(share >= 0 && share <= 1)) throw new RangeError(`dirty share must be in [0, 1] (got ${share})`);
    if (kinds.length === 0) throw new RangeError('a dirt plan needs at least one kind');
    this.accumulator = random.next();
    this.offset = random.int(0, kinds.length - 1);
    this.counts = Object.fromEntries(DIRTY_KINDS.map((kind) => [kind, 0])) as Record<DirtyKind, number>;
  }

  /** The dirty kind of the next record, or undefined when it stays clean. */
  decide(): DirtyKind | undefined {
    this.accumulator += this.share;
    if (this.accumulator < 1) return undefined;
    this.accumulator -= 1;
    const kind = this.kinds[(this.offset + this.next) % this.kinds.length]!;
    this.next += 1;
    this.counts[kind] += 1;
    return kind;
  }

  /** How many records were marked dirty so far. */
  get total(): number {
    return this.next;
  }
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** A timestamp written as `DD/MM/YYYY HH:mm` (UTC), as some point-of-sale exports do. */
export function dayFirstTimestamp(epochMs: number): string {
  const date = new Date(epochMs);
  return `${pad(date.getUTCDate())}/${pad(date.getUTCMonth() + 1)}/${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}`;
}

/** An ISO timestamp without its zone (`YYYY-MM-DDTHH:mm:ss`), meant as UTC but not saying so. */
export function zonelessTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19);
}

/** A timestamp in the dirty format of a kind, or the clean ISO string for the other kinds. */
export function dirtyTimestamp(epochMs: number, kind: DirtyKind | undefined): string | number {
  if (kind === 'epoch_millis') return epochMs;
  if (kind === 'day_first') return dayFirstTimestamp(epochMs);
  if (kind === 'missing_zone') return zonelessTimestamp(epochMs);
  return new Date(epochMs).toISOString();
}
