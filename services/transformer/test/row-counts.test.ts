/**
 * The row counts the gcp transformer reports (the Dataform API gives none): read through the
 * warehouse port, the same on the BigQuery stand-in (real client, platform's BigQuery access) as
 * on DuckDB. Tables the invocation did not leave, names that are not `dataset.table`, and a run
 * without dates are not counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGcpStandins, type GcpStandins } from '@mlops/gcp-standins';
import { openDuckDbWarehouseAccess } from '@mlops/adapters-local';
import { type WarehouseAccess } from '@mlops/kernel';
import { openBigQueryWarehouseAccess } from '@mlops/adapters-gcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBuiltRows } from '../src/row-counts.js';

const PROJECT = 'mlops-row-counts';
const ADC_VARIABLES = [
  'GOOGLE_APPLICATION_CREDENTIALS',
  'GOOGLE_CLOUD_PROJECT',
  'GCLOUD_PROJECT',
  'BIGQUERY_EMULATOR_HOST',
  'GCE_METADATA_HOST',
  'CLOUDSDK_CONFIG',
];

/** Two tables: gold sales (3 rows), a quarantine table with rows on four run dates. */
async function fill(access: WarehouseAccess): Promise<void> {
  await access.write(async (warehouse) => {
    const gold = await warehouse.describeSchema('warehouse');
    const staging = await warehouse.describeSchema('staging');
    await warehouse.execute(`create table ${gold.table('fct_sales')} (order_id string, run_date date)`);
    await warehouse.execute(
      `insert into ${gold.table('fct_sales')} (order_id, run_date) values (?, ?), (?, ?), (?, ?)`,
      ['o1', '2026-01-01', 'o2', '2026-01-02', 'o3', '2026-01-02'],
    );
    await warehouse.execute(`create table ${staging.table('quarantine_sales')} (reason string, run_date date)`);
    await warehouse.execute(
      `insert into ${staging.table('quarantine_sales')} (reason, run_date) values (?, ?), (?, ?), (?, ?), (?, ?)`,
      ['bad', '2026-01-01', 'bad', '2026-01-02', 'bad', '2026-01-03', 'bad', '2026-01-05'],
    );
  });
}

const TARGETS = {
  tables: ['warehouse.fct_sales', 'staging.quarantine_sales', 'warehouse.never_built', '?.odd'],
  quarantine: ['staging.quarantine_sales', 'staging.never_built'],
};

describe('row counts of the built tables', () => {
  const folder = mkdtempSync(join(tmpdir(), 'row-counts-'));
  const saved = new Map(ADC_VARIABLES.map((name) => [name, process.env[name]]));
  let standins: GcpStandins;
  const engines: Record<string, WarehouseAccess> = {};

  beforeAll(async () => {
    standins = await startGcpStandins({ projectId: PROJECT });
    for (const name of ADC_VARIABLES) delete process.env[name];
    const env = standins.env();
    process.env.GCE_METADATA_HOST = env.GCE_METADATA_HOST;
    process.env.CLOUDSDK_CONFIG = env.CLOUDSDK_CONFIG;
    const bigquery = openBigQueryWarehouseAccess({
      projectId: PROJECT,
      location: 'EU',
      warehouseDataset: 'warehouse',
      service: 'transformer-test',
      apiEndpoint: standins.endpoints.bigquery,
      versionTtlMs: 0,
    });
    for (const dataset of ['warehouse', 'staging']) await bigquery.client.createDataset(dataset, { location: 'EU' });
    const duckdb = openDuckDbWarehouseAccess({ path: join(folder, 'counts.duckdb') });
    await duckdb.write(async (warehouse) => {
      await warehouse.execute('create schema warehouse');
      await warehouse.execute('create schema staging');
    });
    await fill(bigquery);
    await fill(duckdb);
    Object.assign(engines, { bigquery, duckdb });
  }, 120_000);

  afterAll(async () => {
    for (const access of Object.values(engines)) await access.close();
    await standins?.stop();
    rmSync(folder, { recursive: true, force: true });
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it.each(['bigquery', 'duckdb'])('counts whole tables and the run dates of quarantine tables (%s)', async (engine) => {
    const counts = await countBuiltRows(engines[engine]!)(TARGETS, ['2026-01-02', '2026-01-03', '2026-01-04']);
    expect(counts).toEqual({
      tables: [
        { name: 'staging.quarantine_sales', rows: 4 },
        { name: 'warehouse.fct_sales', rows: 3 },
      ],
      quarantine: [{ table: 'staging.quarantine_sales', rows: 2 }],
    });
  });

  it.each(['bigquery', 'duckdb'])('reports no quarantined rows for a run without dates (%s)', async (engine) => {
    const counts = await countBuiltRows(engines[engine]!)(TARGETS, []);
    expect(counts.quarantine).toEqual([{ table: 'staging.quarantine_sales', rows: 0 }]);
    expect(counts.tables.map((table) => table.rows)).toEqual([4, 3]);
  });

  it.each(['bigquery', 'duckdb'])('sends no query when nothing that exists was built (%s)', async (engine) => {
    expect(
      await countBuiltRows(engines[engine]!)({ tables: ['warehouse.never_built'], quarantine: [] }, ['2026-01-02']),
    ).toEqual({ tables: [], quarantine: [] });
  });
});
