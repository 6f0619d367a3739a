import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataformCompiler, DuckDbTransformRunner, openDuckDbWarehouse } from '@mlops/adapters-local';
import { warehouseAccessOf } from '@mlops/testing';
import { tempDir } from '@mlops/testing/suites';
import { closeBronzeWriter, writeBronzePartition, type BronzeRecord } from './bronze.fixtures.js';
import { order as cleanOrder } from './dirty.fixtures.js';

// dim_customer's attributes come from the customer's latest order version, ordered by (ordered_at,
// run_date, order_id), and its digests are the latest NON-NULL ones. The orders below change a
// customer's region, segment and channel over time, leave the latest digests empty, and tie two
// orders on their timestamp, so a rule that read the oldest version, the latest digest even when
// null, or broke the tie the other way would give another row. Built in one run, date by date, and
// date by date in reverse (the incremental path recomputes the changed customers from their
// versions), the table is the same.
const PROJECT = resolve(import.meta.dirname, '../../../../dataform');
const DAY = '2026-01-05';
const NEXT_DAY = '2026-01-06';
const EMAIL_OLD = 'a'.repeat(64);
const EMAIL_MID = 'c'.repeat(64);
const PHONE_OLD = 'b'.repeat(64);
const PHONE_MID = 'd'.repeat(64);

/** A clean order of `customer` on `runDate` at `time` (digests EMAIL_OLD and PHONE_OLD), with overrides. */
function order(
  id: string,
  customer: string,
  runDate: string,
  time: string,
  overrides: BronzeRecord = {},
): BronzeRecord {
  return cleanOrder(id, {
    customer_id: customer,
    order_ts: `${runDate}T${time}:00Z`,
    run_date: runDate,
    customer_email_hash: EMAIL_OLD,
    customer_phone_hash: PHONE_OLD,
    ...overrides,
  });
}

const SALES: Record<string, BronzeRecord[]> = {
  [DAY]: [
    // cus_0000001: three versions over two days; both digests are last given on DAY 12:00 (another
    // pair on DAY 09:00, none on NEXT_DAY); the attributes change at every version.
    order('ord_0000000000000001', 'cus_0000001', DAY, '12:00', {
      customer_email_hash: EMAIL_MID,
      customer_phone_hash: PHONE_MID,
      customer_region: 'south',
      customer_segment: 'small_business',
      acquisition_channel: 'social',
    }),
    order('ord_0000000000000002', 'cus_0000001', DAY, '09:00'),
    // cus_0000002: two orders at the same instant; the larger order id is the later version.
    order('ord_0000000000000011', 'cus_0000002', DAY, '10:00', { customer_region: 'east', customer_email_hash: null }),
    order('ord_0000000000000010', 'cus_0000002', DAY, '10:00', {
      customer_region: 'central',
      customer_email_hash: EMAIL_MID,
      customer_phone_hash: PHONE_MID,
    }),
  ],
  [NEXT_DAY]: [
    order('ord_0000000000000003', 'cus_0000001', NEXT_DAY, '08:00', {
      customer_email_hash: null,
      customer_phone_hash: null,
      customer_region: 'west',
      customer_segment: 'enterprise',
      acquisition_channel: 'partner',
    }),
  ],
};

const EXPECTED = [
  {
    customer_id: 'cus_0000001',
    email_hash: EMAIL_MID,
    phone_hash: PHONE_MID,
    region: 'west',
    segment: 'enterprise',
    acquisition_channel: 'partner',
    lifetime_orders: 3,
  },
  {
    customer_id: 'cus_0000002',
    email_hash: EMAIL_MID,
    phone_hash: PHONE_OLD,
    region: 'east',
    segment: 'consumer',
    acquisition_channel: 'organic',
    lifetime_orders: 2,
  },
];

describe('dim_customer: the latest version, the latest non-null digests', () => {
  const dirs: { remove(): void }[] = [];
  afterEach(async () => {
    await closeBronzeWriter();
    for (const dir of dirs.splice(0)) dir.remove();
  });

  async function build(runs: string[][]): Promise<unknown[]> {
    const dir = tempDir('mlops-dataform-dim-customer-');
    dirs.push(dir);
    const lake = join(dir.path, 'lake');
    for (const day of [DAY, NEXT_DAY]) {
      await writeBronzePartition(lake, 'sales', day, SALES[day]!);
      await writeBronzePartition(lake, 'clickstream', day, []);
      await writeBronzePartition(lake, 'startups', day, []);
    }
    const warehouse = await openDuckDbWarehouse({ path: join(dir.path, 'warehouse.duckdb') });
    try {
      const runner = new DuckDbTransformRunner({
        projectDir: PROJECT,
        lakeRoot: lake,
        warehouse: warehouseAccessOf(warehouse),
        compiler: new DataformCompiler({ projectDir: PROJECT }),
      });
      for (const runDates of runs) {
        const result = await runner.run({ runDates });
        expect(result.assertions.filter((assertion) => !assertion.passed)).toEqual([]);
      }
      const rows = await warehouse.query<{
        customer_id: string;
        email_hash: string | null;
        phone_hash: string | null;
        region: string;
        segment: string;
        acquisition_channel: string;
        lifetime_orders: number | bigint;
      }>(
        `select customer_id, email_hash, phone_hash, region, segment, acquisition_channel, lifetime_orders
         from warehouse.warehouse.dim_customer order by customer_id`,
      );
      return rows.map((row) => ({ ...row, lifetime_orders: Number(row.lifetime_orders) }));
    } finally {
      await warehouse.close();
    }
  }

  it('in one run, date by date, and date by date in reverse', async () => {
    expect(await build([[DAY, NEXT_DAY]])).toEqual(EXPECTED);
    expect(await build([[DAY], [NEXT_DAY]])).toEqual(EXPECTED);
    expect(await build([[NEXT_DAY], [DAY]])).toEqual(EXPECTED);
  }, 300_000);
});
