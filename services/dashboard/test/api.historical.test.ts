import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, T } from './fixtures/http.js';
import { buildWorld, type World } from './fixtures/world.fixture.js';

// The API's numbers, checked against SQL the test writes itself over the same warehouse.
let world: World;
const FROM = '2026-05-01';
const TO = '2026-05-31';
const sql = <R extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
  world.sql.query(text, params as never) as Promise<R[]>;

beforeAll(async () => {
  world = await buildWorld();
});
afterAll(async () => {
  await world?.close();
});

describe('historical API', () => {
  it('answers the key figures of a date range', async () => {
    const { kpis } = await ok<{ kpis: Record<string, number> }>(
      world,
      `/api/kpis?view=historical&from=${FROM}&to=${TO}`,
    );
    const [sales] = await sql(
      `select count(*) as orders, count(*) filter (where is_completed) as completed, sum(net_amount_usd) filter (where is_completed)::double as revenue,
              count(distinct customer_id) as customers, sum(quantity) filter (where is_completed) as units
       from ${T('fct_sales')} where order_date between ? and ?`,
      [FROM, TO],
    );
    const [sessions] = await sql(
      `select count(*) as sessions, count(*) filter (where reached_purchase) as purchases from ${T('fct_sessions')} where session_date between ? and ?`,
      [FROM, TO],
    );
    const [startups] = await sql(`select count(*) as n from ${T('dim_startup')}`);
    expect(kpis.orders).toBe(sales!.orders);
    expect(kpis.completedOrders).toBe(sales!.completed);
    expect(kpis.revenueUsd).toBeCloseTo(Number(sales!.revenue), 2);
    expect(kpis.customers).toBe(sales!.customers);
    expect(kpis.units).toBe(sales!.units);
    expect(kpis.averageOrderValueUsd).toBeCloseTo(Number(sales!.revenue) / Number(sales!.completed), 2);
    expect(kpis.sessions).toBe(sessions!.sessions);
    expect(kpis.conversionRate).toBeCloseTo(Number(sessions!.purchases) / Number(sessions!.sessions), 12);
    expect(kpis.startups).toBe(startups!.n);
    expect(kpis.orders).toBeGreaterThan(1000);
  });

  it('gives revenue and orders per day', async () => {
    const answer = await ok<{ series: { date: string; group: null; orders: number; revenueUsd: number }[] }>(
      world,
      `/api/historical/revenue?from=${FROM}&to=${TO}`,
    );
    const expected = await sql(
      `select order_date::varchar as date, count(*) as orders, coalesce(sum(net_amount_usd) filter (where is_completed), 0)::double as revenue
       from ${T('fct_sales')} where order_date between ? and ? group by 1 order by 1`,
      [FROM, TO],
    );
    expect(answer.series.map((row) => row.date)).toEqual(expected.map((row) => row.date));
    expect(answer.series).toHaveLength(31);
    answer.series.forEach((row, index) => {
      expect(row.orders).toBe(expected[index]!.orders);
      expect(row.revenueUsd).toBeCloseTo(Number(expected[index]!.revenue), 2);
    });
  });

  it('splits revenue by customer region and by category', async () => {
    const byRegion = await ok<{ totals: { group: string; orders: number; revenueUsd: number }[]; series: unknown[] }>(
      world,
      `/api/historical/revenue?groupBy=region&from=${FROM}&to=${TO}`,
    );
    const regions = await sql(
      `select c.region as grp, count(*) as orders, coalesce(sum(s.net_amount_usd) filter (where s.is_completed), 0)::double as revenue
       from ${T('fct_sales')} s left join ${T('dim_customer')} c using (customer_id)
       where s.order_date between ? and ? group by 1 order by revenue desc`,
      [FROM, TO],
    );
    expect(byRegion.totals.map((row) => row.group)).toEqual(regions.map((row) => row.grp));
    byRegion.totals.forEach((row, index) => {
      expect(row.orders).toBe(regions[index]!.orders);
      expect(row.revenueUsd).toBeCloseTo(Number(regions[index]!.revenue), 2);
    });
    expect(byRegion.series.length).toBe(31 * regions.length);

    const byCategory = await ok<{ totals: { group: string; revenueUsd: number }[] }>(
      world,
      `/api/historical/revenue?groupBy=category&from=${FROM}&to=${TO}`,
    );
    const categories = await sql(
      `select category as grp, coalesce(sum(net_amount_usd) filter (where is_completed), 0)::double as revenue
       from ${T('fct_sales')} where order_date between ? and ? group by 1 order by revenue desc`,
      [FROM, TO],
    );
    expect(byCategory.totals.map((row) => [row.group, Math.round(row.revenueUsd * 100)])).toEqual(
      categories.map((row) => [row.grp, Math.round(Number(row.revenue) * 100)]),
    );
  });

  it('ranks the top customers and products of the range', async () => {
    const customers = await ok<{
      customers: { customerId: string; orders: number; revenueUsd: number; region: string }[];
    }>(world, `/api/historical/top-customers?from=${FROM}&to=${TO}&limit=7`);
    const expected = await sql(
      `select s.customer_id, count(*) as orders, coalesce(sum(s.net_amount_usd) filter (where s.is_completed), 0)::double as revenue, any_value(c.region) as region
       from ${T('fct_sales')} s left join ${T('dim_customer')} c using (customer_id)
       where s.order_date between ? and ? group by 1 order by revenue desc, 1 limit 7`,
      [FROM, TO],
    );
    expect(customers.customers.map((row) => [row.customerId, row.orders, row.revenueUsd, row.region])).toEqual(
      expected.map((row) => [row.customer_id, row.orders, Math.round(Number(row.revenue) * 100) / 100, row.region]),
    );

    const products = await ok<{ products: { productId: string; units: number; revenueUsd: number }[] }>(
      world,
      `/api/historical/top-products?from=${FROM}&to=${TO}&limit=5`,
    );
    const expectedProducts = await sql(
      `select product_id, sum(quantity) filter (where is_completed) as units, sum(net_amount_usd) filter (where is_completed)::double as revenue
       from ${T('fct_sales')} where order_date between ? and ? group by 1 order by revenue desc, 1 limit 5`,
      [FROM, TO],
    );
    expect(products.products.map((row) => [row.productId, row.units, row.revenueUsd])).toEqual(
      expectedProducts.map((row) => [row.product_id, row.units, Math.round(Number(row.revenue) * 100) / 100]),
    );
  });

  it('counts the clickstream funnel and traffic', async () => {
    const funnel = await ok<{ steps: { step: string; sessions: number }[] }>(
      world,
      `/api/historical/funnel?from=${FROM}&to=${TO}`,
    );
    const [expected] = await sql(
      `select count(*) as s, count(*) filter (where reached_product_view) as pv, count(*) filter (where reached_cart) as c,
              count(*) filter (where reached_checkout) as co, count(*) filter (where reached_purchase) as p
       from ${T('fct_sessions')} where session_date between ? and ?`,
      [FROM, TO],
    );
    expect(funnel.steps.map((step) => step.sessions)).toEqual([
      expected!.s,
      expected!.pv,
      expected!.c,
      expected!.co,
      expected!.p,
    ]);
    expect(funnel.steps.map((step) => step.step)).toEqual(['session', 'product_view', 'cart', 'checkout', 'purchase']);

    const traffic = await ok<{
      daily: { date: string; sessions: number }[];
      byDevice: { device: string; sessions: number }[];
      byReferrer: { referrer: string; sessions: number }[];
    }>(world, `/api/historical/traffic?from=${FROM}&to=${TO}`);
    const devices = await sql(
      `select device, count(*) as n from ${T('fct_sessions')} where session_date between ? and ? group by 1 order by n desc, 1`,
      [FROM, TO],
    );
    expect(traffic.byDevice.map((row) => [row.device, row.sessions])).toEqual(
      devices.map((row) => [row.device, row.n]),
    );
    const referrers = await sql(
      `select referrer, count(*) as n from ${T('fct_sessions')} where session_date between ? and ? group by 1 order by n desc, 1`,
      [FROM, TO],
    );
    expect(traffic.byReferrer.map((row) => [row.referrer, row.sessions])).toEqual(
      referrers.map((row) => [row.referrer, row.n]),
    );
    const daily = await sql(
      `select session_date::varchar as d, count(*) as n from ${T('fct_sessions')} where session_date between ? and ? group by 1 order by 1`,
      [FROM, TO],
    );
    expect(traffic.daily.map((row) => [row.date, row.sessions])).toEqual(daily.map((row) => [row.d, row.n]));
  });

  it('summarises startups by sector, status and funding', async () => {
    const answer = await ok<{
      companies: number;
      bySector: { sector: string; companies: number; totalFundingUsd: number }[];
      byStatus: { status: string; companies: number }[];
      top: { companyId: string; totalFundingUsd: number }[];
    }>(world, '/api/historical/startups?limit=5');
    const sectors = await sql(
      `select sector, count(*) as n, sum(total_funding_usd)::double as f from ${T('dim_startup')} group by 1 order by f desc, 1`,
    );
    expect(answer.bySector.map((row) => [row.sector, row.companies, row.totalFundingUsd])).toEqual(
      sectors.map((row) => [row.sector, row.n, row.f]),
    );
    const statuses = await sql(`select status, count(*) as n from ${T('dim_startup')} group by 1 order by n desc, 1`);
    expect(answer.byStatus.map((row) => [row.status, row.companies])).toEqual(
      statuses.map((row) => [row.status, row.n]),
    );
    const top = await sql(
      `select company_id, total_funding_usd::double as f from ${T('dim_startup')} order by total_funding_usd desc, company_id limit 5`,
    );
    expect(answer.top.map((row) => [row.companyId, row.totalFundingUsd])).toEqual(
      top.map((row) => [row.company_id, row.f]),
    );
  });

  it('changes its answers with the date range', async () => {
    const month = await ok<{ kpis: { revenueUsd: number; orders: number } }>(
      world,
      `/api/kpis?view=historical&from=${FROM}&to=${TO}`,
    );
    const week = await ok<{ kpis: { revenueUsd: number; orders: number } }>(
      world,
      `/api/kpis?view=historical&from=2026-05-25&to=${TO}`,
    );
    const all = await ok<{ kpis: { revenueUsd: number; orders: number } }>(world, '/api/kpis?view=historical');
    expect(week.kpis.orders).toBeLessThan(month.kpis.orders);
    expect(month.kpis.orders).toBeLessThan(all.kpis.orders);
    const [total] = await sql(`select count(*) as n from ${T('fct_sales')}`);
    expect(all.kpis.orders).toBe(total!.n);
  });
});
