/**
 * The BigQuery warehouse beyond the contract: labels on jobs, the error mapping, read-only and
 * transaction rules, through the real client against the BigQuery stand-in.
 */
import type { Job } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BigQueryWarehouseAccess } from '../../src/bigquery/bigquery-warehouse-access.adapter.js';
import { startBigQueryStandinFixture, type BigQueryStandinFixture } from './bigquery.fixture.js';

let fixture: BigQueryStandinFixture;
let access: BigQueryWarehouseAccess;
const table = '`mlops-bq-test.warehouse.events`';

beforeAll(async () => {
  fixture = await startBigQueryStandinFixture();
  access = fixture.open({ service: 'Trainer Step', versionTtlMs: 60_000 });
  await access.client.createDataset('warehouse', { location: 'EU' });
  await access.write((warehouse) => warehouse.execute(`create table ${table} (id string, day date, n int64)`));
}, 120_000);
afterAll(async () => {
  await fixture?.stop();
});

describe('BigQuery warehouse on the stand-in', () => {
  it('labels every job with the service, run and purpose, within BigQuery label rules', async () => {
    const jobs: Job[] = [];
    const create = access.client.createQueryJob.bind(access.client);
    const spy = vi.spyOn(access.client, 'createQueryJob').mockImplementation((async (options: never) => {
      const result = await create(options);
      jobs.push(result[0]);
      return result;
    }) as never);
    try {
      await access.read((warehouse) => warehouse.query(`select count(*) as n from ${table}`), {
        runId: 'run_2026-10-10_ABC',
        purpose: 'trainer: features 2026-10-10',
      });
    } finally {
      spy.mockRestore();
    }
    expect(jobs).toHaveLength(1);
    const [metadata] = await jobs[0]!.getMetadata();
    expect(metadata.configuration.labels).toEqual({
      service: 'trainer_step',
      run_id: 'run_2026-10-10_abc',
      purpose: 'trainer__features_2026-10-10',
      session: 'read',
    });
  });

  it('maps a missing table to a permanent WAREHOUSE.NOT_FOUND and bad SQL to WAREHOUSE.INVALID_QUERY', async () => {
    await expect(
      access.read((warehouse) => warehouse.query('select * from `mlops-bq-test.warehouse.nowhere`')),
    ).rejects.toMatchObject({ code: 'WAREHOUSE.NOT_FOUND', errorClass: 'permanent' });
    await expect(
      access.write((warehouse) => warehouse.execute(`insert into ${table} (id, n) values ('a', cast('x' as int64))`)),
    ).rejects.toMatchObject({ code: 'WAREHOUSE.INVALID_QUERY', errorClass: 'permanent' });
  });

  it('refuses a read inside a transaction, and sends nothing of that transaction', async () => {
    await expect(
      access.write((warehouse) =>
        warehouse.transaction(async (tx) => {
          await tx.execute(`insert into ${table} (id, day, n) values (?, ?, ?)`, ['x', '2026-10-01', 1]);
          await tx.query(`select count(*) as n from ${table}`);
        }),
      ),
    ).rejects.toMatchObject({ code: 'WAREHOUSE.READ_IN_TRANSACTION' });
    const [row] = await access.read((warehouse) =>
      warehouse.query(`select count(*) as n from ${table} where id = 'x'`),
    );
    expect(row).toEqual({ n: 0 });
  });

  it('appends to a temporary table only inside a transaction, whose script creates it', async () => {
    await expect(
      access.write((warehouse) => warehouse.appendColumns({ table: 'staged__', temporary: true }, [['a']])),
    ).rejects.toMatchObject({ code: 'WAREHOUSE.BAD_APPEND', message: expect.stringMatching(/inside a transaction/) });
    await expect(
      access.write((warehouse) =>
        warehouse.transaction((tx) => tx.appendNumbers({ table: 'staged__', temporary: true }, [Float64Array.of(NaN)])),
      ),
    ).rejects.toMatchObject({ code: 'WAREHOUSE.BAD_APPEND', message: expect.stringMatching(/NaN/) });
  });

  it('commits a transaction of statements with positional and named parameters as one script', async () => {
    await access.write((warehouse) =>
      warehouse.transaction(async (tx) => {
        await tx.execute(`delete from ${table} where day = ?`, ['2026-10-02']);
        await tx.execute(`insert into ${table} (id, day, n) values (?, ?, ?)`, ['p1', '2026-10-02', 2]);
        await tx.execute(`insert into ${table} (id, day, n) values (@id, @day, @n)`, {
          id: 'p2',
          day: '2026-10-02',
          n: 3,
        });
      }),
    );
    const rows = await access.read((warehouse) =>
      warehouse.query(`select id, n from ${table} where day = ? order by id`, ['2026-10-02']),
    );
    expect(rows).toEqual([
      { id: 'p1', n: 2 },
      { id: 'p2', n: 3 },
    ]);
  });

  it('remembers the version for its TTL, and forgets it when a write session of this access ends', async () => {
    const first = await access.version();
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Another writer (Dataform, another process): not seen within the TTL...
    const other = fixture.open({ service: 'other' });
    await other.write((warehouse) => warehouse.execute(`insert into ${table} (id, n) values ('o', 1)`));
    expect(await access.version()).toBe(first);
    // ...a write of this access is.
    await access.write((warehouse) => warehouse.execute(`insert into ${table} (id, n) values ('s', 1)`));
    expect(await access.version()).not.toBe(first);
  });

  it('says missing for a warehouse dataset that does not exist', async () => {
    expect(await fixture.open({ warehouseDataset: 'not_built_yet' }).version()).toBe('missing');
  });

  it('refuses sessions after close, and nested sessions', async () => {
    const closing = fixture.open();
    await expect(closing.read(() => closing.read(async () => 1))).rejects.toMatchObject({
      code: 'WAREHOUSE.SESSION_NESTED',
    });
    await closing.close();
    await expect(closing.read(async () => 1)).rejects.toMatchObject({ code: 'WAREHOUSE.CLOSED' });
  });
});
