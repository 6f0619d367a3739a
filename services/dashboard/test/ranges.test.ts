import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, T } from './fixtures/http.js';
import { buildWorld, type World } from './fixtures/world.fixture.js';
import { createAnswerCache } from '../src/cache.js';
import { createGoldReader } from '../src/gold.reader.js';
import { salesIndex } from '../src/sales.index.js';
import { topCustomersInRange } from '../src/sales.ranges.js';
import { REVENUE_GROUPINGS, revenueSeries, revenueSeriesJson } from '../src/historical.queries.js';
import type { DateRange } from '../src/params.js';

// The answers built from the in-memory sales index, the product cube and the per-snapshot figures,
// checked against SQL over fct_sales for many ranges and every snapshot: single days, ranges that
// start before the first order or end after the last, ranges with no orders, and the whole year.
let world: World;
const sql = <R extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
  world.sql.query(text, params as never) as Promise<R[]>;
const cents = (value: unknown) => Math.round(Number(value) * 100) / 100;

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

const END = '2026-06-30';
const RANGES: [string, string][] = [
  ['2026-03-02', '2026-03-02'],
  ['2026-02-10', '2026-02-16'],
  ['2026-01-01', END],
  ['2025-01-01', '2026-03-15'],
  ['2026-06-01', '2027-01-01'],
  ['2024-01-01', '2024-12-31'],
  ...Array.from({ length: 8 }, (_, index): [string, string] => {
    const to = addDays(END, -((index * 17) % 100));
    return [addDays(to, -((index * 29) % 60)), to];
  }),
];

beforeAll(async () => {
  world = await buildWorld();
});
afterAll(async () => {
  await world?.close();
});

describe('answers for any date range', () => {
  it('ranks top customers and counts active customers as SQL does, range after range', async () => {
    for (const [from, to] of RANGES) {
      const answer = await ok<{
        customers: {
          customerId: string;
          orders: number;
          revenueUsd: number;
          region: string | null;
          segment: string | null;
          lastOrderDate: string;
        }[];
      }>(world, `/api/historical/top-customers?from=${from}&to=${to}&limit=100`);
      const expected = await sql(
        `select s.customer_id, count(*) as orders, coalesce(sum(round(s.net_amount_usd * 100)) filter (where s.is_completed), 0)::bigint as revenue_cents,
                max(s.order_date)::varchar as last_order, any_value(c.region) as region, any_value(c.segment) as segment
         from ${T('fct_sales')} s left join ${T('dim_customer')} c using (customer_id)
         where s.order_date between ? and ? group by 1 order by revenue_cents desc, 1 limit 100`,
        [from, to],
      );
      expect(
        answer.customers.map((row) => [
          row.customerId,
          row.orders,
          row.revenueUsd,
          row.lastOrderDate,
          row.region,
          row.segment,
        ]),
        `${from}..${to}`,
      ).toEqual(
        expected.map((row) => [
          row.customer_id,
          row.orders,
          Number(row.revenue_cents) / 100,
          row.last_order,
          row.region,
          row.segment,
        ]),
      );
      const { kpis } = await ok<{ kpis: { customers: number } }>(
        world,
        `/api/kpis?view=historical&from=${from}&to=${to}`,
      );
      const [active] = await sql(
        `select count(distinct customer_id) as n from ${T('fct_sales')} where order_date between ? and ?`,
        [from, to],
      );
      expect(kpis.customers, `${from}..${to}`).toBe(active!.n);
    }
  });

  it('ranks top customers the same way whether it reads a range by day or by customer', async () => {
    const index = await salesIndex(createGoldReader({ warehouse: world.access, cache: createAnswerCache() }));
    expect(index.day.length).toBeGreaterThan(10_000);
    for (const [from, to] of RANGES) {
      for (const limit of [1, 10, 100]) {
        const byDay = topCustomersInRange(index, { from, to }, limit, Infinity);
        const byCustomer = topCustomersInRange(index, { from, to }, limit, 0);
        expect(byCustomer, `${from}..${to} limit ${limit}`).toEqual(byDay);
      }
    }
    // Open ends and a range past the data.
    expect(topCustomersInRange(index, { from: null, to: null }, 5, 0)).toEqual(
      topCustomersInRange(index, { from: null, to: null }, 5, Infinity),
    );
    expect(topCustomersInRange(index, { from: '2030-01-01', to: null }, 5)).toEqual([]);
  });

  it('ranks top products as SQL does, range after range', async () => {
    for (const [from, to] of RANGES) {
      const answer = await ok<{
        products: {
          productId: string;
          productName: string;
          category: string;
          orders: number;
          units: number;
          revenueUsd: number;
        }[];
      }>(world, `/api/historical/top-products?from=${from}&to=${to}&limit=100`);
      const expected = await sql(
        `select product_id, max(product_name) as name, max(category) as category, count(*) as orders,
                coalesce(sum(quantity) filter (where is_completed), 0)::bigint as units,
                coalesce(sum(round(net_amount_usd * 100)) filter (where is_completed), 0)::bigint as revenue_cents
         from ${T('fct_sales')} where order_date between ? and ? group by 1 order by revenue_cents desc, 1 limit 100`,
        [from, to],
      );
      expect(
        answer.products.map((row) => [
          row.productId,
          row.productName,
          row.category,
          row.orders,
          row.units,
          row.revenueUsd,
        ]),
        `${from}..${to}`,
      ).toEqual(
        expected.map((row) => [
          row.product_id,
          row.name,
          row.category,
          row.orders,
          row.units,
          Number(row.revenue_cents) / 100,
        ]),
      );
    }
  });

  it('gives revenue per day and group, and traffic, as SQL does, range after range', async () => {
    const byName = (a: unknown, b: unknown) => String(a).localeCompare(String(b));
    for (const [from, to] of RANGES) {
      for (const groupBy of ['day', 'region', 'category'] as const) {
        const answer = await ok<{
          series: { date: string; group: string | null; orders: number; completedOrders: number; revenueUsd: number }[];
          totals: { group: string | null; orders: number; revenueUsd: number }[];
        }>(world, `/api/historical/revenue?from=${from}&to=${to}&groupBy=${groupBy}`);
        const group = groupBy === 'day' ? 'null' : groupBy === 'region' ? 'c.region' : 's.category';
        const rows = await sql<{ date: string; grp: string | null; orders: number; completed: number; cents: bigint }>(
          `select s.order_date::varchar as date, ${group} as grp, count(*)::integer as orders,
                  (count(*) filter (where s.is_completed))::integer as completed,
                  coalesce(sum(round(s.net_amount_usd * 100)) filter (where s.is_completed), 0)::bigint as cents
           from ${T('fct_sales')} s left join ${T('dim_customer')} c using (customer_id)
           where s.order_date between ? and ? group by all`,
          [from, to],
        );
        rows.sort((a, b) => a.date.localeCompare(b.date) || byName(a.grp, b.grp));
        expect(
          answer.series.map((row) => [row.date, row.group, row.orders, row.completedOrders, row.revenueUsd]),
          `${groupBy} ${from}..${to}`,
        ).toEqual(rows.map((row) => [row.date, row.grp, row.orders, row.completed, Number(row.cents) / 100]));
        const totals = new Map<string | null, { orders: number; cents: number }>();
        for (const row of rows) {
          const total = totals.get(row.grp) ?? { orders: 0, cents: 0 };
          total.orders += row.orders;
          total.cents += Number(row.cents);
          totals.set(row.grp, total);
        }
        expect(
          answer.totals.map((row) => [row.group, row.orders, row.revenueUsd]),
          `${groupBy} totals ${from}..${to}`,
        ).toEqual(
          [...totals]
            .sort((a, b) => b[1].cents - a[1].cents || byName(a[0], b[0]))
            .map(([grp, total]) => [grp, total.orders, total.cents / 100]),
        );
      }

      const traffic = await ok<{
        daily: { date: string; sessions: number; purchases: number }[];
        byDevice: { device: string | null; sessions: number }[];
        byReferrer: { referrer: string | null; sessions: number }[];
      }>(world, `/api/historical/traffic?from=${from}&to=${to}`);
      const daily = await sql<{ date: string; sessions: number; purchases: number }>(
        `select session_date::varchar as date, count(*)::integer as sessions, (count(*) filter (where reached_purchase))::integer as purchases
         from ${T('fct_sessions')} where session_date between ? and ? group by 1 order by 1`,
        [from, to],
      );
      expect(traffic.daily, `traffic ${from}..${to}`).toEqual(daily);
      for (const [column, list] of [
        ['device', traffic.byDevice.map((row) => [row.device, row.sessions])],
        ['referrer', traffic.byReferrer.map((row) => [row.referrer, row.sessions])],
      ] as const) {
        const counts = await sql<{ key: string | null; sessions: number }>(
          `select ${column} as key, count(*)::integer as sessions from ${T('fct_sessions')}
           where session_date between ? and ? group by 1`,
          [from, to],
        );
        counts.sort((a, b) => b.sessions - a.sessions || byName(a.key, b.key));
        expect(list, `${column} ${from}..${to}`).toEqual(counts.map((row) => [row.key, row.sessions]));
      }
    }
  }, 180_000);

  it('sends the revenue answer sliced from the JSON of every day byte for byte as JSON.stringify makes it', async () => {
    const gold = createGoldReader({ warehouse: world.access, cache: createAnswerCache() });
    const ranges: DateRange[] = [...RANGES.map(([from, to]) => ({ from, to })), { from: null, to: null }];
    for (const range of ranges)
      for (const groupBy of REVENUE_GROUPINGS) {
        const expected = JSON.stringify({ range, ...(await revenueSeries(gold, range, groupBy)) });
        expect(
          (await revenueSeriesJson(gold, range, groupBy)).toString(),
          `${groupBy} ${range.from}..${range.to}`,
        ).toBe(expected);
        const query = `${range.from ? `from=${range.from}&` : ''}${range.to ? `to=${range.to}&` : ''}groupBy=${groupBy}`;
        const response = await world.server.app.inject({ method: 'GET', url: `/api/historical/revenue?${query}` });
        expect(response.body, `HTTP ${groupBy} ${range.from}..${range.to}`).toBe(expected);
      }
  });

  it('gives every snapshot its risk figures, revenue at risk and customers at risk as SQL does', async () => {
    const dates = (
      await sql<{ d: string }>(
        `select distinct snapshot_date::varchar as d from ${T('fact_predictions_churn')} order by 1`,
      )
    ).map((row) => row.d);
    expect(dates.length).toBeGreaterThan(3);
    for (const snapshot of [...dates, '2020-01-01']) {
      const risk = await ok<{
        customers: number;
        bands: { band: string; customers: number }[];
        histogram: { customers: number }[];
      }>(world, `/api/predictive/risk?snapshot=${snapshot}`);
      const [counts] = await sql(
        `select count(*) as n, count(*) filter (where risk_band = 'high') as high, count(*) filter (where churn_probability >= 0.95) as top_bin
         from ${T('fact_predictions_churn')} where snapshot_date = ?`,
        [snapshot],
      );
      expect(risk.customers, snapshot).toBe(counts!.n);
      expect(risk.bands.find((band) => band.band === 'high')!.customers, snapshot).toBe(counts!.high);
      expect(risk.histogram[19]!.customers, snapshot).toBe(counts!.top_bin);

      const atRisk = await ok<{
        highRiskCustomers: number;
        revenueAtRiskUsd: number;
        customers: {
          customerId: string;
          churnProbability: number;
          revenueAtRiskUsd: number;
          lastOrderDate: string | null;
          region: string | null;
        }[];
      }>(world, `/api/predictive/at-risk?snapshot=${snapshot}&band=high&limit=20`);
      const expected = await sql(
        `select p.customer_id, p.churn_probability, c.region,
                (select coalesce(sum(round(s.net_amount_usd * 100)) filter (where s.is_completed), 0)::bigint from ${T('fct_sales')} s
                  where s.customer_id = p.customer_id and s.order_date > ?::date - 90 and s.order_date <= ?::date) as revenue_cents,
                (select max(s.order_date)::varchar from ${T('fct_sales')} s
                  where s.customer_id = p.customer_id and s.order_date > ?::date - 90 and s.order_date <= ?::date) as last_order
         from ${T('fact_predictions_churn')} p left join ${T('dim_customer')} c using (customer_id)
         where p.snapshot_date = ? and p.risk_band = 'high' order by p.churn_probability desc, p.customer_id limit 20`,
        [snapshot, snapshot, snapshot, snapshot, snapshot],
      );
      expect(
        atRisk.customers.map((row) => [
          row.customerId,
          row.churnProbability,
          row.revenueAtRiskUsd,
          row.lastOrderDate,
          row.region,
        ]),
        snapshot,
      ).toEqual(
        expected.map((row) => [
          row.customer_id,
          row.churn_probability,
          Number(row.revenue_cents) / 100,
          row.last_order,
          row.region,
        ]),
      );
      const [high] = await sql(
        `select coalesce(sum(net_amount_usd) filter (where is_completed), 0)::double as revenue from ${T('fct_sales')}
         where order_date > ?::date - 90 and order_date <= ?::date
           and customer_id in (select customer_id from ${T('fact_predictions_churn')} where snapshot_date = ? and risk_band = 'high')`,
        [snapshot, snapshot, snapshot],
      );
      expect(atRisk.highRiskCustomers, snapshot).toBe(counts!.high);
      expect(atRisk.revenueAtRiskUsd, snapshot).toBeCloseTo(cents(high!.revenue), 2);
    }
  });
});
