import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataformCompiler,
  DuckDbTransformRunner,
  openDuckDbWarehouse,
  type DuckDbWarehouse,
} from '@mlops/adapters-local';
import { type TransformRunResult } from '@mlops/kernel';
import { warehouseAccessOf } from '@mlops/testing';
import { tempDir } from '@mlops/testing/suites';
import { closeBronzeWriter, writeBronzePartition } from './bronze.fixtures.js';
import { CLICKS, RUN_DATE, SALES, STARTUPS } from './dirty.fixtures.js';

const PROJECT = resolve(import.meta.dirname, '../../../../dataform');
const W = 'warehouse.warehouse';

// The BI views Looker Studio charts: built by the same runner as every action, from dirty bronze.
describe('the BI views on DuckDB', () => {
  const dir = tempDir('mlops-bi-views-');
  const lake = join(dir.path, 'lake');
  let warehouse: DuckDbWarehouse;
  let runner: DuckDbTransformRunner;
  let first: TransformRunResult;

  beforeAll(async () => {
    await writeBronzePartition(lake, 'sales', RUN_DATE, [
      ...Object.values(SALES.clean).map((entry) => entry.record),
      ...Object.values(SALES.rejected).map((entry) => entry.record),
      SALES.duplicate,
      SALES.conflict,
    ]);
    await writeBronzePartition(lake, 'clickstream', RUN_DATE, [
      ...Object.values(CLICKS.clean),
      ...Object.values(CLICKS.rejected).map((entry) => entry.record),
      CLICKS.duplicate,
    ]);
    await writeBronzePartition(lake, 'startups', RUN_DATE, Object.values(STARTUPS.clean));
    warehouse = await openDuckDbWarehouse({ path: join(dir.path, 'warehouse.duckdb') });
    runner = new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: lake,
      warehouse: warehouseAccessOf(warehouse),
      compiler: new DataformCompiler({ projectDir: PROJECT }),
    });
    first = await runner.run({ runDates: [RUN_DATE] });
  }, 240_000);

  afterAll(async () => {
    await warehouse?.close();
    await closeBronzeWriter();
    dir.remove();
  });

  it('builds the views and their assertions with the rest of the project', () => {
    const views = first.actions.filter((action) => action.name.startsWith('warehouse.bi_'));
    expect(views.map((action) => `${action.name}:${action.type}:${action.status}`).sort()).toEqual([
      'warehouse.bi_churn_current:view:succeeded',
      'warehouse.bi_customer_category_sales_daily:view:succeeded',
      'warehouse.bi_customer_sales_daily:view:succeeded',
      'warehouse.bi_funnel_daily:view:succeeded',
      'warehouse.bi_product_sales_daily:view:succeeded',
      'warehouse.bi_sales_daily:view:succeeded',
    ]);
    const checks = first.assertions.filter((assertion) => assertion.name.includes('_bi_'));
    // Key and row conditions of each view: two partition checks per daily view, two built-in on the churn view.
    expect(checks).toHaveLength(12);
    expect(checks.filter((assertion) => !assertion.passed)).toEqual([]);
  });

  it('sums every gold order into bi_sales_daily, by status, once', async () => {
    const [view] = await warehouse.query<Record<string, string>>(
      `select sum(orders)::varchar as orders, sum(completed_orders)::varchar as completed,
              sum(returned_orders + cancelled_orders)::varchar as other, sum(net_revenue_usd)::varchar as revenue
       from ${W}.bi_sales_daily`,
    );
    const [gold] = await warehouse.query<Record<string, string>>(
      `select count(*)::varchar as orders, count(*) filter (where is_completed)::varchar as completed,
              count(*) filter (where not is_completed)::varchar as other,
              sum(case when is_completed then net_amount_usd else 0 end)::varchar as revenue
       from ${W}.fct_sales`,
    );
    expect(Number(view?.orders)).toBe(Object.keys(SALES.clean).length);
    expect(view).toEqual(gold);
  });

  it('sums every gold order into bi_customer_sales_daily once, revenue in cents of each completed order', async () => {
    const [view] = await warehouse.query<Record<string, string>>(
      `select count(*)::varchar as days, sum(orders)::varchar as orders, sum(completed_orders)::varchar as completed,
              sum(revenue_cents)::varchar as revenue_cents
       from ${W}.bi_customer_sales_daily`,
    );
    const [gold] = await warehouse.query<Record<string, string>>(
      `select count(distinct (customer_id, order_date))::varchar as days, count(*)::varchar as orders,
              count(*) filter (where is_completed)::varchar as completed,
              sum(case when is_completed then round(net_amount_usd * 100)::bigint else 0 end)::varchar as revenue_cents
       from ${W}.fct_sales where order_date is not null`,
    );
    expect(Number(view?.orders)).toBeGreaterThan(0);
    expect(view).toEqual(gold);
  });

  // Each cube view against fct_sales: its rows are the distinct keys, its sums every dated order once.
  it.each([
    ['bi_customer_category_sales_daily', 'customer_id, order_date, category'],
    ['bi_product_sales_daily', 'product_id, order_date'],
  ])('sums every gold order into %s once, units and revenue in cents of each completed order', async (view, key) => {
    const [cube] = await warehouse.query<Record<string, string>>(
      `select count(*)::varchar as rows, sum(orders)::varchar as orders, sum(completed_orders)::varchar as completed,
              sum(completed_units)::varchar as units, sum(revenue_cents)::varchar as revenue_cents
       from ${W}.${view}`,
    );
    const [gold] = await warehouse.query<Record<string, string>>(
      `select count(distinct (${key}))::varchar as rows, count(*)::varchar as orders,
              count(*) filter (where is_completed)::varchar as completed,
              sum(case when is_completed then quantity else 0 end)::varchar as units,
              sum(case when is_completed then round(net_amount_usd * 100)::bigint else 0 end)::varchar as revenue_cents
       from ${W}.fct_sales where order_date is not null`,
    );
    expect(Number(cube?.completed)).toBeGreaterThan(0);
    expect(cube).toEqual(gold);
    // Per key too: no group is merged or split.
    const differing = await warehouse.query(
      `with gold as (
         select ${key}, count(*) as orders, count(*) filter (where is_completed) as completed_orders,
                sum(case when is_completed then quantity else 0 end) as completed_units,
                sum(case when is_completed then round(net_amount_usd * 100)::bigint else 0 end) as revenue_cents
         from ${W}.fct_sales where order_date is not null group by ${key}
       )
       (select ${key}, orders, completed_orders, completed_units, revenue_cents from ${W}.${view}
        except all select * from gold)
       union all
       (select * from gold
        except all select ${key}, orders, completed_orders, completed_units, revenue_cents from ${W}.${view})`,
    );
    expect(differing).toEqual([]);
  });

  it('counts each web session once in bi_funnel_daily', async () => {
    const [row] = await warehouse.query<{ view: string; gold: string }>(
      `select (select sum(sessions) from ${W}.bi_funnel_daily)::varchar as view,
              (select count(*) from ${W}.fct_sessions)::varchar as gold`,
    );
    expect(Number(row?.gold)).toBeGreaterThan(0);
    expect(row?.view).toBe(row?.gold);
  });

  it('shows only the latest snapshot in bi_churn_current, with the customer value at risk', async () => {
    const customers = await warehouse.query<{ customer_id: string; revenue: number }>(
      `select customer_id, lifetime_revenue_usd::double as revenue from ${W}.dim_customer order by customer_id`,
    );
    expect(customers.length).toBeGreaterThan(0);
    await warehouse.execute(`delete from ${W}.fact_predictions_churn`);
    for (const [snapshot, probability] of [
      ['2026-01-04', 0.9],
      ['2026-01-05', 0.25],
    ] as const)
      for (const customer of customers)
        await warehouse.execute(
          `insert into ${W}.fact_predictions_churn values (?, ?::date, ?, ?, 'v1', now(), false, date '2026-01-01')`,
          [customer.customer_id, snapshot, probability, probability > 0.5 ? 'high' : 'low'],
        );
    const rows = await warehouse.query<{ customer_id: string; snapshot: string; risk: number; at_risk: number }>(
      `select customer_id, snapshot_date::varchar as snapshot, churn_probability as risk,
              revenue_at_risk_usd::double as at_risk
       from ${W}.bi_churn_current order by customer_id`,
    );
    expect(rows.map((row) => [row.customer_id, row.snapshot, row.risk])).toEqual(
      customers.map((customer) => [customer.customer_id, '2026-01-05', 0.25]),
    );
    for (const [index, row] of rows.entries()) expect(row.at_risk).toBeCloseTo(customers[index]!.revenue * 0.25, 6);
  });

  it('keeps one row per customer when another version scores the latest snapshot, and the table check fails on a repeated row', async () => {
    const [customer] = await warehouse.query<{ customer_id: string }>(
      `select customer_id from ${W}.fact_predictions_churn limit 1`,
    );
    // Another version scoring the same snapshot: the champion view picks one, the BI view stays one per customer.
    await warehouse.execute(
      `insert into ${W}.fact_predictions_churn values (?, date '2026-01-05', 0.5, 'medium', 'v2', now(), false, date '2025-12-01')`,
      [customer!.customer_id],
    );
    const clean = await runner.run({ runDates: [RUN_DATE] });
    expect(clean.assertions.filter((assertion) => !assertion.passed).map((assertion) => assertion.name)).toEqual([]);
    // The same version twice for one snapshot breaks the table's grain: its contract check fails.
    await warehouse.execute(
      `insert into ${W}.fact_predictions_churn values (?, date '2026-01-05', 0.25, 'low', 'v1', now(), false, date '2026-01-01')`,
      [customer!.customer_id],
    );
    const result = await runner.run({ runDates: [RUN_DATE] });
    const failed = result.assertions.filter((assertion) => !assertion.passed).map((assertion) => assertion.name);
    expect(failed).toEqual(['assert_fact_predictions_churn']);
  }, 240_000);
});
