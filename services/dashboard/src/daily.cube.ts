/**
 * A daily cube along one dimension: figures per (day, group) held as running totals over the
 * days, so the sums of any date range are two reads per group and measure, whatever its length.
 * The figures are whole numbers (counts, cents), so every sum is exact.
 */
import type { DateRange } from './params.js';

/** One cell as read from the warehouse: a day, a group and its measures. */
export interface DailyCell {
  date: string;
  group: string | null;
  values: readonly number[];
}

/** Running totals per (day, group); groups in the order answers list them. */
export interface DailyCube {
  /** Days with at least one cell, ascending (YYYY-MM-DD). */
  readonly dates: readonly string[];
  /** Group values, ordered as `String(group)` compares in the locale (nulls as "null"). */
  readonly groups: readonly (string | null)[];
  readonly measures: number;
  /** `cum[((d * G) + g) * M + m]`: measure `m` of group `g` summed over days `[0, d)`. */
  readonly cum: Float64Array;
  /** `cells[d * G + g]`: cells of group `g` over days `[0, d)` (a group is present where it has one). */
  readonly cells: Int32Array;
}

/** Groups ordered as the answers sort them: by `String(group)` in the locale, ties by code units. */
export function orderGroups(groups: Iterable<string | null>): (string | null)[] {
  return [...groups].sort((a, b) => {
    const left = String(a);
    const right = String(b);
    return left.localeCompare(right) || (left < right ? -1 : left > right ? 1 : a === null ? -1 : b === null ? 1 : 0);
  });
}

/**
 * Build a cube from cells (any order; several cells of one day and group add up). The groups are
 * ordered by {@link orderGroups} unless `order` gives them (it must hold every cell's group).
 */
export function buildDailyCube(
  cells: readonly DailyCell[],
  measures: number,
  order?: readonly (string | null)[],
): DailyCube {
  const dates = [...new Set(cells.map((cell) => cell.date))].sort();
  const groups = order ? [...order] : orderGroups(new Set(cells.map((cell) => cell.group)));
  const dayOf = new Map(dates.map((date, index) => [date, index]));
  const groupOf = new Map(groups.map((group, index) => [group, index]));
  const nGroups = groups.length;
  const cum = new Float64Array((dates.length + 1) * nGroups * measures);
  const count = new Int32Array((dates.length + 1) * nGroups);
  // Each cell's figures go to the row after its day, then the rows are added up.
  for (const cell of cells) {
    const at = (dayOf.get(cell.date)! + 1) * nGroups + groupOf.get(cell.group)!;
    count[at]! += 1;
    for (let m = 0; m < measures; m += 1) cum[at * measures + m]! += cell.values[m] ?? 0;
  }
  const row = nGroups * measures;
  for (let d = 1; d <= dates.length; d += 1) {
    for (let i = 0; i < row; i += 1) cum[d * row + i]! += cum[(d - 1) * row + i]!;
    for (let g = 0; g < nGroups; g += 1) count[d * nGroups + g]! += count[(d - 1) * nGroups + g]!;
  }
  return { dates, groups, measures, cum, cells: count };
}

/** The days `[lo, hi)` of a range: two binary searches over the cube's days. */
export function daysIn(cube: DailyCube, range: DateRange): [number, number] {
  const { dates } = cube;
  const firstAtOrAfter = (date: string) => {
    let lo = 0;
    let hi = dates.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (dates[mid]! < date) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const lo = range.from === null ? 0 : firstAtOrAfter(range.from);
  const hi = range.to === null ? dates.length : firstAtOrAfter(`${range.to}\u0000`);
  return [lo, Math.max(lo, hi)];
}

/** Measure `m` of group `g` summed over days `[lo, hi)`. */
export function sumOf(cube: DailyCube, g: number, m: number, lo: number, hi: number): number {
  const G = cube.groups.length;
  const M = cube.measures;
  return cube.cum[(hi * G + g) * M + m]! - cube.cum[(lo * G + g) * M + m]!;
}

/** Cells of group `g` over days `[lo, hi)` (zero: the group is absent there). */
export function cellsOf(cube: DailyCube, g: number, lo: number, hi: number): number {
  const G = cube.groups.length;
  return cube.cells[hi * G + g]! - cube.cells[lo * G + g]!;
}
