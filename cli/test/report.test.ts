/**
 * The end-of-run report's "most at risk" list, on the embedded DuckDB warehouse: the latest
 * snapshot's scores by the champion of the time (the view's rule), ranked by probability then the
 * revenue of the 90 days before the snapshot, and the lapsed customers of that snapshot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, silentLogger, type Platform } from '@mlops/kernel';
import { createPlatform } from '@mlops/platform';
import { tempDir } from '@mlops/testing';
import type { CliIo } from '../src/io.js';
import { printReport } from '../src/report.js';

function capture(): CliIo & { stdout: string[] } {
  const stdout: string[] = [];
  return { stdout, tty: false, out: (t) => void stdout.push(t), err: () => undefined };
}

describe('printReport: customers most at risk', () => {
  let platform: Platform | undefined;
  let home: { path: string; remove(): void } | undefined;
  afterEach(async () => {
    await platform?.close();
    home?.remove();
  });

  it('ranks the latest snapshot by the champion of the time, then revenue; counts the lapsed', async () => {
    home = tempDir('mlops-report-');
    platform = await createPlatform(loadConfig({ MLOPS_HOME: home.path }), { log: silentLogger });
    await platform.warehouse.write(async (warehouse) => {
      await warehouse.execute('create schema if not exists warehouse');
      await warehouse.execute(`create table warehouse.warehouse.fact_predictions_churn (
        customer_id varchar, snapshot_date date, churn_probability double, risk_band varchar,
        model_version varchar, predicted_at timestamp, is_backfilled boolean, model_data_to date)`);
      // cus_a: two versions at the latest snapshot; the one trained on or before it wins (0.30),
      // not the later backfill (0.99). cus_b and cus_c tie on probability: revenue decides.
      // An older snapshot's high score must not appear.
      await warehouse.execute(`insert into warehouse.warehouse.fact_predictions_churn values
        ('cus_a', date '2026-06-30', 0.30, 'medium', 'v-old', timestamp '2026-07-01 00:00:00', false, date '2026-06-20'),
        ('cus_a', date '2026-06-30', 0.99, 'high', 'v-new', timestamp '2026-07-10 00:00:00', true, date '2026-07-09'),
        ('cus_b', date '2026-06-30', 0.80, 'high', 'v-old', timestamp '2026-07-01 00:00:00', false, date '2026-06-20'),
        ('cus_c', date '2026-06-30', 0.80, 'high', 'v-old', timestamp '2026-07-01 00:00:00', false, date '2026-06-20'),
        ('cus_d', date '2026-06-29', 0.95, 'high', 'v-old', timestamp '2026-07-01 00:00:00', false, date '2026-06-20')`);
      await warehouse.execute(`create view warehouse.warehouse.fact_predictions_churn_champion as
        select customer_id, snapshot_date, churn_probability, risk_band, model_version, predicted_at,
               coalesce(is_backfilled, false) as is_backfilled, model_data_to
        from warehouse.warehouse.fact_predictions_churn
        qualify row_number() over (partition by customer_id, snapshot_date
          order by coalesce(is_backfilled, false), coalesce(abs(date_diff('day', snapshot_date, model_data_to)), 1000000),
                   predicted_at desc, model_version) = 1`);
      await warehouse.execute(`create table warehouse.warehouse.fct_sales as select * from (values
        ('cus_c', date '2026-06-30', true, 500.0), ('cus_b', date '2026-06-01', true, 100.0),
        ('cus_b', date '2026-03-01', true, 9000.0), ('cus_c', date '2026-06-15', false, 7000.0))
        t(customer_id, order_date, is_completed, net_amount_usd)`);
      await warehouse.execute(`create table warehouse.warehouse.fct_customer_features as select * from (values
        ('cus_e', date '2026-06-30', 45, 120.0), ('cus_f', date '2026-06-30', 31, 80.0),
        ('cus_a', date '2026-06-30', 5, 10.0), ('cus_g', date '2026-06-29', 50, 999.0))
        t(customer_id, snapshot_date, days_since_last_order, revenue_usd_90d)`);
    });

    const io = capture();
    await printReport(platform, [], io);
    const text = io.stdout.join('\n');
    const rows = text
      .slice(text.indexOf('Active customers most at risk'))
      .split('\n')
      .filter((line) => line.startsWith('cus_'));
    expect(text).toContain('Active customers most at risk (snapshot 2026-06-30)');
    expect(rows.map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
      ['cus_c', '0.800', 'high'],
      ['cus_b', '0.800', 'high'],
      ['cus_a', '0.300', 'medium'],
    ]);
    expect(rows[0]).toContain('500.00');
    expect(rows[1]).toContain('100.00');
    expect(text).toMatch(/Win-back: 2 lapsed customers \(no order in the last 30 days, not scored\), 200\.00 USD/);
  });
});
