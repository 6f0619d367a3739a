import { PermanentError } from '@mlops/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineWarehouseAccess } from '../src/index.js';
import { startBigQueryFixture, type BigQueryFixture } from './bigquery.fixture.js';

// The BigQuery stand-in's database as a warehouse access (what the Dataform stand-in builds in for
// the gcp rehearsal): what a write session builds, BigQuery jobs read, with a new modification time.

describe("the BigQuery stand-in's database as a warehouse access", () => {
  let fixture: BigQueryFixture;

  beforeAll(async () => {
    fixture = await startBigQueryFixture('access-project');
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  it('builds tables that BigQuery queries read, bumping their lastModifiedTime', async () => {
    await fixture.bigquery.createDataset('warehouse', { location: 'EU' });
    const access = engineWarehouseAccess(fixture.standins.bigquery.engine);
    const before = await access.version();
    await access.write(async (warehouse) => {
      await warehouse.execute('create table warehouse.fct_sales as select 1 as order_id, 9.5::double as amount_usd');
      await warehouse.execute('insert into warehouse.fct_sales values (2, 0.5)');
    });
    expect(await access.version()).not.toBe(before);
    const [rows] = await fixture.bigquery.query({
      query: 'select count(*) as n, sum(amount_usd) as total from `access-project.warehouse.fct_sales`',
    });
    expect(rows).toEqual([{ n: 2, total: 10 }]);
    const [metadata] = await fixture.bigquery.dataset('warehouse').table('fct_sales').getMetadata();
    const modified = Number(metadata.lastModifiedTime);
    await access.write((warehouse) => warehouse.execute('delete from warehouse.fct_sales where order_id = 2'));
    const [after] = await fixture.bigquery.dataset('warehouse').table('fct_sales').getMetadata();
    expect(Number(after.lastModifiedTime)).toBeGreaterThan(modified);
    expect(
      await access.read((warehouse) => warehouse.query<{ n: bigint }>('select count(*) as n from warehouse.fct_sales')),
    ).toEqual([{ n: 1 }]);
  });

  it("keeps a failed session's own error, and refuses writes in a read session", async () => {
    const access = engineWarehouseAccess(fixture.standins.bigquery.engine);
    const failure = new PermanentError('TEST.FAILED_ACTION', 'an action failed');
    await expect(access.write(() => Promise.reject(failure))).rejects.toBe(failure);
    await expect(
      access.read((warehouse) => warehouse.execute('create table warehouse.other (x int)')),
    ).rejects.toThrow();
    const [tables] = await fixture.bigquery.dataset('warehouse').getTables();
    expect(tables.map((table) => table.id)).toEqual(['fct_sales']);
  });
});
