/**
 * Questions about any date range, answered from the in-memory sales index (sales.index.ts). Each
 * picks the cheaper of the index's two layouts for the range at hand: a short range reads its own
 * days; a long one reads per customer, skipping customers who cannot make the list.
 */
import type { DateRange } from './params.js';
import { dateOf, dayNumber, type SalesIndex } from './sales.index.js';

/** One customer's figures in a range. */
export interface CustomerRangeFigures {
  position: number;
  orders: number;
  revenueCents: number;
  /** The last day with an order in the range (YYYY-MM-DD). */
  lastOrderDate: string;
}

/** The day numbers `[from, to]` of a range, clamped to the index's days (empty: from > to). */
function dayBounds(index: SalesIndex, range: DateRange): [number, number] {
  if (index.firstDay === null) return [0, -1];
  const from = range.from === null ? 0 : Math.max(0, dayNumber(index.firstDay, range.from));
  const to = range.to === null ? index.nDays - 1 : Math.min(index.nDays - 1, dayNumber(index.firstDay, range.to));
  return [from, to];
}

/**
 * The rows `[lo, hi)` of customer `c` within days `[fromDay, toDay]`, written to `bounds`; false
 * when the customer has no order in the range. Kept small and monomorphic: it runs once per
 * customer per request.
 */
function rowsInRange(
  offsets: Int32Array,
  day: Int32Array,
  c: number,
  fromDay: number,
  toDay: number,
  bounds: Int32Array,
): boolean {
  const start = offsets[c]!;
  const end = offsets[c + 1]!;
  if (start === end) return false;
  const first = day[start]!;
  const last = day[end - 1]!;
  if (first > toDay || last < fromDay) return false;
  let lo = start;
  if (first < fromDay) {
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (day[mid]! < fromDay) lo = mid + 1;
      else hi = mid;
    }
  }
  let hi = end;
  if (last > toDay) {
    let low = lo;
    while (low < hi) {
      const mid = (low + hi) >>> 1;
      if (day[mid]! <= toDay) low = mid + 1;
      else hi = mid;
    }
  }
  bounds[0] = lo;
  bounds[1] = hi;
  return hi > lo;
}

/** A running total's sum over rows `[lo, hi)` of a customer whose rows start at `start`. */
function sumOf(values: Float64Array | Int32Array, start: number, lo: number, hi: number): number {
  return values[hi - 1]! - (lo > start ? values[lo - 1]! : 0);
}

function figures(index: SalesIndex, position: number, lo: number, hi: number): CustomerRangeFigures {
  const start = index.offsets[position]!;
  return {
    position,
    orders: sumOf(index.cumOrders, start, lo, hi),
    revenueCents: sumOf(index.cumRevenueCents, start, lo, hi),
    lastOrderDate: dateOf(index.firstDay!, index.day[hi - 1]!),
  };
}

/**
 * Distinct customers (ids not null) with at least one order in the range: per day of the range,
 * its rows whose customer's previous order was before the range (each customer's first row in it).
 */
export function activeCustomers(index: SalesIndex, range: DateRange): number {
  const [fromDay, toDay] = dayBounds(index, range);
  if (fromDay > toDay) return 0;
  const { dayStart, dayPrevious } = index;
  let count = 0;
  for (let d = fromDay; d <= toDay; d += 1) {
    const start = dayStart[d]!;
    let lo = start;
    let hi = dayStart[d + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (dayPrevious[mid]! < fromDay) lo = mid + 1;
      else hi = mid;
    }
    count += lo - start;
  }
  return count;
}

/** A top list kept sorted best first: revenue descending, then position ascending. */
class TopList {
  readonly positions: number[] = [];
  readonly revenues: number[] = [];
  constructor(readonly limit: number) {}

  get full(): boolean {
    return this.positions.length === this.limit;
  }

  /** The revenue a newcomer must reach (at least) to enter. */
  get floor(): number {
    return this.full ? this.revenues[this.limit - 1]! : -Infinity;
  }

  offer(position: number, revenue: number): void {
    const { positions, revenues } = this;
    const last = positions.length - 1;
    if (this.full && (revenue < revenues[last]! || (revenue === revenues[last]! && position > positions[last]!)))
      return;
    let at = positions.length;
    while (at > 0 && (revenues[at - 1]! < revenue || (revenues[at - 1] === revenue && positions[at - 1]! > position)))
      at -= 1;
    positions.splice(at, 0, position);
    revenues.splice(at, 0, revenue);
    if (positions.length > this.limit) {
      positions.pop();
      revenues.pop();
    }
  }
}

/** Per index, sums per customer reused by every request (requests run one at a time on the event loop). */
const scratches = new WeakMap<SalesIndex, { revenue: Float64Array; stamp: Int32Array; queries: number }>();

/** The scratch sums of an index and a new query number: a customer's sum counts only where its stamp is that number. */
function scratchOf(index: SalesIndex): { revenue: Float64Array; stamp: Int32Array; query: number } {
  let scratch = scratches.get(index);
  if (!scratch)
    scratches.set(
      index,
      (scratch = {
        revenue: new Float64Array(index.customerIds.length),
        stamp: new Int32Array(index.customerIds.length),
        queries: 0,
      }),
    );
  if (scratch.queries === 0x7fffffff) {
    scratch.stamp.fill(0);
    scratch.queries = 0;
  }
  scratch.queries += 1;
  return { revenue: scratch.revenue, stamp: scratch.stamp, query: scratch.queries };
}

/** Above this many (customer, day) rows in a range (about 15 days at scale 10), top customers are read per customer: both ways take about 1.5 ms there. */
export const BY_DAY_MAX_ROWS = 120_000;

/**
 * The `limit` customers with the most completed revenue in the range (ties: the smaller id),
 * among those with any order in it.
 */
export function topCustomersInRange(
  index: SalesIndex,
  range: DateRange,
  limit: number,
  byDayMaxRows = BY_DAY_MAX_ROWS,
): CustomerRangeFigures[] {
  const [fromDay, toDay] = dayBounds(index, range);
  if (limit <= 0 || fromDay > toDay) return [];
  let top = new TopList(limit);
  const rows = index.dayStart[toDay + 1]! - index.dayStart[fromDay]!;
  if (rows <= byDayMaxRows) {
    // Short range: add up its own days, then read the sums in customer order.
    const { dayStart, dayCustomer, dayRevenueCents } = index;
    const { revenue, stamp, query } = scratchOf(index);
    for (let row = dayStart[fromDay]!, end = dayStart[toDay + 1]!; row < end; row += 1) {
      const c = dayCustomer[row]!;
      if (stamp[c] !== query) {
        stamp[c] = query;
        revenue[c] = dayRevenueCents[row]!;
      } else revenue[c]! += dayRevenueCents[row]!;
    }
    for (let c = 0; c < stamp.length; c += 1) if (stamp[c] === query) top.offer(c, revenue[c]!);
  } else if (!topByBlocks(index, fromDay, toDay, top)) {
    top = new TopList(limit);
    topByTotal(index, fromDay, toDay, top);
  }
  const bounds = new Int32Array(2);
  return top.positions.map((position) => {
    rowsInRange(index.offsets, index.day, position, fromDay, toDay, bounds);
    return figures(index, position, bounds[0]!, bounds[1]!);
  });
}

/**
 * A long range's top list from the blocks' lists read in step (the threshold algorithm): a
 * customer's revenue in the range is at most its revenue in the blocks the range touches, so once
 * the sum of the next entries of every list is below the list's floor, nobody unread can enter.
 * False when that cannot settle the list (fewer customers with revenue than the limit): the caller
 * then reads every customer.
 */
function topByBlocks(index: SalesIndex, fromDay: number, toDay: number, top: TopList): boolean {
  const { offsets, day, cumRevenueCents, byTotalRevenue, blockRevenueCents, bitWords, blockStart, blockRanks } = index;
  const firstBlock = fromDay >>> 5;
  const nBlocks = (toDay >>> 5) - firstBlock + 1;
  const next = new Int32Array(nBlocks);
  const end = new Int32Array(nBlocks);
  for (let j = 0; j < nBlocks; j += 1) {
    next[j] = blockStart[firstBlock + j]!;
    end[j] = blockStart[firstBlock + j + 1]!;
  }
  const { stamp, query } = scratchOf(index);
  const bounds = new Int32Array(2);
  for (;;) {
    let read = false;
    for (let j = 0; j < nBlocks; j += 1) {
      if (next[j]! >= end[j]!) continue;
      read = true;
      const rank = blockRanks[next[j]!++]!;
      const c = byTotalRevenue[rank]!;
      if (stamp[c] === query) continue;
      stamp[c] = query;
      let bound = 0;
      for (let b = 0, base = rank * bitWords + firstBlock; b < nBlocks; b += 1) bound += blockRevenueCents[base + b]!;
      if (bound < top.floor) continue;
      if (rowsInRange(offsets, day, c, fromDay, toDay, bounds))
        top.offer(c, sumOf(cumRevenueCents, offsets[c]!, bounds[0]!, bounds[1]!));
    }
    if (!read) break;
    let threshold = 0;
    for (let j = 0; j < nBlocks; j += 1)
      if (next[j]! < end[j]!) threshold += blockRevenueCents[blockRanks[next[j]!]! * bitWords + firstBlock + j]!;
    if (threshold < top.floor) return true;
  }
  return top.full && top.floor > 0;
}

/**
 * A long range's top list from every customer by total revenue, highest first, until no one left
 * can reach the list; a customer whose 32-day blocks over the range cannot reach it is skipped
 * without a search.
 */
function topByTotal(index: SalesIndex, fromDay: number, toDay: number, top: TopList): void {
  const { offsets, day, cumRevenueCents, totalRevenueCents, byTotalRevenue, blockRevenueCents, bitWords } = index;
  const firstBlock = fromDay >>> 5;
  const lastBlock = toDay >>> 5;
  const bounds = new Int32Array(2);
  for (let rank = 0, base = 0; rank < byTotalRevenue.length; rank += 1, base += bitWords) {
    const c = byTotalRevenue[rank]!;
    const floor = top.floor;
    if (totalRevenueCents[c]! < floor) break;
    let bound = 0;
    for (let block = firstBlock; block <= lastBlock; block += 1) bound += blockRevenueCents[base + block]!;
    if (bound < floor) continue;
    if (rowsInRange(offsets, day, c, fromDay, toDay, bounds))
      top.offer(c, sumOf(cumRevenueCents, offsets[c]!, bounds[0]!, bounds[1]!));
  }
}

/** The figures of the given customers (ids) in the range; customers without orders in it are absent. */
export function customersInRange(
  index: SalesIndex,
  range: DateRange,
  customerIds: readonly string[],
): Map<string, CustomerRangeFigures> {
  const [fromDay, toDay] = dayBounds(index, range);
  const bounds = new Int32Array(2);
  const out = new Map<string, CustomerRangeFigures>();
  for (const id of customerIds) {
    const position = index.positionOf.get(id);
    if (position !== undefined && rowsInRange(index.offsets, index.day, position, fromDay, toDay, bounds))
      out.set(id, figures(index, position, bounds[0]!, bounds[1]!));
  }
  return out;
}

/** Completed revenue in cents of the given customer positions in the range. */
export function revenueOf(index: SalesIndex, range: DateRange, positions: Iterable<number>): number {
  const [fromDay, toDay] = dayBounds(index, range);
  const bounds = new Int32Array(2);
  let cents = 0;
  for (const c of positions) {
    if (rowsInRange(index.offsets, index.day, c, fromDay, toDay, bounds))
      cents += sumOf(index.cumRevenueCents, index.offsets[c]!, bounds[0]!, bounds[1]!);
  }
  return cents;
}
