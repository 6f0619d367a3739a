import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataformCompiler,
  DuckDbTransformRunner,
  openDuckDbWarehouse,
  type DuckDbWarehouse,
} from '@mlops/adapters-local';
import { warehouseAccessOf } from '@mlops/testing';
import { tempDir } from '@mlops/testing/suites';
import { closeBronzeWriter, writeBronzePartition, type BronzeRecord } from './bronze.fixtures.js';
import { click, order } from './dirty.fixtures.js';

// The staging dedup rule: of the copies of an id within a run date, the first in the ordering by
// every column (includes/records.js, nulls last) is kept and the others are quarantined, as
// duplicate_<id> when they match it on customer and timestamp, conflicting_<id> otherwise. The
// copies are written so that the winner is never the first in the file, and differ in one column
// at a time from the first key (the timestamp) down to the last (status), so a rule that kept
// file order, dropped a key or read nulls first would keep another copy.
const PROJECT = resolve(import.meta.dirname, '../../../../dataform');
const DAY = '2026-01-05';
const NEXT_DAY = '2026-01-06';
const PHONE = 'b'.repeat(64);

const SALES_DAY: BronzeRecord[] = [
  // Differ in the last key only: 'completed' sorts before 'returned'.
  order('ord_000000000000000b', { status: 'returned' }),
  order('ord_000000000000000b'),
  // Another customer's orders under one id: the earliest timestamp wins, wherever it is written.
  order('ord_000000000000000c', { customer_id: 'cus_0000002', order_ts: `${DAY}T11:00:00Z` }),
  order('ord_000000000000000c', { customer_id: 'cus_0000003', order_ts: `${DAY}T09:00:00Z` }),
  order('ord_000000000000000c', { customer_id: 'cus_0000002', order_ts: `${DAY}T11:00:00Z` }),
  // A null sorts last: the copy with a phone digest wins.
  order('ord_000000000000000d', { customer_phone_hash: null }),
  order('ord_000000000000000d'),
  // A middle key (the channel): 'store' sorts before 'web'.
  order('ord_000000000000000e'),
  order('ord_000000000000000e', { channel: 'store' }),
  // An invalid copy is not a copy: it is quarantined for its own reason and the clean one stays.
  order('ord_000000000000000f', { quantity: -1 }),
  order('ord_000000000000000f'),
  // The same order on two run dates (re-sent): one copy in each partition, both kept (fct_sales
  // resolves ids across dates).
  order('ord_0000000000000010'),
];

const SALES_NEXT_DAY: BronzeRecord[] = [order('ord_0000000000000010', { run_date: NEXT_DAY })];

const CLICKS_DAY: BronzeRecord[] = [
  click('evt_0000000000000001', { device: 'mobile' }),
  click('evt_0000000000000001'),
  click('evt_0000000000000002', { session_id: 'ses_0000000000000009', event_ts: `${DAY}T10:05:00Z` }),
  click('evt_0000000000000002', { event_ts: `${DAY}T10:04:00Z` }),
  click('evt_0000000000000003', { referrer: null }),
  click('evt_0000000000000003'),
  click('evt_0000000000000004'),
];

describe('staging keeps the first copy of an id in the ordering by every column', () => {
  const dir = tempDir('mlops-dataform-dedup-');
  const lake = join(dir.path, 'lake');
  let warehouse: DuckDbWarehouse;
  let runner: DuckDbTransformRunner;

  beforeAll(async () => {
    await writeBronzePartition(lake, 'sales', DAY, SALES_DAY);
    await writeBronzePartition(lake, 'sales', NEXT_DAY, SALES_NEXT_DAY);
    await writeBronzePartition(lake, 'clickstream', DAY, CLICKS_DAY);
    await writeBronzePartition(lake, 'clickstream', NEXT_DAY, []);
    await writeBronzePartition(lake, 'startups', DAY, []);
    await writeBronzePartition(lake, 'startups', NEXT_DAY, []);
    warehouse = await openDuckDbWarehouse({ path: join(dir.path, 'warehouse.duckdb') });
    runner = new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: lake,
      warehouse: warehouseAccessOf(warehouse),
      compiler: new DataformCompiler({ projectDir: PROJECT }),
    });
  });

  afterAll(async () => {
    await warehouse?.close();
    await closeBronzeWriter();
    dir.remove();
  });

  const kept = () =>
    warehouse.query<{
      run_date: string;
      order_id: string;
      customer_id: string;
      ordered_at: string;
      phone_hash: string | null;
      channel: string;
      status: string;
    }>(
      `select strftime(run_date, '%Y-%m-%d') as run_date, order_id, customer_id,
         strftime(ordered_at, '%H:%M') as ordered_at, phone_hash, channel, status
       from warehouse.staging.stg_sales__orders order by run_date, order_id`,
    );
  const quarantined = (table: string, id: string) =>
    warehouse.query<{ id: string; reason: string; record_number: number }>(
      `select ${id} as id, reject_reason as reason, record_number from warehouse.staging.${table} order by run_date, record_number`,
    );

  it('keeps the winner and quarantines the other copies with their reasons, on both incremental paths', async () => {
    for (const pass of ['create', 'incremental']) {
      const result = await runner.run({ runDates: [DAY, NEXT_DAY] });
      expect(
        result.assertions.filter((assertion) => !assertion.passed),
        pass,
      ).toEqual([]);
      expect(await kept(), pass).toEqual([
        {
          run_date: DAY,
          order_id: 'ord_000000000000000b',
          customer_id: 'cus_0000001',
          ordered_at: '10:00',
          phone_hash: PHONE,
          channel: 'web',
          status: 'completed',
        },
        {
          run_date: DAY,
          order_id: 'ord_000000000000000c',
          customer_id: 'cus_0000003',
          ordered_at: '09:00',
          phone_hash: PHONE,
          channel: 'web',
          status: 'completed',
        },
        {
          run_date: DAY,
          order_id: 'ord_000000000000000d',
          customer_id: 'cus_0000001',
          ordered_at: '10:00',
          phone_hash: PHONE,
          channel: 'web',
          status: 'completed',
        },
        {
          run_date: DAY,
          order_id: 'ord_000000000000000e',
          customer_id: 'cus_0000001',
          ordered_at: '10:00',
          phone_hash: PHONE,
          channel: 'store',
          status: 'completed',
        },
        {
          run_date: DAY,
          order_id: 'ord_000000000000000f',
          customer_id: 'cus_0000001',
          ordered_at: '10:00',
          phone_hash: PHONE,
          channel: 'web',
          status: 'completed',
        },
        {
          run_date: DAY,
          order_id: 'ord_0000000000000010',
          customer_id: 'cus_0000001',
          ordered_at: '10:00',
          phone_hash: PHONE,
          channel: 'web',
          status: 'completed',
        },
        {
          run_date: NEXT_DAY,
          order_id: 'ord_0000000000000010',
          customer_id: 'cus_0000001',
          ordered_at: '10:00',
          phone_hash: PHONE,
          channel: 'web',
          status: 'completed',
        },
      ]);
      expect(await quarantined('quarantine_sales', 'order_id'), pass).toEqual([
        { id: 'ord_000000000000000c', reason: 'conflicting_order_id', record_number: 1 },
        { id: 'ord_000000000000000c', reason: 'conflicting_order_id', record_number: 2 },
        { id: 'ord_000000000000000b', reason: 'duplicate_order_id', record_number: 3 },
        { id: 'ord_000000000000000d', reason: 'duplicate_order_id', record_number: 4 },
        { id: 'ord_000000000000000e', reason: 'duplicate_order_id', record_number: 5 },
        { id: 'ord_000000000000000f', reason: 'invalid_quantity', record_number: 6 },
      ]);
      const losers = await warehouse.query<{ order_id: string; status: string; phone_hash: string | null }>(
        "select order_id, status, phone_hash from warehouse.staging.quarantine_sales where order_id in ('ord_000000000000000b', 'ord_000000000000000d') order by 1",
      );
      expect(losers, pass).toEqual([
        { order_id: 'ord_000000000000000b', status: 'returned', phone_hash: PHONE },
        { order_id: 'ord_000000000000000d', status: 'completed', phone_hash: null },
      ]);

      const events = await warehouse.query<{ event_id: string; session_id: string; device: string; referrer: string }>(
        'select event_id, session_id, device, referrer from warehouse.staging.stg_clickstream__events order by 1',
      );
      expect(events, pass).toEqual([
        { event_id: 'evt_0000000000000001', session_id: 'ses_0000000000000001', device: 'desktop', referrer: 'google' },
        { event_id: 'evt_0000000000000002', session_id: 'ses_0000000000000001', device: 'desktop', referrer: 'google' },
        { event_id: 'evt_0000000000000003', session_id: 'ses_0000000000000001', device: 'desktop', referrer: 'google' },
        { event_id: 'evt_0000000000000004', session_id: 'ses_0000000000000001', device: 'desktop', referrer: 'google' },
      ]);
      expect(await quarantined('quarantine_clickstream', 'event_id'), pass).toEqual([
        { id: 'evt_0000000000000002', reason: 'conflicting_event_id', record_number: 1 },
        { id: 'evt_0000000000000001', reason: 'duplicate_event_id', record_number: 2 },
        { id: 'evt_0000000000000003', reason: 'duplicate_event_id', record_number: 3 },
      ]);

      // The run's scratch copies of the parsed bronze are empty between runs.
      const scratch = await warehouse.query<{ n: number }>(
        'select (select count(*) from warehouse.staging.run_sales__orders) + (select count(*) from warehouse.staging.run_clickstream__events) as n',
      );
      expect(Number(scratch[0]!.n), pass).toBe(0);
    }
  }, 300_000);
});
