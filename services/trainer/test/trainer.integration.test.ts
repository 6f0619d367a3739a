/**
 * The trainer service end to end on a real warehouse (90 days generated at scale 1, built by the
 * real Dataform project on DuckDB): warehouse.ready in, registry and predictions written, events
 * out, and redelivery changing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry, silentLogger, type WarehouseReady } from '@mlops/kernel';
import { InMemoryDocumentStore, deliver, testEvent } from '@mlops/testing';
import { LakeWarehouse, LAKE_WAREHOUSE_BUILD_TIMEOUT_MS, dateRange } from '@mlops/testing/fixtures';
import { LocalPipelineRunner, createTrainerService } from '../src/index.js';

const DATES = dateRange('2025-01-01', 90);
const LAST = DATES.slice(-3);
const W = '"warehouse"."warehouse"';

let world: LakeWarehouse;
const documents = new InMemoryDocumentStore();
const registry = new ModelRegistry(documents);

beforeAll(async () => {
  world = await LakeWarehouse.cached(DATES);
}, LAKE_WAREHOUSE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await world?.close();
});

function service() {
  return createTrainerService({
    warehouse: world.access,
    objects: world.objects,
    documents,
    registry,
    settings: { codeVersion: 'integration' },
    runner: new LocalPipelineRunner({
      deps: { warehouse: world.access, objects: world.objects, registry, log: silentLogger },
    }),
  });
}

function ready(runDates: string[], extra: Partial<WarehouseReady> = {}, id?: string) {
  const data: WarehouseReady = {
    runDates: runDates as [string, ...string[]],
    tables: [],
    quarantine: [],
    assertions: [{ name: 'warehouse_fct_sales_assertions_uniqueKey_0', passed: true, failingRows: 0 }],
    engine: 'duckdb',
    durationMs: 1,
    ...extra,
  };
  return testEvent('mlops.warehouse.ready.v1', data, runDates.at(-1)!, id ? { id } : {});
}

/** Every predicted row of some snapshots, as one digest (bytes as DuckDB renders them). */
async function predictionsDigest(dates: readonly string[]): Promise<{ rows: number; digest: string }> {
  const [row] = await world.warehouse.query<{ rows: number; digest: string }>(
    `select count(*) as rows, md5(string_agg(concat_ws('|', customer_id, snapshot_date, churn_probability, risk_band, model_version, predicted_at, is_backfilled, model_data_to), ',' order by snapshot_date, customer_id, model_version)) as digest
     from ${W}.fact_predictions_churn where snapshot_date in (${dates.map((date) => `date '${date}'`).join(', ')})`,
  );
  return { rows: Number(row!.rows), digest: String(row!.digest) };
}

describe('trainer on warehouse.ready', () => {
  const event = ready(LAST, { backfill: { from: DATES[0]!, to: DATES.at(-1)! } }, 'warehouse-ready-backfill-end');
  let first: { rows: number; digest: string };
  let firstEvents: { id: string; type: string; data: unknown }[];

  it("trains at the end of a backfill: registers and promotes a version, writes the snapshots' predictions, publishes model.trained and predictions.ready", async () => {
    const published = await deliver(service(), event);
    const [trained] = published.ofType('mlops.model.trained.v1');
    expect(trained?.data).toMatchObject({ modelName: 'churn', promoted: true, dataRange: { to: DATES.at(-1) } });
    expect(trained!.data.championVersion).toBe(trained!.data.version);
    expect(trained!.data.metrics.rocAuc).toBeGreaterThan(trained!.data.baselineMetrics!.rocAuc);
    // The first champion scores the event's snapshots and every earlier one (backfilled).
    const ready = published.ofType('mlops.predictions.ready.v1');
    expect(ready.map((e) => e.data.snapshotDate)).toEqual(DATES);
    // Only customers still active at a snapshot are scored: hundreds a day at scale 1.
    expect(ready.filter((e) => e.data.modelVersion !== trained!.data.version || e.data.rows < 100)).toEqual([]);
    expect(
      ready.every((e) => e.data.riskBands.low + e.data.riskBands.medium + e.data.riskBands.high === e.data.rows),
    ).toBe(true);
    first = await predictionsDigest(LAST);
    expect(first.rows).toBe(
      ready.filter((e) => LAST.includes(e.data.snapshotDate)).reduce((sum, e) => sum + e.data.rows, 0),
    );
    firstEvents = published.events.map((e) => ({ id: e.id, type: e.type, data: e.data }));
  }, 600_000);

  it('redelivering the same event leaves identical predictions, one version and one promotion', async () => {
    const published = await deliver(service(), event, { attempt: 2 });
    expect(await predictionsDigest(LAST)).toEqual(first);
    expect(await registry.list('churn')).toHaveLength(1);
    expect(await registry.promotions('churn')).toHaveLength(1);
    expect(published.events.map((e) => ({ id: e.id, type: e.type, data: e.data }))).toEqual(firstEvents);
  }, 600_000);

  it('the next day only predicts with the fresh champion', async () => {
    const champion = await registry.champion('churn');
    const next = ready([DATES.at(-1)!], {}, 'warehouse-ready-next');
    const published = await deliver(service(), next);
    expect(published.ofType('mlops.model.trained.v1')).toEqual([]);
    expect(
      published.ofType('mlops.predictions.ready.v1').map((e) => [e.data.snapshotDate, e.data.modelVersion]),
    ).toEqual([[DATES.at(-1), champion!.version]]);
    expect(await registry.list('churn')).toHaveLength(1);
  }, 600_000);
});
