import type { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBigQueryFixture, type BigQueryFixture } from './bigquery.fixture.js';

// Datasets, tables and table data of the BigQuery stand-in through the real client.

describe('BigQuery stand-in: datasets, tables and table data', () => {
  let fixture: BigQueryFixture;
  let bigquery: BigQuery;

  beforeAll(async () => {
    fixture = await startBigQueryFixture();
    bigquery = fixture.bigquery;
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  it('creates, gets, lists and deletes datasets; a dataset in use is not deleted without deleteContents', async () => {
    const [dataset] = await bigquery.createDataset('warehouse', { location: 'EU', labels: { layer: 'gold' } });
    const [metadata] = await dataset.getMetadata();
    expect(metadata).toMatchObject({
      kind: 'bigquery#dataset',
      id: 'standin-project:warehouse',
      datasetReference: { datasetId: 'warehouse', projectId: 'standin-project' },
      location: 'EU',
      labels: { layer: 'gold' },
    });
    await bigquery.createDataset('staging');
    expect((await bigquery.getDatasets())[0].map((found) => found.id)).toEqual(['staging', 'warehouse']);
    expect((await bigquery.dataset('nowhere').exists())[0]).toBe(false);
    await dataset.createTable('t', { schema: 'x:INTEGER' });
    await expect(dataset.delete()).rejects.toMatchObject({
      code: 400,
      errors: [expect.objectContaining({ reason: 'resourceInUse' })],
    });
    await dataset.delete({ force: true });
    expect((await dataset.exists())[0]).toBe(false);
    await expect(bigquery.createDataset('bad-name!')).rejects.toMatchObject({ code: 400 });
  });

  it('creates a table from a schema with REQUIRED, REPEATED and RECORD fields, and gives it back', async () => {
    const [dataset] = await bigquery.createDataset('gold');
    const schema = [
      { name: 'customer_id', type: 'STRING', mode: 'REQUIRED' },
      { name: 'snapshot_date', type: 'DATE', mode: 'NULLABLE' },
      { name: 'churn_probability', type: 'FLOAT', mode: 'NULLABLE' },
      { name: 'revenue_usd', type: 'NUMERIC', mode: 'NULLABLE' },
      { name: 'scored_at', type: 'TIMESTAMP', mode: 'NULLABLE' },
      { name: 'is_active', type: 'BOOLEAN', mode: 'NULLABLE' },
      { name: 'segments', type: 'STRING', mode: 'REPEATED' },
      {
        name: 'model',
        type: 'RECORD',
        mode: 'NULLABLE',
        fields: [
          { name: 'version', type: 'INTEGER', mode: 'NULLABLE' },
          { name: 'name', type: 'STRING', mode: 'NULLABLE' },
        ],
      },
    ];
    const [table] = await dataset.createTable('fact_predictions_churn', {
      schema,
      timePartitioning: { type: 'DAY', field: 'snapshot_date' },
      clustering: { fields: ['customer_id'] },
    });
    const [metadata] = await table.getMetadata();
    expect(metadata).toMatchObject({
      kind: 'bigquery#table',
      id: 'standin-project:gold.fact_predictions_churn',
      type: 'TABLE',
      numRows: '0',
      timePartitioning: { type: 'DAY', field: 'snapshot_date' },
      clustering: { fields: ['customer_id'] },
    });
    expect(metadata.schema.fields).toEqual(schema);
    await expect(dataset.createTable('fact_predictions_churn', { schema: 'x:INTEGER' })).rejects.toMatchObject({
      code: 409,
      errors: [expect.objectContaining({ reason: 'duplicate' })],
    });
    // REQUIRED is enforced.
    await expect(
      bigquery.query('insert into gold.fact_predictions_churn (snapshot_date) values (current_date())'),
    ).rejects.toMatchObject({
      code: 400,
    });
    await bigquery.query(`insert into gold.fact_predictions_churn (customer_id, snapshot_date, segments, model)
                          values ('c1', '2026-09-01', ['a', 'b'], struct(3 as version, 'gbdt' as name))`);
    const [rows] = await table.getRows();
    expect(rows).toMatchObject([{ customer_id: 'c1', segments: ['a', 'b'], model: { version: 3, name: 'gbdt' } }]);
    expect(rows[0].snapshot_date.value).toBe('2026-09-01');
  });

  it('lists table data page by page (tabledata.list), and reports a missing table as notFound', async () => {
    await bigquery.createDataset('paging');
    await bigquery.query(
      'create table paging.numbers as select x from unnest(generate_array(1, 2500)) as x order by x',
    );
    const table = bigquery.dataset('paging').table('numbers');
    const pages: number[] = [];
    let next: object | null = { maxResults: 1000, autoPaginate: false };
    const values: number[] = [];
    while (next) {
      const [rows, following]: [{ x: number }[], object | null] = (await table.getRows(next)) as never;
      pages.push(rows.length);
      values.push(...rows.map((row) => row.x));
      next = following;
    }
    expect(pages).toEqual([1000, 1000, 500]);
    expect(values).toEqual(Array.from({ length: 2500 }, (_, index) => index + 1));
    const { body } = await fixture.raw('/datasets/paging/tables/numbers/data?maxResults=2');
    expect(body).toMatchObject({
      kind: 'bigquery#tableDataList',
      totalRows: '2500',
      rows: [{ f: [{ v: '1' }] }, { f: [{ v: '2' }] }],
    });
    await expect(bigquery.dataset('paging').table('absent').getRows()).rejects.toMatchObject({
      code: 404,
      errors: [expect.objectContaining({ reason: 'notFound' })],
    });
  });

  it('lists and deletes tables and views, views created from BigQuery SQL', async () => {
    const [dataset] = await bigquery.createDataset('bi');
    await dataset.createTable('sales', { schema: 'day:DATE,amount:NUMERIC' });
    await bigquery.query("insert into bi.sales values ('2026-09-01', 10), ('2026-09-01', 5), ('2026-09-02', 7)");
    const [view] = await dataset.createTable('bi_sales_daily', {
      view: {
        query: 'select day, sum(amount) as amount from `standin-project.bi.sales` group by day',
        useLegacySql: false,
      },
    });
    expect((await view.getMetadata())[0]).toMatchObject({ type: 'VIEW', view: { useLegacySql: false } });
    const [rows] = await bigquery.query('select day, amount from bi.bi_sales_daily order by day');
    expect(rows.map((row) => row.amount.toString())).toEqual(['15', '7']);
    expect((await dataset.getTables())[0].map((table) => [table.id, table.metadata.type])).toEqual([
      ['bi_sales_daily', 'VIEW'],
      ['sales', 'TABLE'],
    ]);
    await view.delete();
    await dataset.table('sales').delete();
    expect((await dataset.getTables())[0]).toEqual([]);
    await expect(dataset.table('sales').delete()).rejects.toMatchObject({ code: 404 });
  });
});
