import { ModelRegistry, RunLedger, silentLogger } from '@mlops/kernel';
import { InMemoryDocumentStore } from '@mlops/testing';
import { LakeWarehouse } from '@mlops/testing/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardServer, type DashboardServer } from '../src/index.js';
import { get, ok } from './fixtures/http.js';
import { writePredictions } from './fixtures/real-pipeline.fixture.js';

// The gold layer as the real pipeline builds it (platform generators, the Dataform project on
// DuckDB): the dashboard's queries must fit the transformer's actual tables and types.
const DATES = Array.from({ length: 10 }, (_, index) =>
  new Date(Date.parse('2026-03-01T00:00:00Z') + index * 86_400_000).toISOString().slice(0, 10),
);
let built: LakeWarehouse;
let server: DashboardServer;
const sql = <R extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
  built.warehouse.query(text, params as never) as Promise<R[]>;

beforeAll(async () => {
  built = await LakeWarehouse.build(DATES, { seed: 11, scale: 0.2, dirtyShare: 0.02 });
  await writePredictions(built.warehouse, 'warehouse', 'v-000000000001');
  const documents = new InMemoryDocumentStore();
  server = await createDashboardServer({
    warehouse: built.access,
    ledger: new RunLedger(documents),
    registry: new ModelRegistry(documents),
    bus: { listDeadLetters: async () => [], stats: async () => [] },
    log: silentLogger,
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await built?.close();
});

describe('dashboard over the warehouse the real transformer builds', () => {
  it.each([
    '/api/meta',
    '/api/kpis?view=historical',
    '/api/kpis?view=predictive',
    '/api/historical/revenue?groupBy=region',
    '/api/historical/revenue?groupBy=category',
    '/api/historical/top-customers',
    '/api/historical/top-products',
    '/api/historical/funnel',
    '/api/historical/traffic',
    '/api/historical/startups',
    '/api/predictive/snapshots',
    '/api/predictive/risk',
    '/api/predictive/at-risk',
    '/api/predictive/predicted-vs-actual',
  ])('answers %s', async (url) => {
    const response = await get({ server }, url);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  });

  it('reports the sales, sessions and startups the tables hold', async () => {
    const meta = await ok<{ tables: Record<string, boolean>; sales: { from: string; to: string } }>(
      { server },
      '/api/meta',
    );
    expect(Object.values(meta.tables).every(Boolean)).toBe(true);
    expect(meta.sales).toEqual({ from: DATES[0], to: DATES.at(-1) });

    const { kpis } = await ok<{ kpis: Record<string, number> }>(
      { server },
      `/api/kpis?view=historical&from=${DATES[2]}&to=${DATES[7]}`,
    );
    const [sales] = await sql(
      `select count(*) as orders, sum(net_amount_usd) filter (where is_completed)::double as revenue, count(distinct customer_id) as customers
       from warehouse.warehouse.fct_sales where order_date between ? and ?`,
      [DATES[2], DATES[7]],
    );
    expect(kpis.orders).toBe(sales!.orders);
    expect(kpis.revenueUsd).toBeCloseTo(Number(sales!.revenue), 2);
    expect(kpis.customers).toBe(sales!.customers);
    expect(kpis.orders).toBeGreaterThan(500);
    const [sessions] = await sql(
      `select count(*) as n from warehouse.warehouse.fct_sessions where session_date between ? and ?`,
      [DATES[2], DATES[7]],
    );
    expect(kpis.sessions).toBe(sessions!.n);

    const regions = await ok<{ totals: { group: string; revenueUsd: number }[] }>(
      { server },
      '/api/historical/revenue?groupBy=region',
    );
    const expected = await sql(
      `select c.region as grp, sum(s.net_amount_usd) filter (where s.is_completed)::double as revenue
       from warehouse.warehouse.fct_sales s left join warehouse.warehouse.dim_customer c using (customer_id) group by 1 order by revenue desc`,
    );
    expect(regions.totals.map((row) => [row.group, Math.round(row.revenueUsd * 100)])).toEqual(
      expected.map((row) => [row.grp, Math.round(Number(row.revenue) * 100)]),
    );

    const startups = await ok<{ companies: number; totalFundingUsd: number }>({ server }, '/api/historical/startups');
    const [companies] = await sql(
      `select count(*) as n, sum(total_funding_usd)::double as f from warehouse.warehouse.dim_startup`,
    );
    expect(startups.companies).toBe(companies!.n);
    expect(startups.totalFundingUsd).toBeCloseTo(Number(companies!.f), 0);
  });

  it('reads the predictions table the project declares', async () => {
    const risk = await ok<{ snapshotDate: string; customers: number; bands: { band: string; customers: number }[] }>(
      { server },
      '/api/predictive/risk',
    );
    expect(risk.snapshotDate).toBe(DATES.at(-1));
    const [count] = await sql(
      `select count(*) as n from warehouse.warehouse.fact_predictions_churn where snapshot_date = ?`,
      [DATES.at(-1)],
    );
    expect(risk.customers).toBe(count!.n);
    expect(risk.customers).toBeGreaterThan(0);
    const atRisk = await ok<{ customers: { customerId: string; region: string }[] }>(
      { server },
      '/api/predictive/at-risk?limit=5',
    );
    expect(atRisk.customers).toHaveLength(5);
    expect(atRisk.customers.every((row) => typeof row.region === 'string')).toBe(true);
  });
});
