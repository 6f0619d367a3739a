/**
 * The historical ("what happened") view: sales, traffic and startups from the gold layer.
 *
 * Sales and sessions are first rolled up in the warehouse into small daily cubes (day x region x
 * category, day x device x referrer), once per warehouse version; every date range is then
 * answered from the cube, so moving the date filter never rescans millions of orders. The figures
 * (orders, completed orders, units, revenue in whole cents) are the gold views' as they are
 * (`bi_customer_category_sales_daily`, `bi_product_sales_daily`): defined once, in the Dataform
 * project, and summed here only across the cube's cells. Top customers
 * and active customers come from the in-memory sales index (sales.index.ts), top products from a
 * day x product cube: no request scans `fct_sales`.
 */
import type { GoldReader } from './gold.reader.js';
import type { DateRange } from './params.js';
import { salesIndex } from './sales.index.js';
import { activeCustomers, topCustomersInRange } from './sales.ranges.js';
import { num, ratio, str, usd } from './sql.js';
import { buildDailyCube, cellsOf, type DailyCube, daysIn, sumOf } from './daily.cube.js';

/** The sales cube along each grouping: orders, completed orders, revenue (cents), units. */
interface SalesCubes {
  day: DailyCube;
  region: DailyCube;
  category: DailyCube;
}
const ORDERS = 0;
const COMPLETED = 1;
const REVENUE = 2;
const UNITS = 3;

/** The sessions cube: all sessions, by device and by referrer; sessions and the funnel's steps. */
interface SessionCubes {
  all: DailyCube;
  device: DailyCube;
  referrer: DailyCube;
}
const SESSIONS = 0;
const PRODUCT_VIEW = 1;
const CART = 2;
const CHECKOUT = 3;
const PURCHASE = 4;

/** How revenue is broken down. */
export type RevenueGrouping = 'day' | 'region' | 'category';
/** The groupings the revenue endpoint accepts. */
export const REVENUE_GROUPINGS: readonly RevenueGrouping[] = ['day', 'region', 'category'];

async function salesCube(gold: GoldReader): Promise<SalesCubes> {
  return gold.derived('sales-cube', async () => {
    if (!(await gold.has('bi_customer_category_sales_daily')))
      return { day: EMPTY_CUBE, region: EMPTY_CUBE, category: EMPTY_CUBE };
    const withRegion = await gold.has('dim_customer');
    // The view's figures summed over its customers, each with the region dim_customer gives them.
    const rows = await gold.query(
      'sales cube',
      `select cast(d.order_date as string) as date, ${withRegion ? 'c.region' : 'cast(null as string)'} as region, d.category,
              cast(sum(d.orders) as int64) as orders,
              cast(sum(d.completed_orders) as int64) as completed_orders,
              cast(sum(d.revenue_cents) as int64) as revenue_cents,
              cast(sum(d.completed_units) as int64) as units
       from ${gold.table('bi_customer_category_sales_daily')} d
       ${withRegion ? `left join ${gold.table('dim_customer')} c on c.customer_id = d.customer_id` : ''}
       group by all order by date`,
    );
    const cells = rows.map((row) => ({
      date: String(row.date),
      region: str(row.region),
      category: str(row.category),
      values: [num(row.orders), num(row.completed_orders), num(row.revenue_cents), num(row.units)],
    }));
    const along = (groupOf: (cell: (typeof cells)[number]) => string | null) =>
      buildDailyCube(
        cells.map((cell) => ({ date: cell.date, group: groupOf(cell), values: cell.values })),
        4,
      );
    return { day: along(() => null), region: along((cell) => cell.region), category: along((cell) => cell.category) };
  });
}

async function sessionCube(gold: GoldReader): Promise<SessionCubes> {
  return gold.derived('session-cube', async () => {
    if (!(await gold.has('fct_sessions'))) return { all: EMPTY_CUBE, device: EMPTY_CUBE, referrer: EMPTY_CUBE };
    const rows = await gold.query(
      'sessions cube',
      `select cast(session_date as string) as date, device, referrer, count(*) as sessions,
              countif(reached_product_view) as product_view,
              countif(reached_cart) as cart,
              countif(reached_checkout) as checkout,
              countif(reached_purchase) as purchase
       from ${gold.table('fct_sessions')}
       where session_date is not null
       group by all order by date`,
    );
    const cells = rows.map((row) => ({
      date: String(row.date),
      device: str(row.device),
      referrer: str(row.referrer),
      values: [num(row.sessions), num(row.product_view), num(row.cart), num(row.checkout), num(row.purchase)],
    }));
    const along = (groupOf: (cell: (typeof cells)[number]) => string | null) =>
      buildDailyCube(
        cells.map((cell) => ({ date: cell.date, group: groupOf(cell), values: cell.values })),
        5,
      );
    return { all: along(() => null), device: along((cell) => cell.device), referrer: along((cell) => cell.referrer) };
  });
}

const EMPTY_CUBE: DailyCube = buildDailyCube([], 0);

/** The first and last day with orders. */
export async function salesBounds(gold: GoldReader): Promise<{ from: string | null; to: string | null }> {
  const { dates } = (await salesCube(gold)).day;
  return { from: dates[0] ?? null, to: dates[dates.length - 1] ?? null };
}

/** One row of the revenue series (a day and group with orders). */
interface SeriesRow {
  date: string;
  group: string | null;
  orders: number;
  completedOrders: number;
  revenueUsd: number;
}

function seriesRows(cube: DailyCube, d: number): SeriesRow[] {
  const rows: SeriesRow[] = [];
  for (let g = 0; g < cube.groups.length; g += 1)
    if (cellsOf(cube, g, d, d + 1) > 0)
      rows.push({
        date: cube.dates[d]!,
        group: cube.groups[g]!,
        orders: sumOf(cube, g, ORDERS, d, d + 1),
        completedOrders: sumOf(cube, g, COMPLETED, d, d + 1),
        revenueUsd: usd(sumOf(cube, g, REVENUE, d, d + 1)),
      });
  return rows;
}

/**
 * Per cube, the series of every day as JSON bytes, each day's rows after a comma (nothing for a
 * day without orders), and where each day starts: a day's rows are the same in every range, so a
 * range's series is one slice of it. Made on first use (the warm-up), once per warehouse version.
 */
const seriesBytes = new WeakMap<DailyCube, { bytes: Buffer; start: Float64Array }>();

/** The series of days `[lo, hi)` as JSON array elements (no brackets), a view of the cube's bytes. */
function seriesJson(cube: DailyCube, lo: number, hi: number): Buffer {
  let held = seriesBytes.get(cube);
  if (!held) {
    const days = cube.dates.map((_, d) => {
      const rows = seriesRows(cube, d);
      return rows.length === 0 ? '' : `,${JSON.stringify(rows).slice(1, -1)}`;
    });
    const start = new Float64Array(days.length + 1);
    days.forEach((text, d) => {
      start[d + 1] = start[d]! + Buffer.byteLength(text);
    });
    seriesBytes.set(cube, (held = { bytes: Buffer.from(days.join('')), start }));
  }
  const slice = held.bytes.subarray(held.start[lo]!, held.start[hi]!);
  return slice.length === 0 ? slice : slice.subarray(1);
}

/** The groups with orders in days `[lo, hi)`, by revenue (highest first; ties in the cube's order). */
function seriesTotals(cube: DailyCube, lo: number, hi: number) {
  const totals: { group: string | null; g: number; orders: number; revenueCents: number }[] = [];
  for (let g = 0; g < cube.groups.length; g += 1)
    if (cellsOf(cube, g, lo, hi) > 0)
      totals.push({
        group: cube.groups[g]!,
        g,
        orders: sumOf(cube, g, ORDERS, lo, hi),
        revenueCents: sumOf(cube, g, REVENUE, lo, hi),
      });
  totals.sort((a, b) => b.revenueCents - a.revenueCents || a.g - b.g);
  return totals.map((row) => ({ group: row.group, orders: row.orders, revenueUsd: usd(row.revenueCents) }));
}

/** Revenue and orders per day, optionally split by region or category, with totals per group. */
export async function revenueSeries(gold: GoldReader, range: DateRange, groupBy: RevenueGrouping) {
  const cube = (await salesCube(gold))[groupBy];
  const [lo, hi] = daysIn(cube, range);
  const series: SeriesRow[] = [];
  for (let d = lo; d < hi; d += 1) series.push(...seriesRows(cube, d));
  return { groupBy, series, totals: seriesTotals(cube, lo, hi) };
}

/**
 * {@link revenueSeries} as JSON, byte for byte what `JSON.stringify` makes of it with `range`
 * first: the series is a slice of every day's JSON, made once per warehouse version.
 */
export async function revenueSeriesJson(gold: GoldReader, range: DateRange, groupBy: RevenueGrouping): Promise<Buffer> {
  const cube = (await salesCube(gold))[groupBy];
  const [lo, hi] = daysIn(cube, range);
  return Buffer.concat([
    Buffer.from(`{"range":${JSON.stringify(range)},"groupBy":${JSON.stringify(groupBy)},"series":[`),
    seriesJson(cube, lo, hi),
    Buffer.from(`],"totals":${JSON.stringify(seriesTotals(cube, lo, hi))}}`),
  ]);
}

/** Key figures of sales in a range. */
export async function salesSummary(gold: GoldReader, range: DateRange) {
  const cube = (await salesCube(gold)).day;
  const [lo, hi] = daysIn(cube, range);
  const any = cube.groups.length > 0 && cellsOf(cube, 0, lo, hi) > 0;
  const sum = (measure: number) => (any ? sumOf(cube, 0, measure, lo, hi) : 0);
  const completedOrders = sum(COMPLETED);
  const revenueCents = sum(REVENUE);
  const customers = any ? activeCustomers(await salesIndex(gold), range) : 0;
  return {
    orders: sum(ORDERS),
    completedOrders,
    units: sum(UNITS),
    revenueUsd: usd(revenueCents),
    customers,
    averageOrderValueUsd: completedOrders === 0 ? null : usd(revenueCents / completedOrders),
  };
}

/** The customers with the most revenue in a range (from the in-memory sales index). */
export async function topCustomers(gold: GoldReader, range: DateRange, limit: number) {
  const index = await salesIndex(gold);
  return topCustomersInRange(index, range, limit).map((row) => ({
    customerId: index.customerIds[row.position] ?? null,
    region: index.region[row.position] ?? null,
    segment: index.segment[row.position] ?? null,
    orders: row.orders,
    revenueUsd: usd(row.revenueCents),
    lastOrderDate: row.lastOrderDate,
  }));
}

/**
 * A product's name or category: the same on every day (most products), or per day (then a range
 * takes the greatest of its days, as a `max` in SQL would).
 */
type ProductLabel = string | null | { days: Int32Array; values: (string | null)[] };

/** Sales by day and product (a few hundred products); products numbered in id order (nulls last). */
interface ProductCube {
  cube: DailyCube;
  names: ProductLabel[];
  categories: ProductLabel[];
}
const P_ORDERS = 0;
const P_UNITS = 1;
const P_REVENUE = 2;

/** The greater of two labels (null the least). */
function later(a: string | null, b: string | null): string | null {
  return a === null ? b : b === null || b > a ? b : a;
}

/** A product's label over days `[lo, hi)`. */
function labelIn(label: ProductLabel, lo: number, hi: number): string | null {
  if (label === null || typeof label === 'string') return label;
  let out: string | null = null;
  for (let i = 0; i < label.days.length; i += 1)
    if (label.days[i]! >= lo && label.days[i]! < hi) out = later(out, label.values[i]!);
  return out;
}

async function productCube(gold: GoldReader): Promise<ProductCube> {
  return gold.derived('product-cube', async () => {
    if (!(await gold.has('bi_product_sales_daily'))) return { cube: EMPTY_CUBE, names: [], categories: [] };
    const rows = await gold.query(
      'product cube',
      `select product_id, cast(dense_rank() over (order by product_id nulls last) - 1 as integer) as product,
              cast(order_date as string) as date, product_name, category, orders, completed_units as units, revenue_cents
       from ${gold.table('bi_product_sales_daily')}
       order by date, product`,
    );
    const productIds: (string | null)[] = [];
    for (const row of rows) productIds[num(row.product)] = str(row.product_id);
    const cube = buildDailyCube(
      rows.map((row) => ({
        date: String(row.date),
        group: str(row.product_id),
        values: [num(row.orders), num(row.units), num(row.revenue_cents)],
      })),
      3,
      productIds,
    );
    const dayOf = new Map(cube.dates.map((date, index) => [date, index]));
    // Per product, its labels by day; a label that never changes is held once.
    const perDay = (column: string): ProductLabel[] => {
      const days: number[][] = productIds.map(() => []);
      const values: (string | null)[][] = productIds.map(() => []);
      for (const row of rows) {
        const product = num(row.product);
        days[product]!.push(dayOf.get(String(row.date))!);
        values[product]!.push(str(row[column]));
      }
      return values.map((list, product) =>
        list.every((value) => value === list[0])
          ? (list[0] ?? null)
          : { days: Int32Array.from(days[product]!), values: list },
      );
    };
    return { cube, names: perDay('product_name'), categories: perDay('category') };
  });
}

/** The products with the most revenue in a range (ties: the smaller id). */
export async function topProducts(gold: GoldReader, range: DateRange, limit: number) {
  const { cube, names, categories } = await productCube(gold);
  const [lo, hi] = daysIn(cube, range);
  const present: { product: number; revenueCents: number }[] = [];
  for (let product = 0; product < cube.groups.length; product += 1)
    if (cellsOf(cube, product, lo, hi) > 0)
      present.push({ product, revenueCents: sumOf(cube, product, P_REVENUE, lo, hi) });
  return present
    .sort((a, b) => b.revenueCents - a.revenueCents || a.product - b.product)
    .slice(0, limit)
    .map(({ product, revenueCents }) => ({
      productId: cube.groups[product] ?? null,
      productName: labelIn(names[product]!, lo, hi),
      category: labelIn(categories[product]!, lo, hi),
      orders: sumOf(cube, product, P_ORDERS, lo, hi),
      units: sumOf(cube, product, P_UNITS, lo, hi),
      revenueUsd: usd(revenueCents),
    }));
}

/** The clickstream funnel: sessions reaching product view, cart, checkout and purchase. */
export async function funnel(gold: GoldReader, range: DateRange) {
  const cube = (await sessionCube(gold)).all;
  const [lo, hi] = daysIn(cube, range);
  const sum = (measure: number) => (cube.groups.length > 0 ? sumOf(cube, 0, measure, lo, hi) : 0);
  const totals = {
    sessions: sum(SESSIONS),
    productView: sum(PRODUCT_VIEW),
    cart: sum(CART),
    checkout: sum(CHECKOUT),
    purchase: sum(PURCHASE),
  };
  const steps: { step: string; label: string; sessions: number }[] = [
    { step: 'session', label: 'Sessions', sessions: totals.sessions },
    { step: 'product_view', label: 'Product view', sessions: totals.productView },
    { step: 'cart', label: 'Cart', sessions: totals.cart },
    { step: 'checkout', label: 'Checkout', sessions: totals.checkout },
    { step: 'purchase', label: 'Purchase', sessions: totals.purchase },
  ];
  return {
    sessions: totals.sessions,
    conversionRate: ratio(totals.purchase, totals.sessions),
    steps: steps.map((step, index) => ({
      ...step,
      rateFromStart: ratio(step.sessions, totals.sessions),
      rateFromPrevious: index === 0 ? null : ratio(step.sessions, steps[index - 1]!.sessions),
    })),
  };
}

/** Sessions by day, device and referrer. */
export async function traffic(gold: GoldReader, range: DateRange) {
  const cubes = await sessionCube(gold);
  const [lo, hi] = daysIn(cubes.all, range);
  const daily: { date: string; sessions: number; purchases: number }[] = [];
  if (cubes.all.groups.length > 0)
    for (let d = lo; d < hi; d += 1)
      daily.push({
        date: cubes.all.dates[d]!,
        sessions: sumOf(cubes.all, 0, SESSIONS, d, d + 1),
        purchases: sumOf(cubes.all, 0, PURCHASE, d, d + 1),
      });
  // The device and referrer cubes have the same days as the whole.
  const byGroup = (cube: DailyCube) => {
    const out: { key: string | null; g: number; sessions: number }[] = [];
    for (let g = 0; g < cube.groups.length; g += 1)
      if (cellsOf(cube, g, lo, hi) > 0)
        out.push({ key: cube.groups[g]!, g, sessions: sumOf(cube, g, SESSIONS, lo, hi) });
    return out.sort((a, b) => b.sessions - a.sessions || a.g - b.g);
  };
  return {
    daily,
    byDevice: byGroup(cubes.device).map((row) => ({ device: row.key, sessions: row.sessions })),
    byReferrer: byGroup(cubes.referrer).map((row) => ({ referrer: row.key, sessions: row.sessions })),
  };
}

/**
 * Startups by sector, funding and status (the latest version of every company). Its SQL is in the
 * subset DuckDB and BigQuery share (countif, cast as string, no `::`).
 */
export async function startups(gold: GoldReader, limit: number) {
  return gold.derived(`startups:${limit}`, () => startupFigures(gold, limit));
}

async function startupFigures(gold: GoldReader, limit: number) {
  if (!(await gold.has('dim_startup')))
    return { companies: 0, totalFundingUsd: 0, bySector: [], byStatus: [], byRound: [], top: [] };
  const table = gold.table('dim_startup');
  const [totals, bySector, byStatus, byRound, top] = await Promise.all([
    gold.query(
      'startup totals',
      `select count(*) as companies, coalesce(sum(total_funding_usd), 0) as funding from ${table}`,
    ),
    gold.query(
      'startups by sector',
      `select sector, count(*) as companies, coalesce(sum(total_funding_usd), 0) as funding,
              countif(status = 'active') as active
       from ${table} group by sector order by funding desc, sector nulls last limit 50`,
    ),
    gold.query(
      'startups by status',
      `select status, count(*) as companies from ${table} group by status order by companies desc, status nulls last`,
    ),
    gold.query(
      'startups by round',
      `select last_round, count(*) as companies, coalesce(sum(total_funding_usd), 0) as funding from ${table} group by last_round order by funding desc, last_round nulls last`,
    ),
    gold.query(
      'top startups',
      `select company_id, name, sector, country, city, status, headcount, total_funding_usd as funding, last_round, cast(last_round_date as string) as last_round_date
       from ${table} order by total_funding_usd desc nulls last, company_id limit ?`,
      [limit],
    ),
  ]);
  return {
    companies: num(totals[0]?.companies),
    totalFundingUsd: num(totals[0]?.funding),
    bySector: bySector.map((row) => ({
      sector: str(row.sector),
      companies: num(row.companies),
      activeCompanies: num(row.active),
      totalFundingUsd: num(row.funding),
    })),
    byStatus: byStatus.map((row) => ({ status: str(row.status), companies: num(row.companies) })),
    byRound: byRound.map((row) => ({
      round: str(row.last_round),
      companies: num(row.companies),
      totalFundingUsd: num(row.funding),
    })),
    top: top.map((row) => ({
      companyId: str(row.company_id),
      name: str(row.name),
      sector: str(row.sector),
      country: str(row.country),
      city: str(row.city),
      status: str(row.status),
      headcount: row.headcount === null ? null : num(row.headcount),
      totalFundingUsd: num(row.funding),
      lastRound: str(row.last_round),
      lastRoundDate: str(row.last_round_date),
    })),
  };
}
