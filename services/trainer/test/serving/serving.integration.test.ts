/**
 * The Done-when of the servable model: a champion trained by the real pipeline on a generated
 * warehouse (90 days at scale 1, the real Dataform project on DuckDB) is served by the prediction
 * server's entrypoint as its own process, with `AIP_STORAGE_URI` at the version's folder in the
 * lake. After health answers 200, instances read from the feature table give the probabilities
 * batch prediction wrote for the same customers and snapshots, bit for bit: the server and batch
 * prediction compile the same `model.json` into the same scorer, the feature values travel as
 * JSON numbers (which round-trip a double exactly) and NULLs as `null` (NaN on both sides).
 */
import { fileURLToPath } from 'node:url';
import { ModelRegistry, silentLogger, type WarehouseValue } from '@mlops/kernel';
import { freePort, InMemoryDocumentStore, startMainProcess, type StartedProcess } from '@mlops/testing';
import { LakeWarehouse, LAKE_WAREHOUSE_BUILD_TIMEOUT_MS, dateRange } from '@mlops/testing/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHURN_TRAINING_PIPELINE } from '../../src/pipeline/churn.pipeline.js';
import { LocalPipelineRunner } from '../../src/pipeline/local.runner.js';

const DATES = dateRange('2025-01-01', 90);
const AS_OF = DATES.at(-1)!;
const EVENT_TIME = `${AS_OF}T06:00:00.000Z`;
const W = '"warehouse"."warehouse"';
const main = fileURLToPath(new URL('../../src/serving/main.ts', import.meta.url));
/** How long the server process gets to compile (tsx), load the model and answer health. */
const READY_MS = 120_000;

let world: LakeWarehouse;
let server: StartedProcess | undefined;
const registry = new ModelRegistry(new InMemoryDocumentStore());

beforeAll(async () => {
  world = await LakeWarehouse.cached(DATES);
}, LAKE_WAREHOUSE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  await world?.close();
});

type Row = Record<string, WarehouseValue> & { customer_id: string; snapshot: string; churn_probability: number };

async function waitForHealth(url: string, proc: StartedProcess): Promise<number[]> {
  const statuses: number[] = [];
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (proc.child.exitCode !== null)
      throw new Error(`the server exited with ${proc.child.exitCode}:\n${proc.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      if (statuses.at(-1) !== response.status) statuses.push(response.status);
      if (response.status === 200) return statuses;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`no healthy answer on ${url} within ${READY_MS} ms:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a registered champion served by the prediction server', () => {
  it('answers health, then the feature table’s instances with the probabilities batch prediction wrote', async () => {
    const runner = new LocalPipelineRunner({
      deps: { warehouse: world.access, objects: world.objects, registry, log: silentLogger },
    });
    const result = await runner.run({
      pipeline: CHURN_TRAINING_PIPELINE,
      parameters: {
        as_of: AS_OF,
        code_version: 'test',
        created_at: EVENT_TIME,
        snapshot_dates: [AS_OF],
        predicted_at: EVENT_TIME,
        event_id: 'serving-event',
        model_params: { nTrees: 40, maxDepth: 4, threads: 1 },
      },
      runKey: 'serving',
    });
    const register = result.tasks.register!.outputs;
    expect(register.promoted).toBe(true);
    const version = (await registry.get('churn', String(register.version)))!;
    const folder = world.objects.uri(version.artifactUri.slice(0, version.artifactUri.lastIndexOf('/')));

    const port = await freePort();
    server = startMainProcess(main, {
      AIP_HTTP_PORT: String(port),
      AIP_HEALTH_ROUTE: '/v1/endpoints/1/deployedModels/2',
      AIP_PREDICT_ROUTE: '/v1/endpoints/1/deployedModels/2:predict',
      AIP_STORAGE_URI: folder,
      MLOPS_SERVING_HOST: '127.0.0.1',
    });
    const base = `http://127.0.0.1:${port}/v1/endpoints/1/deployedModels/2`;
    const statuses = await waitForHealth(base, server);
    expect(statuses.at(-1)).toBe(200);

    // The scored rows of a point-in-time snapshot and of a backfilled one, with every feature column.
    const features = await world.warehouse.query<{ name: string }>(
      `select column_name as name from information_schema.columns
       where table_schema = 'warehouse' and table_name = 'fct_customer_features' order by ordinal_position`,
    );
    expect(features.length).toBeGreaterThan(5);
    const snapshots = [AS_OF, DATES[60]!];
    const rows = await world.warehouse.query<Row>(
      `select f.* exclude (snapshot_date), cast(f.snapshot_date as varchar) as snapshot, p.churn_probability
       from ${W}.fct_customer_features as f
       inner join ${W}.fact_predictions_churn as p using (customer_id, snapshot_date)
       where p.model_version = ? and f.snapshot_date in (${snapshots.map((d) => `date '${d}'`).join(', ')})
       order by f.customer_id, f.snapshot_date`,
      [version.version],
    );
    expect(new Set(rows.map((row) => row.snapshot))).toEqual(new Set(snapshots));
    expect(rows.length).toBeGreaterThan(500);

    // Instances as BigQuery batch prediction sends them: whole rows as objects (numbers as JSON numbers).
    const asJson = (value: unknown): unknown => (typeof value === 'bigint' ? Number(value) : value);
    const instances = rows.map((row) =>
      Object.fromEntries(
        Object.entries(row)
          .filter(([key]) => key !== 'churn_probability')
          .map(([key, value]) => [key, asJson(value)]),
      ),
    );
    const nulls = instances.filter((instance) => Object.values(instance).some((value) => value === null)).length;
    const predictions: number[] = [];
    for (let start = 0; start < instances.length; start += 500) {
      const response = await fetch(`${base}:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: instances.slice(start, start + 500) }),
      });
      const body = (await response.json()) as { predictions: number[] };
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body.predictions).toHaveLength(Math.min(500, instances.length - start));
      predictions.push(...body.predictions);
    }
    const differing = rows.filter((row, i) => !Object.is(predictions[i], row.churn_probability));
    expect(differing.map((row) => `${row.customer_id} ${row.snapshot}`)).toEqual([]);
    console.log(
      `served ${rows.length} instances (${nulls} with a NULL feature) of ${snapshots.length} snapshots: bit-identical to batch prediction`,
    );

    // The same rows as arrays in the model's feature order.
    const model = JSON.parse((await world.objects.get(version.artifactUri)).toString('utf8')) as {
      featureNames: string[];
    };
    const arrays = instances.slice(0, 50).map((instance) => model.featureNames.map((name) => instance[name] ?? null));
    const byArray = await fetch(`${base}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: arrays }),
    });
    expect(((await byArray.json()) as { predictions: number[] }).predictions).toEqual(predictions.slice(0, 50));

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 600_000);
});
