import { silentLogger, TransientError, type WarehouseAccess } from '@mlops/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardServer } from '../src/index.js';
import { ok, T } from './fixtures/http.js';
import { buildWorld, type World } from './fixtures/world.fixture.js';

// Answers are cached per warehouse version: a write to the warehouse must show at once.
let world: World;

beforeAll(async () => {
  world = await buildWorld({ days: 30, scale: 0.05 });
});
afterAll(async () => {
  await world?.close();
});

describe('cached answers', () => {
  it('reflect new data as soon as the warehouse changes', async () => {
    const url = '/api/kpis?view=historical&from=2026-06-30&to=2026-06-30';
    const before = await ok<{ kpis: { orders: number; revenueUsd: number } }>(world, url);
    expect((await ok<{ kpis: { orders: number } }>(world, url)).kpis.orders).toBe(before.kpis.orders);
    await world.sql.execute(
      `insert into ${T('fct_sales')} select 'ord_new_' || order_id, customer_id, ordered_at, order_date, product_id, product_name, category, quantity,
              unit_price_usd, discount_pct, gross_amount_usd, 1000.00, payment_method, channel, 'completed', true, run_date
       from ${T('fct_sales')} where order_date = date '2026-06-30' limit 3`,
    );
    const after = await ok<{ kpis: { orders: number; revenueUsd: number } }>(world, url);
    expect(after.kpis.orders).toBe(before.kpis.orders + 3);
    expect(after.kpis.revenueUsd).toBeCloseTo(before.kpis.revenueUsd + 3000, 2);
  });

  it('reflect new data in what is derived once per version: day JSON, block top lists, revenue at risk', async () => {
    type Revenue = { series: { group: string | null; revenueUsd: number }[] };
    type Top = { customers: { customerId: string; revenueUsd: number }[] };
    type Kpis = { snapshotDate: string; kpis: { revenueAtRiskUsd: number } };
    const kpis = () => ok<Kpis>(world, '/api/kpis?view=predictive');
    const { snapshotDate: day, kpis: before } = await kpis();
    const revenueUrl = `/api/historical/revenue?from=${day}&to=${day}&groupBy=category`;
    // A long range: its top list is read from the per-block lists.
    const topUrl = `/api/historical/top-customers?from=2026-01-01&to=${day}&limit=3`;
    const revenueBefore = await ok<Revenue>(world, revenueUrl);
    const topBefore = await ok<Top>(world, topUrl);
    const [high] = await world.sql.query<{ customer_id: string }>(
      `select customer_id from ${T('fact_predictions_churn')} where snapshot_date = ? and risk_band = 'high' order by customer_id limit 1`,
      [day],
    );
    const [order] = await world.sql.query<{ category: string }>(
      `select category from ${T('fct_sales')} where order_date = ? order by order_id limit 1`,
      [day],
    );
    await world.sql.execute(
      `insert into ${T('fct_sales')} select 'ord_big_' || order_id, ?, ordered_at, order_date, product_id, product_name, category, quantity,
              unit_price_usd, discount_pct, gross_amount_usd, 1000000.00, payment_method, channel, 'completed', true, run_date
       from ${T('fct_sales')} where order_date = ? order by order_id limit 1`,
      [high!.customer_id, day],
    );
    const sum = (answer: Revenue) =>
      answer.series.filter((row) => row.group === order!.category).reduce((total, row) => total + row.revenueUsd, 0);
    expect(sum(await ok<Revenue>(world, revenueUrl))).toBeCloseTo(sum(revenueBefore) + 1_000_000, 2);
    const topAfter = await ok<Top>(world, topUrl);
    expect(topAfter.customers[0]!.customerId).toBe(high!.customer_id);
    expect(topAfter.customers[0]!.revenueUsd).toBeGreaterThanOrEqual(1_000_000);
    expect(topAfter.customers).not.toEqual(topBefore.customers);
    expect((await kpis()).kpis.revenueAtRiskUsd).toBeCloseTo(before.revenueAtRiskUsd + 1_000_000, 2);
  });

  it('are warmed up once per warehouse version', async () => {
    expect(await world.server.warm()).toBe(true);
    expect(await world.server.warm()).toBe(false);
    await world.sql.execute(
      `update ${T('dim_startup')} set headcount = headcount + 1 where company_id = (select min(company_id) from ${T('dim_startup')})`,
    );
    expect(await world.server.warm()).toBe(true);
  });

  it('reflect new ledger events within the live cache slot', async () => {
    const before = await ok<{ total: number }>(world, '/api/operations/runs');
    const { createEvent } = await import('@mlops/kernel');
    await world.ops.ledger.record(
      createEvent(
        'mlops.pipeline.started.v1',
        { runDate: '2026-07-01', trigger: 'cli' },
        { source: '//mlops/cli', runid: 'run_new', rundate: '2026-07-01' },
      ) as never,
    );
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const after = await ok<{ total: number }>(world, '/api/operations/runs');
    expect(after.total).toBe(before.total + 1);
  });
});

describe('after the warm-up', () => {
  it('reads the warehouse no more, however many distinct answers evict each other from the cache', async () => {
    let reads = 0;
    const access: WarehouseAccess = {
      read: (work, options) => {
        reads += 1;
        return world.access.read(work, options);
      },
      write: (work, options) => world.access.write(work, options),
      version: () => world.access.version(),
      close: async () => undefined,
    };
    const server = await createDashboardServer({
      warehouse: access,
      ledger: world.ops.ledger,
      registry: world.ops.registry,
      bus: world.ops.bus,
      log: silentLogger,
      cacheEntries: 5,
    });
    try {
      expect(await server.warm()).toBe(true);
      const warmed = reads;
      expect(warmed).toBeGreaterThan(0);
      for (let day = 1; day <= 20; day += 1) {
        const range = `from=2026-06-${String(day).padStart(2, '0')}&to=2026-06-30`;
        for (const url of [
          `/api/historical/revenue?${range}&groupBy=category`,
          `/api/historical/top-customers?${range}&limit=5`,
          `/api/kpis?view=historical&${range}`,
          // Asks which gold tables exist (the catalog) on every answer.
          `/api/predictive/predicted-vs-actual?from=2026-01-${String(day).padStart(2, '0')}&to=2026-06-30&limit=4`,
        ])
          expect((await server.app.inject({ method: 'GET', url })).statusCode).toBe(200);
      }
      expect(reads).toBe(warmed);
    } finally {
      await server.close();
    }
  });
});

describe('while a writer holds the warehouse', () => {
  it('answers with the last answer it computed, marked stale, and never opens a write session', async () => {
    let busy = false;
    let version = 'v1';
    const writes: string[] = [];
    const access: WarehouseAccess = {
      read: (work, options) =>
        busy
          ? Promise.reject(new TransientError('WAREHOUSE.BUSY', 'held by a test writer'))
          : world.access.read(work, options),
      write: async (_work, options) => {
        writes.push(options?.purpose ?? 'unnamed');
        throw new Error('the dashboard must not write');
      },
      version: async () => version,
      close: async () => undefined,
    };
    const server = await createDashboardServer({
      warehouse: access,
      ledger: world.ops.ledger,
      registry: world.ops.registry,
      bus: world.ops.bus,
      log: silentLogger,
    });
    try {
      const ask = (url: string) => server.app.inject({ method: 'GET', url });
      const url = '/api/kpis?view=historical&from=2026-06-01&to=2026-06-30';
      const first = await ask(url);
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-mlops-data']).toBe('current');

      // A write session has ended (new version) and the next one holds the warehouse.
      version = 'v2';
      busy = true;
      const stale = await ask(url);
      expect(stale.statusCode).toBe(200);
      expect(stale.headers['x-mlops-data']).toBe('stale');
      expect(stale.body).toBe(first.body);
      const never = await ask('/api/kpis?view=historical&from=2026-05-01&to=2026-05-31');
      expect(never.statusCode).toBe(503);
      expect(JSON.parse(never.body).error.code).toBe('DASHBOARD.WAREHOUSE_UNAVAILABLE');

      busy = false;
      expect((await ask(url)).headers['x-mlops-data']).toBe('current');
      expect(await server.warm()).toBe(true);
      expect(writes).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
