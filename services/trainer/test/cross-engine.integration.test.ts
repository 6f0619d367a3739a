/**
 * The trainer's SQL on both engines: the same gold rows (a slice of the fixture warehouse built by
 * the real Dataform project, exported as Parquet) are loaded into a DuckDB file and into BigQuery
 * (the real `@google-cloud/bigquery` client against the BigQuery stand-in, which runs GoogleSQL on
 * DuckDB through the project's translator). The features step gives the same training set (the
 * same fingerprint) and batch prediction writes the same rows on both; on BigQuery it replaces a
 * version's snapshots in one script, keeping the first write time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGcpStandins, type GcpStandins } from '@mlops/gcp-standins';
import { FsObjectStore, openDuckDbWarehouseAccess } from '@mlops/adapters-local';
import { ModelRegistry, silentLogger, type WarehouseAccess, type WarehouseRow } from '@mlops/kernel';
import { openBigQueryWarehouseAccess, type BigQueryWarehouseAccess } from '@mlops/adapters-gcp';
import { InMemoryDocumentStore } from '@mlops/testing';
import { LakeWarehouse, LAKE_WAREHOUSE_BUILD_TIMEOUT_MS, dateRange } from '@mlops/testing/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../src/components/component.js';
import { epochDay } from '../src/data/dates.js';
import { CHURN_PREDICT_PIPELINE, CHURN_TRAINING_PIPELINE } from '../src/pipeline/churn.pipeline.js';
import { selectTasks } from '../src/pipeline/dag.js';
import { LocalPipelineRunner } from '../src/pipeline/local.runner.js';

const DATES = dateRange('2025-01-01', 90);
const FIRST = DATES[40]!;
const AS_OF = DATES[75]!;
/** Snapshots on the weekly grid only, so the slice stays small. */
const GRID = DATES.filter((date) => date >= FIRST && date <= AS_OF && epochDay(date) % 7 === 0);
const PROJECT = 'mlops-trainer-engines';
const BUCKET = 'gold-slice';
const ADC_VARIABLES = [
  'GOOGLE_APPLICATION_CREDENTIALS',
  'GOOGLE_CLOUD_PROJECT',
  'GCLOUD_PROJECT',
  'BIGQUERY_EMULATOR_HOST',
  'GCE_METADATA_HOST',
  'CLOUDSDK_CONFIG',
];
/** Small sampling so a few weekly snapshots make a train and a holdout part. */
const SAMPLING: Record<string, JsonValue> = {
  horizon_days: 7,
  snapshot_every_days: 7,
  warmup_days: 0,
  min_warmup_days: 0,
  min_snapshots: 2,
  max_snapshots: 4,
  holdout_fraction: 0.25,
  embargo_days: 7,
};
const FEATURES_ONLY = selectTasks(CHURN_TRAINING_PIPELINE, {
  name: 'mlops-churn-features',
  description: 'features only',
  keep: ['features'],
});

let standins: GcpStandins;
let duck: WarehouseAccess;
let bigquery: BigQueryWarehouseAccess;
const dir = mkdtempSync(join(tmpdir(), 'trainer-engines-'));
const saved = new Map(ADC_VARIABLES.map((name) => [name, process.env[name]]));
const registry = new ModelRegistry(new InMemoryDocumentStore());
const objects = new FsObjectStore({ root: join(dir, 'lake') });
let version = '';

function runner(warehouse: WarehouseAccess) {
  return new LocalPipelineRunner({ deps: { warehouse, objects, registry, log: silentLogger } });
}

/** The slice of gold the trainer reads, as Parquet files: features on the grid, the sales columns the labels need. */
async function exportSlice(world: LakeWarehouse): Promise<Record<string, string>> {
  const names = await world.warehouse.describeSchema('warehouse');
  const grid = GRID.map((date) => `date '${date}'`).join(', ');
  const slices = {
    fct_customer_features: `select * from ${names.table('fct_customer_features')} where snapshot_date in (${grid})`,
    fct_sales: `select customer_id, order_date, run_date from ${names.table('fct_sales')} where run_date between date '${FIRST}' and date '${AS_OF}'`,
  };
  const files: Record<string, string> = {};
  for (const [table, select] of Object.entries(slices)) {
    files[table] = join(dir, `${table}.parquet`);
    await world.warehouse.execute(`copy (${select}) to '${files[table]}' (format parquet)`);
  }
  return files;
}

async function loadDuckDb(files: Record<string, string>): Promise<WarehouseAccess> {
  // Named like the product's file (a catalog "warehouse"): names come from describeSchema.
  const access = openDuckDbWarehouseAccess({ path: join(dir, 'warehouse.duckdb') });
  await access.write(async (warehouse) => {
    await warehouse.execute('create schema if not exists warehouse');
    const names = await warehouse.describeSchema('warehouse');
    for (const [table, file] of Object.entries(files))
      await warehouse.execute(`create table ${names.table(table)} as select * from read_parquet('${file}')`);
  });
  return access;
}

async function loadBigQuery(files: Record<string, string>): Promise<BigQueryWarehouseAccess> {
  for (const name of ADC_VARIABLES) delete process.env[name];
  const env = standins.env();
  process.env.GCE_METADATA_HOST = env.GCE_METADATA_HOST;
  process.env.CLOUDSDK_CONFIG = env.CLOUDSDK_CONFIG;
  const access = openBigQueryWarehouseAccess({
    projectId: PROJECT,
    location: 'EU',
    warehouseDataset: 'warehouse',
    service: 'trainer-test',
    apiEndpoint: standins.endpoints.bigquery,
    versionTtlMs: 0,
  });
  await access.client.createDataset('warehouse', { location: 'EU' });
  for (const [table, file] of Object.entries(files)) {
    standins.gcs.storage.write(BUCKET, `${table}.parquet`, readFileSync(file), {}, {});
    const [job] = await access.client.createJob({
      configuration: {
        load: {
          sourceUris: [`gs://${BUCKET}/${table}.parquet`],
          sourceFormat: 'PARQUET',
          destinationTable: { projectId: PROJECT, datasetId: 'warehouse', tableId: table },
        },
      },
    });
    await job.promise();
  }
  return access;
}

beforeAll(async () => {
  const world = await LakeWarehouse.cached(DATES);
  try {
    const files = await exportSlice(world);
    standins = await startGcpStandins({ projectId: PROJECT, location: 'EU', buckets: [BUCKET] });
    duck = await loadDuckDb(files);
    bigquery = await loadBigQuery(files);
  } finally {
    await world.close();
  }
}, LAKE_WAREHOUSE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await duck?.close();
  await bigquery?.close();
  await standins?.stop();
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function features(access: WarehouseAccess, parameters: Record<string, JsonValue> = {}) {
  const result = await runner(access).run({
    pipeline: FEATURES_ONLY,
    parameters: { as_of: AS_OF, ...SAMPLING, ...parameters },
    runKey: `features-${Math.random()}`,
  });
  return result.tasks.features!.outputs;
}

async function predict(access: WarehouseAccess, dates: string[], time: string) {
  const result = await runner(access).run({
    pipeline: CHURN_PREDICT_PIPELINE,
    parameters: {
      horizon_days: SAMPLING.horizon_days!,
      model_version: version,
      snapshot_dates: dates,
      predicted_at: time,
    },
    runKey: `predict-${time}-${Math.random()}`,
  });
  return result.tasks.batch_predict!.outputs;
}

function predictionRows(access: WarehouseAccess): Promise<WarehouseRow[]> {
  return access.read(async (warehouse) => {
    const names = await warehouse.describeSchema('warehouse');
    return warehouse.query(
      `select customer_id, cast(snapshot_date as string) as snapshot_date, churn_probability, risk_band, model_version,
              predicted_at, is_backfilled, cast(model_data_to as string) as model_data_to
       from ${names.table('fact_predictions_churn')} order by snapshot_date, customer_id, model_version`,
    );
  });
}

describe('the trainer on DuckDB and on BigQuery', () => {
  it('builds the same training set from the same gold rows', async () => {
    const [local, cloud] = [await features(duck), await features(bigquery)];
    expect(Number(local.train_rows)).toBeGreaterThan(0);
    expect(cloud).toEqual(local);
  }, 600_000);

  it('writes the same predictions, and replaces a version on BigQuery keeping its first write time', async () => {
    const trained = await runner(duck).run({
      pipeline: CHURN_TRAINING_PIPELINE,
      parameters: {
        as_of: AS_OF,
        ...SAMPLING,
        model_params: { nTrees: 10, maxDepth: 3, threads: 1 },
        code_version: 'test',
        created_at: `${AS_OF}T06:00:00.000Z`,
        snapshot_dates: [],
        predicted_at: `${AS_OF}T06:00:00.000Z`,
        event_id: 'event-train',
      },
      runKey: 'train',
    });
    version = String(trained.tasks.register!.outputs.version);
    if (!trained.tasks.register!.outputs.promoted)
      await registry.promote({
        modelName: 'churn',
        version,
        previousChampion: null,
        promotedAt: `${AS_OF}T06:00:00.000Z`,
        reason: 'test: the champion whatever its score',
        challengerRocAuc: 0.5,
        championRocAuc: null,
      });
    const dates = GRID.slice(-2);
    const time = `${AS_OF}T09:00:00.000Z`;
    const [local, cloud] = [await predict(duck, dates, time), await predict(bigquery, dates, time)];
    expect(cloud).toEqual(local);
    const rows = await predictionRows(duck);
    expect(rows.length).toBeGreaterThan(100);
    expect(await predictionRows(bigquery)).toEqual(rows);

    // Again, later: the same rows (the version's snapshots replaced whole, predicted_at kept).
    await predict(bigquery, dates, `${AS_OF}T23:00:00.000Z`);
    expect(await predictionRows(bigquery)).toEqual(rows);
    expect(new Set(rows.map((row) => row.predicted_at))).toEqual(new Set([time]));
  }, 600_000);

  it('says what is wrong with a missing feature table, missing columns or an empty snapshot, on BigQuery too', async () => {
    for (const access of [duck, bigquery]) {
      await expect(features(access, { feature_table: 'no_such_features' })).rejects.toMatchObject({
        code: 'TRAINER.FEATURE_TABLE_MISSING',
      });
      await access.write(async (warehouse) => {
        const names = await warehouse.describeSchema('warehouse');
        await warehouse.execute(
          `create table ${names.table('features_without_recency')} as select customer_id, snapshot_date, tenure_days from ${names.table('fct_customer_features')}`,
        );
        await warehouse.execute(
          `create table ${names.table('features_empty')} as select * from ${names.table('fct_customer_features')} where snapshot_date < cast(? as date)`,
          [FIRST],
        );
      });
      await expect(features(access, { feature_table: 'features_without_recency' })).rejects.toMatchObject({
        code: 'TRAINER.INVALID_COMPONENT_IO',
      });
      await expect(features(access, { feature_table: 'features_empty' })).rejects.toMatchObject({
        code: 'TRAINER.EMPTY_TRAINING_SET',
      });
      // A snapshot with no features scores nobody and writes nothing.
      const before = await predictionRows(access);
      const empty = await predict(access, [DATES[41]!], `${AS_OF}T10:00:00.000Z`);
      expect(empty.predictions).toEqual([expect.objectContaining({ snapshotDate: DATES[41], rows: 0 })]);
      expect(await predictionRows(access)).toEqual(before);
    }
  }, 600_000);
});
