import type { BigQuery, Dataset } from '@google-cloud/bigquery';
import { Storage, type Bucket } from '@google-cloud/storage';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBigQueryFixture, type BigQueryFixture } from './bigquery.fixture.js';

// Load jobs from objects in the GCS stand-in (written by the real storage client), run by the
// BigQuery stand-in and read back through the real BigQuery client.

/** A Parquet file written by DuckDB, as the lander writes bronze. */
async function parquet(select: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'standin-parquet-'));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run("set TimeZone = 'UTC'");
    const path = join(dir, 'part.parquet');
    await connection.run(`copy (${select}) to '${path}' (format parquet)`);
    return readFileSync(path);
  } finally {
    connection.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('BigQuery stand-in: load jobs from the GCS stand-in', () => {
  let fixture: BigQueryFixture;
  let bigquery: BigQuery;
  let dataset: Dataset;
  let bucket: Bucket;

  beforeAll(async () => {
    fixture = await startBigQueryFixture();
    bigquery = fixture.bigquery;
    [dataset] = await bigquery.createDataset('bronze');
    bucket = new Storage({ apiEndpoint: fixture.standins.endpoints.gcs, projectId: 'standin-project' }).bucket(
      'lake-bucket',
    );
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  it('loads Parquet written by DuckDB, with BigQuery types, appending by name and truncating', async () => {
    const day = (date: string, first: number) =>
      parquet(`select (${first} + i)::integer as order_id, (i * 1.25)::decimal(10, 2) as amount_usd,
                      timestamptz '${date} 10:00:00+00' + to_minutes(i) as ordered_at, date '${date}' as order_date,
                      'c' || i as customer_id, i / 4 as ratio
               from range(0, 3) t(i)`);
    await bucket.file('bronze/sales/dt=2026-09-01/part-00000.parquet').save(await day('2026-09-01', 0));
    await bucket.file('bronze/sales/dt=2026-09-02/part-00000.parquet').save(await day('2026-09-02', 100));
    const table = dataset.table('sales');
    const [job] = await table.load(bucket.file('bronze/sales/dt=2026-09-01/part-00000.parquet'));
    expect(job.status).toMatchObject({ state: 'DONE' });
    expect(job.statistics?.load).toMatchObject({ inputFiles: '1', outputRows: '3' });
    const [metadata] = await table.getMetadata();
    expect(metadata.schema.fields).toEqual([
      { name: 'order_id', type: 'INTEGER', mode: 'NULLABLE' },
      { name: 'amount_usd', type: 'NUMERIC', mode: 'NULLABLE' },
      { name: 'ordered_at', type: 'TIMESTAMP', mode: 'NULLABLE' },
      { name: 'order_date', type: 'DATE', mode: 'NULLABLE' },
      { name: 'customer_id', type: 'STRING', mode: 'NULLABLE' },
      { name: 'ratio', type: 'FLOAT', mode: 'NULLABLE' },
    ]);
    const [rows] = await bigquery.query('select * from bronze.sales order by order_id');
    expect(rows[2]).toMatchObject({ order_id: 2, customer_id: 'c2', ratio: 0.5 });
    expect(rows[2].amount_usd.toString()).toBe('2.5');
    expect(rows[2].ordered_at.value).toBe('2026-09-01T10:02:00.000Z');
    expect(rows[2].order_date.value).toBe('2026-09-01');

    // A wildcard over both days, appended (the default for loads): three more than the first day.
    await table.load(bucket.file('bronze/sales/dt=2026-09-02/part-00000.parquet'));
    expect((await bigquery.query('select count(*) as n from bronze.sales'))[0]).toEqual([{ n: 6 }]);
    const [truncate] = await bigquery.createJob({
      configuration: {
        load: {
          sourceUris: ['gs://lake-bucket/bronze/sales/dt=*'],
          sourceFormat: 'PARQUET',
          destinationTable: { projectId: 'standin-project', datasetId: 'bronze', tableId: 'sales' },
          writeDisposition: 'WRITE_TRUNCATE',
        },
      },
    });
    await truncate.promise();
    expect((await truncate.getMetadata())[0].statistics.load).toMatchObject({ inputFiles: '2', outputRows: '6' });
    expect(
      (await bigquery.query('select count(*) as n, count(distinct order_date) as days from bronze.sales'))[0],
    ).toEqual([{ n: 6, days: 2 }]);
  });

  it('replaces one day partition from Parquet with a $YYYYMMDD decorator', async () => {
    await dataset.createTable('events', {
      schema: 'event_date:DATE,n:INTEGER',
      timePartitioning: { type: 'DAY', field: 'event_date' },
    });
    await bigquery.query("insert into bronze.events values ('2026-09-01', 1), ('2026-09-02', 2)");
    await bucket.file('events/day2.parquet').save(await parquet("select date '2026-09-02' as event_date, 20 as n"));
    await dataset
      .table('events$20260902')
      .load(bucket.file('events/day2.parquet'), { writeDisposition: 'WRITE_TRUNCATE' });
    expect((await bigquery.query('select n from bronze.events order by event_date'))[0]).toEqual([{ n: 1 }, { n: 20 }]);
  });

  it('loads newline-delimited JSON with a schema, and refuses a NULL in a REQUIRED field without writing', async () => {
    const schema = {
      fields: [
        { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'at', type: 'TIMESTAMP' },
        { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      ],
    };
    await bucket
      .file('clicks/good.jsonl')
      .save('{"id": 1, "at": "2026-09-01T10:00:00Z", "tags": ["a", "b"]}\n{"id": 2}\n');
    const table = dataset.table('clicks');
    await table.load(bucket.file('clicks/good.jsonl'), { sourceFormat: 'NEWLINE_DELIMITED_JSON', schema });
    const [rows] = await table.getRows();
    expect(rows.map((row) => [row.id, row.at?.value ?? null, row.tags])).toEqual([
      [1, '2026-09-01T10:00:00.000Z', ['a', 'b']],
      [2, null, []],
    ]);
    expect((await table.getMetadata())[0].schema.fields[0]).toEqual({ name: 'id', type: 'INTEGER', mode: 'REQUIRED' });
    await bucket.file('clicks/bad.jsonl').save('{"id": 3}\n{"at": "2026-09-01T10:00:00Z"}\n');
    await expect(
      table.load(bucket.file('clicks/bad.jsonl'), { sourceFormat: 'NEWLINE_DELIMITED_JSON', schema }),
    ).rejects.toThrow(/Required field id cannot be null/);
    expect((await table.getRows())[0]).toHaveLength(2);
  });

  it('reports a missing source object as notFound, and refuses formats it does not implement with 501', async () => {
    await expect(dataset.table('x').load(bucket.file('nothing/here.parquet'))).rejects.toMatchObject({
      errors: [expect.objectContaining({ reason: 'notFound' })],
    });
    await bucket.file('csv/data.csv').save('a,b\n1,2\n');
    await expect(dataset.table('x').load(bucket.file('csv/data.csv'))).rejects.toMatchObject({ code: 501 });
  });
});
