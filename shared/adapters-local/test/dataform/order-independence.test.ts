import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_PII_HMAC_KEY } from '@mlops/kernel';
import {
  DataformCompiler,
  DuckDbTransformRunner,
  openDuckDbWarehouse,
  type DuckDbWarehouse,
} from '@mlops/adapters-local';
import { generateClickEvents, generateSalesOrders } from '@mlops/synthetic';
import { warehouseAccessOf } from '@mlops/testing';
import { tempDir } from '@mlops/testing/suites';
import { closeBronzeWriter, writeBronzePartition, writeGeneratedDay, type WorldSettings } from './bronze.fixtures.js';
import { rowsOf, tableChecksums } from './warehouse.checks.js';

const PROJECT = resolve(import.meta.dirname, '../../../../dataform');
// Monday to Saturday: the full startups load on the first day, a delta on Friday the 9th.
const DATES = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09', '2026-01-10'];
const WORLD: WorldSettings = { seed: 11, scale: 0.1, dirtyShare: 0.05 };

/** A fixed shuffle, with every date run twice and two dates built together (a backlog). */
const SHUFFLED: string[][] = [
  ['2026-01-09'],
  ['2026-01-07'],
  ['2026-01-10', '2026-01-05'],
  ['2026-01-09'],
  ['2026-01-06'],
  ['2026-01-05'],
  ['2026-01-08'],
  ['2026-01-07'],
  ['2026-01-06', '2026-01-10'],
  ['2026-01-08'],
];

describe('the warehouse does not depend on the order or repetition of runs', () => {
  const dir = tempDir('mlops-dataform-order-');
  const lake = join(dir.path, 'lake');
  const compiler = new DataformCompiler({ projectDir: PROJECT });
  const open: DuckDbWarehouse[] = [];

  async function warehouseNamed(
    name: string,
    threads?: number,
  ): Promise<{ warehouse: DuckDbWarehouse; runner: DuckDbTransformRunner }> {
    const warehouse = await openDuckDbWarehouse({ path: join(dir.path, `${name}.duckdb`) });
    open.push(warehouse);
    return {
      warehouse,
      runner: new DuckDbTransformRunner({
        projectDir: PROJECT,
        lakeRoot: lake,
        warehouse: warehouseAccessOf(warehouse),
        compiler,
        ...(threads === undefined ? {} : { threads }),
      }),
    };
  }

  let ordered: { warehouse: DuckDbWarehouse; runner: DuckDbTransformRunner };

  beforeAll(async () => {
    for (const date of DATES) await writeGeneratedDay(lake, date, WORLD, DATES[0]!);
    ordered = await warehouseNamed('ordered');
    for (const date of DATES) {
      const result = await ordered.runner.run({ runDates: [date] });
      expect(
        result.assertions.filter((assertion) => !assertion.passed),
        date,
      ).toEqual([]);
    }
  });

  afterAll(async () => {
    for (const warehouse of open) await warehouse.close();
    await closeBronzeWriter();
    dir.remove();
  });

  it('gives the same per-table checksums for shuffled, repeated and batched runs as for one ordered run', async () => {
    const expected = await tableChecksums(ordered.warehouse);
    expect(Object.keys(expected)).toContain('warehouse.fct_customer_features');
    expect(expected['warehouse.fct_customer_features']).not.toMatch(/^0:/);

    const shuffled = await warehouseNamed('shuffled');
    for (const batch of SHUFFLED) await shuffled.runner.run({ runDates: batch });
    expect(await tableChecksums(shuffled.warehouse)).toEqual(expected);

    const batched = await warehouseNamed('batched');
    await batched.runner.run({ runDates: [...DATES].reverse() });
    expect(await tableChecksums(batched.warehouse)).toEqual(expected);

    // On the warehouse's own two threads (the runner's default is one, restored after each run).
    const threads = async (warehouse: DuckDbWarehouse) =>
      Number((await warehouse.query<{ n: number }>("select current_setting('threads') as n"))[0]!.n);
    const twoThreads = await warehouseNamed('two-threads', 0);
    await twoThreads.warehouse.execute('set threads = 2');
    await twoThreads.runner.run({ runDates: [...DATES].reverse() });
    expect(await threads(twoThreads.warehouse)).toBe(2);
    expect(await tableChecksums(twoThreads.warehouse)).toEqual(expected);
    await batched.warehouse.execute('set threads = 2');
    await batched.runner.run({ runDates: [DATES[0]!] });
    expect(await threads(batched.warehouse)).toBe(2);
  }, 300_000);

  it('raises the memory limit for a run of large dates only, and restores it after the run', async () => {
    const warehouse = await openDuckDbWarehouse({ path: join(dir.path, 'large.duckdb') });
    open.push(warehouse);
    await warehouse.execute("set memory_limit = '300MB'");
    await warehouse.execute('set threads = 1');
    const statements: string[] = [];
    let freeCores = 0;
    let sampled = 0;
    const runner = new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: lake,
      warehouse: warehouseAccessOf(warehouse),
      compiler,
      largeRunMemoryLimit: '1GB',
      maxThreads: 2,
      freeCores: async () => {
        sampled += 1;
        return freeCores;
      },
      onStatement: (_action, sql) => statements.push(sql),
    });
    const setting = async (name: string) =>
      String(
        (await warehouse.query<{ value: string | number | bigint }>(`select current_setting('${name}') as value`))[0]!
          .value,
      );
    const settings = async () => ({ limit: await setting('memory_limit'), threads: await setting('threads') });
    const setStatements = () =>
      statements.filter((sql) => sql.startsWith('set memory_limit') || sql.startsWith('set threads'));
    const before = await settings();
    expect(before.threads).toBe('1');

    // Busy machine: one thread (the warehouse's already), the one-thread limit.
    await runner.run({ runDates: [DATES[0]!], landedRows: 50_000 });
    expect(setStatements()).toEqual(["set memory_limit = '1GB'"]);
    expect(await settings()).toEqual(before);

    // Two cores free: two threads and half as much memory again, both restored after the run, run after run.
    freeCores = 2;
    for (let run = 0; run < 2; run += 1) {
      statements.length = 0;
      await runner.run({ runDates: [DATES[0]!], landedRows: 50_000 });
      expect(setStatements()).toEqual(['set threads = 2', "set memory_limit = '1500MB'"]);
      expect(await settings()).toEqual(before);
    }

    // Small dates: no sampling, nothing set.
    statements.length = 0;
    const samples = sampled;
    await runner.run({ runDates: DATES.slice(0, 2), landedRows: 2 * 2_000 });
    expect(setStatements()).toEqual([]);
    expect(sampled).toBe(samples);

    // A warehouse limit above the run's is never lowered.
    await warehouse.execute("set memory_limit = '2GB'");
    await runner.run({ runDates: [DATES[0]!], landedRows: 50_000 });
    expect(statements.filter((sql) => sql.startsWith('set memory_limit'))).toEqual([]);
  }, 120_000);

  it('computes a snapshot only from data up to its date: late orders and clicks leave it unchanged', async () => {
    const snapshot = '2026-01-07';
    const features = `select * from ordered.warehouse.fct_customer_features where snapshot_date = date '${snapshot}'`;
    const before = await rowsOf(ordered.warehouse, features);
    expect(before.length).toBeGreaterThan(5);
    const customers = (
      await ordered.warehouse.query<{ customer_id: string }>(
        `select customer_id from (${features}) order by customer_id limit 3`,
      )
    ).map((row) => row.customer_id);

    // Late data for those customers: orders and sessions timestamped ON the snapshot date that only
    // land a day later, plus two whole new days after it.
    const lateDay = '2026-01-08';
    const sales = [...generateSalesOrders({ ...WORLD, date: lateDay, piiHmacKey: DEV_PII_HMAC_KEY })].map(
      (record) => record.data,
    );
    const clicks = [...generateClickEvents({ ...WORLD, date: lateDay })].map((record) => record.data);
    const template = sales.find((record) => record.order_ts !== null && record.status !== null)!;
    const lateOrders = customers.flatMap((customer, index) =>
      [0, 1, 2].map((copy) => ({
        ...template,
        order_id: `ord_1a7e${String(index).padStart(6, '0')}${String(copy).padStart(6, '0')}`,
        customer_id: customer,
        order_ts: `${snapshot}T2${copy}:00:00Z`,
        gross_amount_usd: 999,
        net_amount_usd: 999,
        quantity: 1,
        unit_price_usd: 999,
        discount_pct: 0,
        status: 'completed',
      })),
    );
    const lateClicks = customers.map((customer, index) => ({
      ...clicks[0]!,
      event_id: `evt_1a7e${String(index).padStart(12, '0')}`,
      session_id: `ses_1a7e${String(index).padStart(12, '0')}`,
      customer_id: customer,
      event_ts: `${snapshot}T23:00:00Z`,
    }));
    await writeBronzePartition(lake, 'sales', lateDay, [...sales, ...lateOrders]);
    await writeBronzePartition(lake, 'clickstream', lateDay, [...clicks, ...lateClicks]);
    for (const date of ['2026-01-11', '2026-01-12']) await writeGeneratedDay(lake, date, WORLD, DATES[0]!);

    // The snapshot date is rebuilt in the same run (a replay), after the late data is in the lake.
    await ordered.runner.run({ runDates: [snapshot, lateDay, '2026-01-11', '2026-01-12'] });

    expect(await rowsOf(ordered.warehouse, features)).toEqual(before);
    // The late data did arrive, and counts from the day it landed on: the test can see leakage.
    const later = await ordered.warehouse.query<{ customer_id: string; revenue_usd_7d: number; sessions_7d: number }>(
      `select customer_id, revenue_usd_7d, sessions_7d from ordered.warehouse.fct_customer_features where snapshot_date = date '${lateDay}' and customer_id in (${customers.map((customer) => `'${customer}'`).join(', ')})`,
    );
    expect(later).toHaveLength(customers.length);
    for (const row of later) {
      expect(row.revenue_usd_7d).toBeGreaterThanOrEqual(3 * 999);
      expect(row.sessions_7d).toBeGreaterThanOrEqual(1);
    }
    expect(
      (
        await ordered.warehouse.query<{ n: number }>(
          `select count(*) as n from ordered.warehouse.fct_sales where order_date = date '${snapshot}' and run_date = date '${lateDay}'`,
        )
      )[0]!.n,
    ).toBe(lateOrders.length);
  });
});
