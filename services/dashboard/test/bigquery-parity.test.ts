/**
 * Every dashboard route that reads the warehouse answers the same JSON from DuckDB and from
 * BigQuery (the stand-in, through the real client and the platform's BigQuery access), over the
 * same gold layer: a whole one, one without predictions (nor customers), an empty dataset and one
 * that was never created; date ranges and snapshots at and past the edges of the data. Floating
 * sums may add in another order on the two engines, so numbers are compared to a relative 1e-9;
 * everything else exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@mlops/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardServer, type DashboardServer } from '../src/index.js';
import { addDays } from '../src/params.js';
import { buildTwinWarehouses, type TwinWarehouses } from './fixtures/bigquery-gold.fixture.js';
import { buildOperations, type OperationsFixture } from '@mlops/testing/fixtures';

const END = '2026-06-30';

/**
 * `actual` with every number that is within a relative 1e-9 of the number at the same place in
 * `expected` replaced by it (floating sums may add in another order), everything else as it is.
 */
function aligned(actual: unknown, expected: unknown): unknown {
  if (typeof actual === 'number' && typeof expected === 'number')
    return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)) ? expected : actual;
  if (Array.isArray(actual) && Array.isArray(expected))
    return actual.map((item, index) => aligned(item, expected[index]));
  if (actual && expected && typeof actual === 'object' && typeof expected === 'object' && !Array.isArray(actual))
    return Object.fromEntries(
      Object.entries(actual).map(([key, inner]) => [key, aligned(inner, (expected as Record<string, unknown>)[key])]),
    );
  return actual;
}

async function answer(server: DashboardServer, url: string): Promise<{ status: number; body: unknown }> {
  const response = await server.app.inject({ method: 'GET', url });
  return { status: response.statusCode, body: JSON.parse(response.body) as unknown };
}

/** The URLs of every warehouse-reading route, with ranges and snapshots at and past the data's edges. */
function urlsOf(first: string, last: string, snapshots: string[]): string[] {
  const ranges = [
    '',
    `from=${first}&to=${last}`,
    `from=${first}&to=${first}`,
    `from=${last}&to=${last}`,
    `from=${addDays(first, -400)}&to=${addDays(first, 3)}`,
    `from=${addDays(last, -3)}&to=${addDays(last, 400)}`,
    `from=${addDays(last, 1)}&to=${addDays(last, 30)}`,
    `from=${addDays(first, 20)}`,
    `to=${addDays(first, 20)}`,
    `from=${last}&to=${first}`,
  ];
  const snapshotParams = [
    '',
    ...[snapshots[0], snapshots[snapshots.length - 1]].filter((date) => date !== undefined).map((d) => `snapshot=${d}`),
    `snapshot=${addDays(first, 1)}`,
    `snapshot=${addDays(last, 365)}`,
  ];
  const urls = ['/api/meta', '/api/historical/startups?limit=7', '/api/predictive/snapshots?limit=1000'];
  for (const range of ranges) {
    urls.push(
      `/api/kpis?view=historical&${range}`,
      ...['day', 'region', 'category'].map((groupBy) => `/api/historical/revenue?${range}&groupBy=${groupBy}`),
      `/api/historical/top-customers?${range}&limit=8`,
      `/api/historical/top-products?${range}&limit=8`,
      `/api/historical/funnel?${range}`,
      `/api/historical/traffic?${range}`,
      `/api/predictive/predicted-vs-actual?${range}&limit=12`,
    );
  }
  for (const snapshot of snapshotParams) {
    urls.push(
      `/api/kpis?view=predictive&${snapshot}`,
      `/api/predictive/risk?${snapshot}`,
      `/api/predictive/at-risk?${snapshot}&limit=25`,
      `/api/predictive/at-risk?${snapshot}&limit=25&band=high`,
      `/api/predictive/at-risk?${snapshot}&limit=25&band=low`,
    );
  }
  return urls;
}

describe('the dashboard on DuckDB and on BigQuery', () => {
  const folder = mkdtempSync(join(tmpdir(), 'dashboard-parity-ops-'));
  let twins: TwinWarehouses;
  let ops: OperationsFixture;
  const servers: DashboardServer[] = [];

  const pair = async (schema: string) => {
    const make = (warehouse: TwinWarehouses['duckdb']) =>
      createDashboardServer({
        warehouse,
        ledger: ops.ledger,
        registry: ops.registry,
        bus: ops.bus,
        log: silentLogger,
        schema,
      });
    const made = [await make(twins.duckdb), await make(twins.bigquery(schema))] as const;
    servers.push(...made);
    return made;
  };

  beforeAll(async () => {
    ops = await buildOperations(folder, { runDates: [addDays(END, -2), addDays(END, -1), END] });
    twins = await buildTwinWarehouses([
      { schema: 'warehouse', options: { endDate: END, days: 120, scale: 0.05, modelVersion: ops.championVersion } },
      {
        schema: 'nopred',
        options: { endDate: END, days: 60, scale: 0.02, skip: ['fact_predictions_churn', 'dim_customer'] },
      },
      {
        // Nulls where the engines order them differently unless told (BigQuery: first when ascending).
        schema: 'nulls',
        options: { endDate: END, days: 60, scale: 0.03 },
        after: [
          "update {schema}.fct_sales set product_id = null where order_id like '%3'",
          "update {schema}.fct_sales set customer_id = null where order_id like '%7'",
          "update {schema}.fct_sales set category = null where order_id like '%1'",
          "update {schema}.dim_customer set region = null, segment = null where customer_id like '%5'",
          "update {schema}.dim_startup set status = null, sector = null, last_round = null where company_id like '%2'",
          "update {schema}.fact_predictions_churn set churn_probability = 1 where customer_id similar to '.*[49]'",
          "update {schema}.fact_predictions_churn set risk_band = null, customer_id = null where customer_id like '%9'",
        ],
      },
      { schema: 'empty', empty: true },
    ]);
  }, 240_000);

  afterAll(async () => {
    for (const server of servers) await server.close();
    await twins?.close();
    await ops?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it.each(['warehouse', 'nulls', 'nopred', 'empty', 'absent'])(
    'answers every route the same from both engines (%s)',
    async (schema) => {
      const [duckdb, bigquery] = await pair(schema);
      const meta = (await answer(duckdb, '/api/meta')).body as { sales: { from: string | null; to: string | null } };
      const snapshots = (
        (await answer(duckdb, '/api/predictive/snapshots?limit=1000')).body as {
          snapshots: { snapshotDate: string }[];
        }
      ).snapshots.map((snapshot) => snapshot.snapshotDate);
      if (schema === 'empty' || schema === 'absent') expect(meta.sales).toEqual({ from: null, to: null });
      else expect(meta.sales.to).toBe(END);
      expect(snapshots.length > 0).toBe(schema === 'warehouse' || schema === 'nulls');
      const urls = urlsOf(meta.sales.from ?? addDays(END, -30), meta.sales.to ?? END, snapshots);
      let answered = 0;
      for (const url of urls) {
        const expected = await answer(duckdb, url);
        const actual = await answer(bigquery, url);
        expect({ url, ...(aligned(actual, expected) as object) }).toEqual({ url, ...expected });
        if (expected.status === 200) answered += 1;
      }
      // The edges include refused ranges (from after to); every other request answers.
      expect(answered).toBeGreaterThan(urls.length * 0.8);
    },
    240_000,
  );
});
