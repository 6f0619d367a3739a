/**
 * Leakage: the features and labels of a snapshot must not depend on anything that happened after
 * it (features) or after its label window and cut-off (labels). The warehouse is built for 90
 * days, a past snapshot is read, ten more days of orders and clicks arrive, and the snapshot is
 * read again: it must be identical, and so must the whole training set of the same cut-off. The
 * same comparison on a feature table with one current-state column (a realistic mistake) must
 * find the difference, so the check can fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry, silentLogger, type WarehouseRow } from '@mlops/kernel';
import { InMemoryDocumentStore } from '@mlops/testing';
import { LakeWarehouse, LAKE_WAREHOUSE_BUILD_TIMEOUT_MS, dateRange } from '@mlops/testing/fixtures';
import { featureColumns, readLabelledRows } from '../src/components/features.component.js';
import { resolveTables } from '../src/data/warehouse-tables.js';
import { CHURN_TRAINING_PIPELINE } from '../src/pipeline/churn.pipeline.js';
import { selectTasks } from '../src/pipeline/dag.js';
import { LocalPipelineRunner } from '../src/pipeline/local.runner.js';

const DATES = dateRange('2025-01-01', 90);
const LATER = dateRange('2025-04-01', 10);
const SNAPSHOT = DATES[19]!;
const AS_OF = DATES.at(-1)!;
const W = '"warehouse"."warehouse"';

const FEATURES_ONLY = selectTasks(CHURN_TRAINING_PIPELINE, {
  name: 'mlops-churn-features',
  description: 'features only',
  keep: ['features'],
});

let world: LakeWarehouse;

async function snapshotRows(featureTable: string): Promise<WarehouseRow[]> {
  const tables = await resolveTables(world.warehouse, 'warehouse');
  const columns = await featureColumns(tables, featureTable);
  const result = await readLabelledRows(world.warehouse, tables, {
    featureTable,
    columns,
    snapshots: [SNAPSHOT],
    asOf: AS_OF,
    horizonDays: 30,
    hasSegment: true,
  });
  return Array.from({ length: result.rowCount }, (_, r) =>
    Object.fromEntries(result.names.map((name, c) => [name, result.columns[c]![r]!])),
  );
}

async function trainingSetFingerprint(): Promise<string> {
  const runner = new LocalPipelineRunner({
    deps: {
      warehouse: world.access,
      objects: world.objects,
      registry: new ModelRegistry(new InMemoryDocumentStore()),
      log: silentLogger,
    },
  });
  const result = await runner.run({ pipeline: FEATURES_ONLY, parameters: { as_of: AS_OF }, runKey: 'leakage' });
  return String(result.tasks.features!.outputs.data_fingerprint);
}

/** Rows that differ between two reads of the same snapshot, keyed by customer. */
function differences(
  before: readonly WarehouseRow[],
  after: readonly WarehouseRow[],
): { customers: number; columns: Set<string> } {
  const later = new Map(after.map((row) => [String(row.customer_id), row]));
  const columns = new Set<string>();
  let customers = before.length === after.length ? 0 : Math.abs(before.length - after.length);
  for (const row of before) {
    const other = later.get(String(row.customer_id));
    if (!other) continue;
    const changed = Object.keys(row).filter((column) => !Object.is(row[column], other[column]));
    if (changed.length > 0) customers += 1;
    for (const column of changed) columns.add(column);
  }
  return { customers, columns };
}

const before: Record<string, WarehouseRow[]> = {};
const after: Record<string, WarehouseRow[]> = {};
let fingerprints: [string, string];

beforeAll(async () => {
  world = await LakeWarehouse.cached(DATES);
  // A realistic leak: a current-state column of dim_customer joined onto the point-in-time features.
  await world.warehouse.execute(
    `create view ${W}.leaky_features as
     select f.*, cast(d.lifetime_orders as double) as lifetime_orders
     from ${W}.fct_customer_features as f inner join ${W}.dim_customer as d using (customer_id)`,
  );
  before.honest = await snapshotRows('fct_customer_features');
  before.leaky = await snapshotRows('leaky_features');
  const first = await trainingSetFingerprint();
  await world.add(LATER);
  after.honest = await snapshotRows('fct_customer_features');
  after.leaky = await snapshotRows('leaky_features');
  fingerprints = [first, await trainingSetFingerprint()];
}, LAKE_WAREHOUSE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await world?.close();
});

describe('point-in-time features and labels', () => {
  it('later orders and clicks arrived (the check compares something)', async () => {
    const [row] = await world.warehouse.query<{ n: number }>(
      `select count(*) as n from ${W}.fct_sales where run_date > date '${AS_OF}'`,
    );
    expect(row!.n).toBeGreaterThan(1000);
    expect(before.honest!.length).toBeGreaterThan(1000);
    const labels = new Set(before.honest!.map((r) => r.is_churned));
    expect(labels).toEqual(new Set([0, 1]));
  });

  it('features and labels of a past snapshot are unchanged by data that arrived after it', () => {
    expect(after.honest).toEqual(before.honest);
  });

  it('the whole training set of the same cut-off is unchanged (same data fingerprint)', () => {
    expect(fingerprints[1]).toBe(fingerprints[0]);
  });

  it('the same comparison catches a feature that looks past its snapshot', () => {
    const found = differences(before.leaky!, after.leaky!);
    expect(found.customers).toBeGreaterThan(0);
    expect([...found.columns]).toEqual(['lifetime_orders']);
  });
});
