import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbTransformRunner, openDuckDbWarehouse, type DuckDbWarehouse } from '@mlops/adapters-local';
import { warehouseAccessOf } from '@mlops/testing';
import { tempDir } from '@mlops/testing/suites';
import { closeBronzeWriter, writeGeneratedDay, type WorldSettings } from './bronze.fixtures.js';

const PROJECT = resolve(import.meta.dirname, '../../../../dataform');
const FIRST = '2026-01-05';
// Built dates with gaps, placed on the edges of the windows as seen from 2026-01-05: 6 and 7 days
// later (the 7-day window), 13 and 14 (the previous week of the session trend), 29 and 30 (the
// 30-day window), 89 and 90 (the 90-day lookback), and a date after a long gap.
const DATES = [
  '2026-01-05',
  '2026-01-06',
  '2026-01-11',
  '2026-01-12',
  '2026-01-18',
  '2026-01-19',
  '2026-02-03',
  '2026-02-04',
  '2026-04-04',
  '2026-04-05',
  '2026-04-06',
];
// Built after the others: a late date that rewrites the later snapshots within its lookback.
const LATE = '2026-01-12';
const WORLD: WorldSettings = { seed: 23, scale: 0.1, dirtyShare: 0.02 };

// The features' point-in-time definition, written the direct way: every snapshot joined to every
// customer day and click day of its 90-day lookback (run_date <= snapshot), then aggregated.
const REFERENCE = `
with snapshots as (select run_date as snapshot_date from staging.stg_pipeline__run_dates),
order_days as (
  select s.snapshot_date, d.*, date_diff('day', d.run_date, s.snapshot_date) as days_ago
  from snapshots as s
  join warehouse.fct_customer_days as d
    on d.run_date between s.snapshot_date - 89 and s.snapshot_date and d.first_order_date <= s.snapshot_date
),
orders as (
  select
    snapshot_date, customer_id,
    arg_max(customer_segment, run_date) as customer_segment,
    date_diff('day', max(last_order_date), snapshot_date) as days_since_last_order,
    date_diff('day', min(first_order_date), snapshot_date) as days_since_first_order_90d,
    sum(orders) filter (days_ago < 7)::bigint as orders_7d,
    sum(orders) filter (days_ago < 30)::bigint as orders_30d,
    sum(orders)::bigint as orders_90d,
    coalesce(sum(revenue_cents) filter (days_ago < 7), 0)::double / 100 as revenue_usd_7d,
    coalesce(sum(revenue_cents) filter (days_ago < 30), 0)::double / 100 as revenue_usd_30d,
    sum(revenue_cents)::double / 100 as revenue_usd_90d,
    sum(completed_orders)::bigint as completed_orders_90d,
    sum(returns)::bigint as returns_90d,
    sum(cancellations)::bigint as cancellations_90d,
    count(*) as active_days_90d,
    sum(products)::bigint as products_90d
  from order_days
  group by snapshot_date, customer_id
),
click_days as (
  select s.snapshot_date, c.*, date_diff('day', c.activity_date, s.snapshot_date) as days_ago
  from snapshots as s
  join warehouse.fct_click_features as c on c.activity_date between s.snapshot_date - 89 and s.snapshot_date
),
clicks as (
  select
    snapshot_date, customer_id,
    sum(sessions) filter (days_ago < 7)::bigint as sessions_7d,
    sum(sessions) filter (days_ago < 30)::bigint as sessions_30d,
    sum(sessions)::bigint as sessions_90d,
    sum(sessions) filter (days_ago between 7 and 13)::bigint as sessions_prev_7d,
    sum(page_views) filter (days_ago < 30)::bigint as page_views_30d,
    sum(purchases) filter (days_ago < 30)::bigint as purchases_30d,
    sum(duration_ms) filter (days_ago < 30)::bigint as click_duration_ms_30d,
    min(days_ago) as days_since_last_session
  from click_days
  group by snapshot_date, customer_id
)
select
  orders.customer_id, orders.snapshot_date, customer_segment, days_since_last_order, days_since_first_order_90d,
  coalesce(orders_7d, 0) as orders_7d, coalesce(orders_30d, 0) as orders_30d, orders_90d,
  revenue_usd_7d, revenue_usd_30d, revenue_usd_90d,
  completed_orders_90d, returns_90d, cancellations_90d, active_days_90d, products_90d,
  coalesce(sessions_7d, 0) as sessions_7d, coalesce(sessions_30d, 0) as sessions_30d,
  coalesce(sessions_90d, 0) as sessions_90d, coalesce(sessions_prev_7d, 0) as sessions_prev_7d,
  coalesce(page_views_30d, 0) as page_views_30d, coalesce(purchases_30d, 0) as purchases_30d,
  coalesce(click_duration_ms_30d, 0) as click_duration_ms_30d,
  coalesce(days_since_last_session, 90) as days_since_last_session
from orders
left join clicks using (snapshot_date, customer_id)`;

const COLUMNS = `customer_id, snapshot_date, customer_segment, days_since_last_order, days_since_first_order_90d,
  orders_7d, orders_30d, orders_90d, revenue_usd_7d, revenue_usd_30d, revenue_usd_90d,
  completed_orders_90d, returns_90d, cancellations_90d, active_days_90d, products_90d,
  sessions_7d, sessions_30d, sessions_90d, sessions_prev_7d, page_views_30d, purchases_30d,
  click_duration_ms_30d, days_since_last_session`;

describe('fct_customer_features equals its point-in-time definition on dates with gaps', () => {
  const dir = tempDir('mlops-dataform-features-');
  const lake = join(dir.path, 'lake');
  let warehouse: DuckDbWarehouse;

  beforeAll(async () => {
    for (const date of DATES) await writeGeneratedDay(lake, date, WORLD, FIRST);
    warehouse = await openDuckDbWarehouse({ path: join(dir.path, 'w.duckdb') });
    const runner = new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: lake,
      warehouse: warehouseAccessOf(warehouse),
    });
    for (const runDates of [DATES.filter((date) => date !== LATE), [LATE]]) {
      const result = await runner.run({ runDates });
      expect(result.assertions.filter((assertion) => !assertion.passed)).toEqual([]);
    }
  }, 300_000);

  afterAll(async () => {
    await warehouse?.close();
    await closeBronzeWriter();
    dir.remove();
  });

  const count = async (sql: string) =>
    Number((await warehouse.query<{ n: number }>(`select count(*) as n from (${sql})`))[0]!.n);

  it('has the same rows as the snapshot x day join, both ways', async () => {
    const model = `select ${COLUMNS} from warehouse.fct_customer_features`;
    const reference = `select ${COLUMNS} from (${REFERENCE})`;
    const rows = await count(reference);
    expect(rows).toBeGreaterThan(500);
    expect(await count(model)).toBe(rows);
    expect(await count(`${model} except all ${reference}`)).toBe(0);
    expect(await count(`${reference} except all ${model}`)).toBe(0);
  });

  it('covers the window edges the rewrite must get right', async () => {
    const reference = `(${REFERENCE})`;
    // A customer whose latest order day is 89 days back is in (the row exists); 90 days back, out.
    expect(await count(`select 1 from ${reference} where days_since_last_order = 89`)).toBeGreaterThan(0);
    // Orders exactly 6 and 7 days back (in and out of the 7-day window), 29 and 30 (the 30-day one).
    expect(
      await count(`select 1 from ${reference} where orders_7d < orders_30d and orders_30d < orders_90d`),
    ).toBeGreaterThan(0);
    expect(await count(`select 1 from ${reference} where orders_7d = 0`)).toBeGreaterThan(0);
    // Sessions in the previous week only, and customers with orders but no sessions in the lookback.
    expect(await count(`select 1 from ${reference} where sessions_prev_7d > 0 and sessions_7d = 0`)).toBeGreaterThan(0);
    expect(await count(`select 1 from ${reference} where days_since_last_session = 90`)).toBeGreaterThan(0);
  });
});
