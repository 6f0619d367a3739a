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

/** One cell of the sales cube. */
interface SalesCell {
  date: string;
  region: string | null;
  category: string | null;
  orders: number;
  completedOrders: number;
  revenueCents: number;
  units: number;
}

/** One cell of the sessions cube. */
interface SessionCell {
  date: string;
  device: string | null;
  referrer: string | null;
  sessions: number;
  productView: number;
  cart: number;
  checkout: number;
  purchase: number;
}

/** How revenue is broken down. */
export type RevenueGrouping = 'day' | 'region' | 'category';
/** The groupings the revenue endpoint accepts. */
export const REVENUE_GROUPINGS: readonly RevenueGrouping[] = ['day', 'region', 'category'];

async function salesCube(gold: GoldReader): Promise<SalesCell[]> {
  return gold.derived('sales-cube', async () => {
    if (!(await gold.has('bi_customer_category_sales_daily'))) return [];
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
    return rows.map((row) => ({
      date: String(row.date),
      region: str(row.region),
      category: str(row.category),
      orders: num(row.orders),
      completedOrders: num(row.completed_orders),
      revenueCents: num(row.revenue_cents),
      units: num(row.units),
    }));
  });
}

async function sessionCube(gold: GoldReader): Promise<SessionCell[]> {
  return gold.derived('session-cube', async () => {
    if (!(await gold.has('fct_sessions'))) return [];
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
    return rows.map((row) => ({
      date: String(row.date),
      device: str(row.device),
      referrer: str(row.referrer),
      sessions: num(row.sessions),
      productView: num(row.product_view),
      cart: num(row.cart),
      checkout: num(row.checkout),
      purchase: num(row.purchase),
    }));
  });
}

/** The cells of a range, from cells sorted by date (two binary searches, no scan). */
function cellsIn<C extends { date: string }>(cells: readonly C[], range: DateRange): readonly C[] {
  const firstAtOrAfter = (date: string) => {
    let lo = 0;
    let hi = cells.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cells[mid]!.date < date) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const lo = range.from === null ? 0 : firstAtOrAfter(range.from);
  const hi = range.to === null ? cells.length : firstAtOrAfter(`${range.to}\u0000`);
  return cells.slice(lo, Math.max(lo, hi));
}

/** Sum cells into buckets keyed by `keyOf`, keeping insertion order. */
function rollUp<C, A>(
  cells: readonly C[],
  keyOf: (cell: C) => string,
  empty: () => A,
  add: (into: A, cell: C) => void,
): Map<string, A> {
  const out = new Map<string, A>();
  for (const cell of cells) {
    const key = keyOf(cell);
    let bucket = out.get(key);
    if (!bucket) out.set(key, (bucket = empty()));
    add(bucket, cell);
  }
  return out;
}

/** The first and last day with orders. */
export async function salesBounds(gold: GoldReader): Promise<{ from: string | null; to: string | null }> {
  const cube = await salesCube(gold);
  let from: string | null = null;
  let to: string | null = null;
  for (const cell of cube) {
    if (from === null || cell.date < from) from = cell.date;
    if (to === null || cell.date > to) to = cell.date;
  }
  return { from, to };
}

/** Revenue and orders per day, optionally split by region or category, with totals per group. */
export async function revenueSeries(gold: GoldReader, range: DateRange, groupBy: RevenueGrouping) {
  const cells = cellsIn(await salesCube(gold), range);
  const groupOf = (cell: SalesCell) =>
    groupBy === 'region' ? cell.region : groupBy === 'category' ? cell.category : null;
  type Bucket = { date: string; group: string | null; orders: number; completedOrders: number; revenueCents: number };
  const series = [
    ...rollUp<SalesCell, Bucket>(
      cells,
      (cell) => `${cell.date}|${groupOf(cell) === null ? '\u0000' : `=${groupOf(cell)}`}`,
      () => ({ date: '', group: null, orders: 0, completedOrders: 0, revenueCents: 0 }),
      (bucket, cell) => {
        bucket.date = cell.date;
        bucket.group = groupOf(cell);
        bucket.orders += cell.orders;
        bucket.completedOrders += cell.completedOrders;
        bucket.revenueCents += cell.revenueCents;
      },
    ).values(),
  ].sort((a, b) => a.date.localeCompare(b.date) || String(a.group).localeCompare(String(b.group)));
  const totals = [
    ...rollUp(
      series,
      (row) => String(row.group),
      () => ({ group: null as string | null, orders: 0, revenueCents: 0 }),
      (bucket, row) => {
        bucket.group = row.group;
        bucket.orders += row.orders;
        bucket.revenueCents += row.revenueCents;
      },
    ).values(),
  ].sort((a, b) => b.revenueCents - a.revenueCents || String(a.group).localeCompare(String(b.group)));
  return {
    groupBy,
    series: series.map((row) => ({
      date: row.date,
      group: row.group,
      orders: row.orders,
      completedOrders: row.completedOrders,
      revenueUsd: usd(row.revenueCents),
    })),
    totals: totals.map((row) => ({ group: row.group, orders: row.orders, revenueUsd: usd(row.revenueCents) })),
  };
}

/** Key figures of sales in a range. */
export async function salesSummary(gold: GoldReader, range: DateRange) {
  const cells = cellsIn(await salesCube(gold), range);
  let orders = 0;
  let completedOrders = 0;
  let revenueCents = 0;
  let units = 0;
  for (const cell of cells) {
    orders += cell.orders;
    completedOrders += cell.completedOrders;
    revenueCents += cell.revenueCents;
    units += cell.units;
  }
  const customers = cells.length > 0 ? activeCustomers(await salesIndex(gold), range) : 0;
  return {
    orders,
    completedOrders,
    units,
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

/** One cell of the product cube: a product's sales on one day. */
interface ProductCell {
  date: string;
  product: number;
  productName: string | null;
  category: string | null;
  orders: number;
  units: number;
  revenueCents: number;
}

/** Sales by day and product (a few hundred products: small), by date; products numbered in id order. */
async function productCube(gold: GoldReader): Promise<{ productIds: (string | null)[]; cells: ProductCell[] }> {
  return gold.derived('product-cube', async () => {
    if (!(await gold.has('bi_product_sales_daily'))) return { productIds: [], cells: [] };
    const rows = await gold.query(
      'product cube',
      `select product_id, cast(dense_rank() over (order by product_id nulls last) - 1 as integer) as product,
              cast(order_date as string) as date, product_name, category, orders, completed_units as units, revenue_cents
       from ${gold.table('bi_product_sales_daily')}
       order by date, product`,
    );
    const productIds: (string | null)[] = [];
    const cells = rows.map((row) => {
      const product = num(row.product);
      productIds[product] = str(row.product_id);
      return {
        date: String(row.date),
        product,
        productName: str(row.product_name),
        category: str(row.category),
        orders: num(row.orders),
        units: num(row.units),
        revenueCents: num(row.revenue_cents),
      };
    });
    return { productIds, cells };
  });
}

/** The products with the most revenue in a range (ties: the smaller id). */
export async function topProducts(gold: GoldReader, range: DateRange, limit: number) {
  const { productIds, cells } = await productCube(gold);
  type Total = {
    product: number;
    productName: string | null;
    category: string | null;
    orders: number;
    units: number;
    revenueCents: number;
  };
  const totals: (Total | undefined)[] = new Array(productIds.length);
  const later = (a: string | null, b: string | null) => (a === null ? b : b === null || b > a ? b : a);
  for (const cell of cellsIn(cells, range)) {
    const total = (totals[cell.product] ??= {
      product: cell.product,
      productName: null,
      category: null,
      orders: 0,
      units: 0,
      revenueCents: 0,
    });
    total.productName = later(total.productName, cell.productName);
    total.category = later(total.category, cell.category);
    total.orders += cell.orders;
    total.units += cell.units;
    total.revenueCents += cell.revenueCents;
  }
  return totals
    .filter((total): total is Total => total !== undefined)
    .sort((a, b) => b.revenueCents - a.revenueCents || a.product - b.product)
    .slice(0, limit)
    .map((total) => ({
      productId: productIds[total.product] ?? null,
      productName: total.productName,
      category: total.category,
      orders: total.orders,
      units: total.units,
      revenueUsd: usd(total.revenueCents),
    }));
}

/** The clickstream funnel: sessions reaching product view, cart, checkout and purchase. */
export async function funnel(gold: GoldReader, range: DateRange) {
  const totals = { sessions: 0, productView: 0, cart: 0, checkout: 0, purchase: 0 };
  for (const cell of cellsIn(await sessionCube(gold), range)) {
    totals.sessions += cell.sessions;
    totals.productView += cell.productView;
    totals.cart += cell.cart;
    totals.checkout += cell.checkout;
    totals.purchase += cell.purchase;
  }
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
  const cells = cellsIn(await sessionCube(gold), range);
  const count = (keyOf: (cell: SessionCell) => string | null) => [
    ...rollUp(
      cells,
      (cell) => String(keyOf(cell)),
      () => ({ key: null as string | null, sessions: 0, purchases: 0 }),
      (bucket, cell) => {
        bucket.key = keyOf(cell);
        bucket.sessions += cell.sessions;
        bucket.purchases += cell.purchase;
      },
    ).values(),
  ];
  return {
    daily: count((cell) => cell.date)
      .sort((a, b) => String(a.key).localeCompare(String(b.key)))
      .map((row) => ({ date: row.key, sessions: row.sessions, purchases: row.purchases })),
    byDevice: count((cell) => cell.device)
      .sort((a, b) => b.sessions - a.sessions || String(a.key).localeCompare(String(b.key)))
      .map((row) => ({ device: row.key, sessions: row.sessions })),
    byReferrer: count((cell) => cell.referrer)
      .sort((a, b) => b.sessions - a.sessions || String(a.key).localeCompare(String(b.key)))
      .map((row) => ({ referrer: row.key, sessions: row.sessions })),
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
