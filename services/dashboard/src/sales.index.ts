/**
 * Every customer's sales by day, held in memory once per warehouse version, so that questions
 * about any date range (top customers, active customers, a customer's revenue in the 90 days
 * before a snapshot) are answered without reading the warehouse again (sales.ranges.ts answers them).
 * The figures are the gold view `bi_customer_sales_daily` as it is (orders and completed net revenue
 * per customer and order day): the metrics are defined there, in SQL, and only added up here.
 *
 * The (customer, day) totals are held twice, because the two ways of reading them are fast for
 * different ranges:
 * - by customer (compressed sparse rows): customers in the order their ids sort (nulls
 *   last), each with its days ascending and running totals of orders and of completed net revenue
 *   in whole cents; a customer's figures for any range are two binary searches and a subtraction;
 * - by day: the same totals grouped by day, so a short range reads only its own days.
 * Per customer there are also its total revenue and its revenue per 32-day block (to skip
 * customers who cannot make a top list). Per day, the day of each row's previous order by the same
 * customer, ascending: the customers active in a range are its rows whose previous order is before
 * it, a binary search per day of the range.
 * Every sum is of whole cents, so it is exact.
 */
import type { WarehouseValue } from '@mlops/kernel';
import type { GoldReader } from './gold.reader.js';
import { dayNumberSql, num, str } from './sql.js';

/** The in-memory index of sales by customer and day. */
export interface SalesIndex {
  /** Day 0 (YYYY-MM-DD); day numbers count from it. Null when there are no sales. */
  readonly firstDay: string | null;
  /** Days from day 0 to the last day with orders. */
  readonly nDays: number;
  /** Customer ids in ascending order (a null id, if any, last). */
  readonly customerIds: readonly (string | null)[];
  readonly region: readonly (string | null)[];
  readonly segment: readonly (string | null)[];
  /** Position of a customer id. */
  readonly positionOf: ReadonlyMap<string, number>;
  /** By customer: the rows of customer `c` are `[offsets[c], offsets[c + 1])`. */
  readonly offsets: Int32Array;
  /** By customer: day number of each row. */
  readonly day: Int32Array;
  /** By customer: orders (any status) and completed revenue in cents, running totals within each customer. */
  readonly cumOrders: Int32Array;
  readonly cumRevenueCents: Float64Array;
  /** Per customer: completed revenue over every day. */
  readonly totalRevenueCents: Float64Array;
  /** Customer positions by total revenue, highest first (ties: smaller position first). */
  readonly byTotalRevenue: Int32Array;
  /**
   * Completed revenue per 32-day block (the bitmaps' words), `bitWords` blocks per customer, the
   * customers in `byTotalRevenue` order: an upper bound of a customer's revenue in any range,
   * read sequentially while a top list is built.
   */
  readonly blockRevenueCents: Float64Array;
  /** 32-day blocks per customer in `blockRevenueCents`. */
  readonly bitWords: number;
  /**
   * Per 32-day block `b`, the ranks (in `byTotalRevenue`) of the customers with revenue in it, by
   * their revenue there, highest first (ties: smaller rank): `[blockStart[b], blockStart[b + 1])`
   * of `blockRanks`. A top list over a long range reads these lists in step and stops when nobody
   * not yet read can reach it.
   */
  readonly blockStart: Int32Array;
  readonly blockRanks: Int32Array;
  /** By day: the rows of day `d` are `[dayStart[d], dayStart[d + 1])`, customers ascending. */
  readonly dayStart: Int32Array;
  readonly dayCustomer: Int32Array;
  readonly dayRevenueCents: Float64Array;
  /**
   * By day, ascending within each day: the day of the same customer's previous order (-1 for its
   * first; `nDays` for a null customer id, never counted as active).
   */
  readonly dayPrevious: Int32Array;
}

const DAY_MS = 86_400_000;
/** Customers read per query while the index is built. */
const CUSTOMERS_PER_SLICE = 30_000;

/** Day number of a date. */
export function dayNumber(firstDay: string, date: string): number {
  return Math.round((Date.parse(`${date}T00:00:00Z`) - Date.parse(`${firstDay}T00:00:00Z`)) / DAY_MS);
}

/** Date of a day number. */
export function dateOf(firstDay: string, day: number): string {
  return new Date(Date.parse(`${firstDay}T00:00:00Z`) + day * DAY_MS).toISOString().slice(0, 10);
}

/** The index of the current warehouse version (built on first use). */
export function salesIndex(gold: GoldReader): Promise<SalesIndex> {
  return gold.derived('sales-index', () => buildSalesIndex(gold));
}

const EMPTY: SalesIndex = {
  firstDay: null,
  nDays: 0,
  customerIds: [],
  region: [],
  segment: [],
  positionOf: new Map(),
  offsets: new Int32Array(1),
  day: new Int32Array(0),
  cumOrders: new Int32Array(0),
  cumRevenueCents: new Float64Array(0),
  totalRevenueCents: new Float64Array(0),
  byTotalRevenue: new Int32Array(0),
  blockRevenueCents: new Float64Array(0),
  bitWords: 0,
  blockStart: new Int32Array(1),
  blockRanks: new Int32Array(0),
  dayStart: new Int32Array(1),
  dayCustomer: new Int32Array(0),
  dayRevenueCents: new Float64Array(0),
  dayPrevious: new Int32Array(0),
};

/**
 * The customer ids of a slice (from `first` up to `next`, excluded; nulls sort last) as a filter on
 * the view's grouping column: the engine applies it before the view's aggregate, so each slice
 * reads only its own customers' orders.
 */
function idRange(first: string | null, next: string | null | undefined): { sql: string; params: string[] } {
  if (first === null) return { sql: 'd.customer_id is null', params: [] };
  if (next === undefined) return { sql: '(d.customer_id >= ? or d.customer_id is null)', params: [first] };
  if (next === null) return { sql: 'd.customer_id >= ?', params: [first] };
  return { sql: 'd.customer_id >= ? and d.customer_id < ?', params: [first, next] };
}

async function buildSalesIndex(gold: GoldReader): Promise<SalesIndex> {
  if (!(await gold.has('fct_sales')) || !(await gold.has('bi_customer_sales_daily'))) return EMPTY;
  const sales = gold.table('fct_sales');
  const daily = gold.table('bi_customer_sales_daily');
  const withCustomer = await gold.has('dim_customer');
  const first = await gold.query('sales index', `select cast(min(order_date) as string) as first_day from ${daily}`);
  const firstDay = str(first[0]?.first_day);
  if (firstDay === null) return EMPTY;
  // Customers: everyone who ordered or is in dim_customer, ranked as `order by customer_id` ranks them.
  const ranked = `with ids as (
      select customer_id from ${sales}
      ${withCustomer ? `union distinct select customer_id from ${gold.table('dim_customer')}` : ''}
    )
    select customer_id, cast(row_number() over (order by customer_id nulls last) - 1 as integer) as position from ids`;
  const customers = await gold.queryColumns(
    'sales index customers',
    `with r as (${ranked})
     select r.customer_id, ${withCustomer ? 'any_value(c.region) as region, any_value(c.segment) as segment' : 'cast(null as string) as region, cast(null as string) as segment'}
     from r ${withCustomer ? `left join ${gold.table('dim_customer')} c on c.customer_id = r.customer_id` : ''}
     group by r.customer_id, r.position order by r.position`,
  );
  const [ids, regions, segments] = customers.columns as [WarehouseValue[], WarehouseValue[], WarehouseValue[]];
  const nCustomers = customers.rowCount;

  // By customer, read in slices of customers: DuckDB's aggregate and the columns handed over
  // stay a fraction of the whole (the whole is millions of rows at scale 10).
  const offsets = new Int32Array(nCustomers + 1);
  const slices: { day: Int32Array; orders: Int32Array; revenue: Float64Array }[] = [];
  let nRows = 0;
  let nDays = 0;
  let previous = -1;
  for (let from = 0; from < nCustomers; from += CUSTOMERS_PER_SLICE) {
    const to = Math.min(nCustomers, from + CUSTOMERS_PER_SLICE);
    const range = idRange(str(ids[from]), to < nCustomers ? str(ids[to]) : undefined);
    const days = await gold.queryColumns(
      'sales index days',
      `with r as (select * from (${ranked}) where position >= ? and position < ?)
       select r.position, ${dayNumberSql('d.order_date')} - ? as day_number, cast(d.orders as integer) as orders,
              cast(d.revenue_cents as int64) as revenue_cents
       from ${daily} d join r on r.customer_id is not distinct from d.customer_id
       where ${range.sql}
       order by r.position, day_number`,
      [from, to, dayNumber('1970-01-01', firstDay), ...range.params],
    );
    const [positions, dayColumn, orders, revenue] = days.columns as [
      WarehouseValue[],
      WarehouseValue[],
      WarehouseValue[],
      WarehouseValue[],
    ];
    const slice = {
      day: new Int32Array(days.rowCount),
      orders: new Int32Array(days.rowCount),
      revenue: new Float64Array(days.rowCount),
    };
    for (let row = 0; row < days.rowCount; row += 1) {
      const position = num(positions[row]);
      const d = num(dayColumn[row]);
      if (position < previous || position < from || position >= to || d < 0)
        throw new Error(
          `sales index: rows out of order at row ${nRows + row} (customer position ${position}, day ${d})`,
        );
      for (let c = previous + 1; c <= position; c += 1) offsets[c] = nRows + row;
      const continuing = position === previous; // never on a slice's first row: slices split between customers
      previous = position;
      slice.day[row] = d;
      nDays = Math.max(nDays, d + 1);
      slice.orders[row] = num(orders[row]) + (continuing ? slice.orders[row - 1]! : 0);
      slice.revenue[row] = num(revenue[row]) + (continuing ? slice.revenue[row - 1]! : 0);
    }
    slices.push(slice);
    nRows += days.rowCount;
  }
  for (let c = previous + 1; c <= nCustomers; c += 1) offsets[c] = nRows;
  const day = new Int32Array(nRows);
  const cumOrders = new Int32Array(nRows);
  const cumRevenueCents = new Float64Array(nRows);
  let at = 0;
  for (const slice of slices.splice(0)) {
    day.set(slice.day, at);
    cumOrders.set(slice.orders, at);
    cumRevenueCents.set(slice.revenue, at);
    at += slice.day.length;
  }

  // Per customer: totals.
  const totalRevenueCents = new Float64Array(nCustomers);
  const bitWords = Math.ceil(nDays / 32);
  for (let c = 0; c < nCustomers; c += 1) {
    const start = offsets[c]!;
    const end = offsets[c + 1]!;
    if (end > start) totalRevenueCents[c] = cumRevenueCents[end - 1]!;
  }

  const byTotalRevenue = Int32Array.from({ length: nCustomers }, (_, c) => c).sort(
    (a, b) => totalRevenueCents[b]! - totalRevenueCents[a]! || a - b,
  );
  const blockRevenueCents = new Float64Array(nCustomers * bitWords);
  byTotalRevenue.forEach((c, rank) => {
    const start = offsets[c]!;
    for (let row = start; row < offsets[c + 1]!; row += 1)
      blockRevenueCents[rank * bitWords + (day[row]! >>> 5)]! +=
        cumRevenueCents[row]! - (row > start ? cumRevenueCents[row - 1]! : 0);
  });

  const { blockStart, blockRanks } = blockLists(blockRevenueCents, nCustomers, bitWords);

  // By day (a counting sort of the rows by day; customers stay ascending within a day).
  const dayStart = new Int32Array(nDays + 1);
  for (let row = 0; row < nRows; row += 1) dayStart[day[row]! + 1]! += 1;
  for (let d = 0; d < nDays; d += 1) dayStart[d + 1]! += dayStart[d]!;
  const fill = dayStart.slice(0, nDays);
  const dayCustomer = new Int32Array(nRows);
  const dayRevenueCents = new Float64Array(nRows);
  for (let c = 0; c < nCustomers; c += 1) {
    const start = offsets[c]!;
    for (let row = start; row < offsets[c + 1]!; row += 1) {
      const to = fill[day[row]!]!++;
      dayCustomer[to] = c;
      dayRevenueCents[to] = cumRevenueCents[row]! - (row > start ? cumRevenueCents[row - 1]! : 0);
    }
  }

  const customerIds = ids.map(str);
  const dayPrevious = previousOrderDays(offsets, day, dayStart, nDays, customerIds);
  const positionOf = new Map<string, number>();
  customerIds.forEach((id, position) => {
    if (id !== null) positionOf.set(id, position);
  });
  return {
    firstDay,
    nDays,
    customerIds,
    region: regions.map(str),
    segment: segments.map(str),
    positionOf,
    offsets,
    day,
    cumOrders,
    cumRevenueCents,
    totalRevenueCents,
    byTotalRevenue,
    blockRevenueCents,
    bitWords,
    blockStart,
    blockRanks,
    dayStart,
    dayCustomer,
    dayRevenueCents,
    dayPrevious,
  };
}

/** Per block, the ranks with revenue there, by that revenue descending (ties: rank ascending). */
function blockLists(
  blockRevenueCents: Float64Array,
  nCustomers: number,
  bitWords: number,
): { blockStart: Int32Array; blockRanks: Int32Array } {
  const blockStart = new Int32Array(bitWords + 1);
  for (let rank = 0; rank < nCustomers; rank += 1)
    for (let b = 0; b < bitWords; b += 1) if (blockRevenueCents[rank * bitWords + b]! > 0) blockStart[b + 1]! += 1;
  for (let b = 0; b < bitWords; b += 1) blockStart[b + 1]! += blockStart[b]!;
  const blockRanks = new Int32Array(blockStart[bitWords]!);
  const fill = blockStart.slice(0, bitWords);
  for (let rank = 0; rank < nCustomers; rank += 1)
    for (let b = 0; b < bitWords; b += 1)
      if (blockRevenueCents[rank * bitWords + b]! > 0) blockRanks[fill[b]!++] = rank;
  for (let b = 0; b < bitWords; b += 1)
    blockRanks
      .subarray(blockStart[b]!, blockStart[b + 1]!)
      .sort((x, y) => blockRevenueCents[y * bitWords + b]! - blockRevenueCents[x * bitWords + b]! || x - y);
  return { blockStart, blockRanks };
}

/**
 * Per day, the previous order day of each row's customer, ascending within the day: the rows
 * counted by previous day first, then placed by day in that order (two counting sorts).
 */
function previousOrderDays(
  offsets: Int32Array,
  day: Int32Array,
  dayStart: Int32Array,
  nDays: number,
  customerIds: readonly (string | null)[],
): Int32Array {
  const nRows = day.length;
  const previous = new Int32Array(nRows);
  for (let c = 0; c < customerIds.length; c += 1) {
    const start = offsets[c]!;
    for (let row = start; row < offsets[c + 1]!; row += 1)
      previous[row] = customerIds[c] === null ? nDays : row > start ? day[row - 1]! : -1;
  }
  // Previous days run from -1 to nDays: slot `previous + 1`.
  const slotStart = new Int32Array(nDays + 3);
  for (let row = 0; row < nRows; row += 1) slotStart[previous[row]! + 2]! += 1;
  for (let slot = 0; slot < nDays + 2; slot += 1) slotStart[slot + 1]! += slotStart[slot]!;
  const byPrevious = new Int32Array(nRows);
  for (let row = 0; row < nRows; row += 1) byPrevious[slotStart[previous[row]! + 1]!++] = row;
  const fill = dayStart.slice(0, nDays);
  const out = new Int32Array(nRows);
  for (let i = 0; i < nRows; i += 1) {
    const row = byPrevious[i]!;
    out[fill[day[row]!]!++] = previous[row]!;
  }
  return out;
}
