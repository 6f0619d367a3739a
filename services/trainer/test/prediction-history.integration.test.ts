/**
 * Prediction history across two champions, on a real warehouse (90 days at scale 1, the real
 * Dataform project): each version keeps its own rows, a snapshot is scored by the champion of its
 * time (trained on or before it) or marked backfilled, the first champion scores the history
 * before it, the view keeps one score per customer and snapshot, and events delivered again or
 * later leave the same rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry, silentLogger } from '@mlops/kernel';
import { InMemoryDocumentStore, warehouseAccessOf } from '@mlops/testing';
import { LakeWarehouse, dateRange } from '@mlops/testing/fixtures';
import type { JsonValue } from '../src/components/component.js';
import { CHURN_PREDICT_PIPELINE, CHURN_TRAINING_PIPELINE } from '../src/pipeline/churn.pipeline.js';
import { LocalPipelineRunner } from '../src/pipeline/local.runner.js';

const DATES = dateRange('2025-01-01', 90);
const FIRST_CUT = DATES[74]!;
const SECOND_CUT = DATES[89]!;
const W = '"warehouse"."warehouse"';

let world: LakeWarehouse;
const registry = new ModelRegistry(new InMemoryDocumentStore());
const versions: { first?: string; second?: string } = {};

beforeAll(async () => {
  world = await LakeWarehouse.cached(DATES);
}, 900_000);

afterAll(async () => {
  await world?.close();
});

function runner(warehouse = world.access) {
  return new LocalPipelineRunner({
    deps: { warehouse, objects: world.objects, registry, log: silentLogger },
  });
}

/** The warehouse as an engine that cannot call the model from SQL sees it (the row-scan path). */
function rowScanAccess() {
  const warehouse = world.warehouse;
  return warehouseAccessOf(
    new Proxy(warehouse, {
      get: (target, key) => {
        if (key === 'withNumberFunction') return undefined;
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }),
  );
}

function train(asOf: string, time: string, extra: Record<string, JsonValue> = {}) {
  return runner().run({
    pipeline: CHURN_TRAINING_PIPELINE,
    parameters: {
      as_of: asOf,
      code_version: 'test',
      created_at: time,
      snapshot_dates: [asOf],
      predicted_at: time,
      event_id: `event-${time}`,
      ...extra,
    },
    runKey: `train-${time}`,
  });
}

function predict(dates: string[], time: string, warehouse = world.access) {
  return runner(warehouse).run({
    pipeline: CHURN_PREDICT_PIPELINE,
    parameters: { model_version: versions.second!, snapshot_dates: dates, predicted_at: time },
    runKey: `predict-${time}`,
  });
}

type Row = { snapshot: string; version: string; backfilled: boolean; rows: number; at: string };

async function rowsBySnapshot(table: string, dates: readonly string[]): Promise<Row[]> {
  return world.warehouse.query<Row>(
    `select cast(snapshot_date as varchar) as snapshot, model_version as version, is_backfilled as backfilled, count(*) as rows,
            strftime(min(predicted_at) at time zone 'UTC', '%Y-%m-%dT%H:%M:%S') as at
     from ${W}.${table} where snapshot_date in (${dates.map((d) => `date '${d}'`).join(', ')})
     group by all order by 1, 2`,
  );
}

async function checksum(): Promise<string> {
  const [row] = await world.warehouse.query<{ h: string }>(
    `select cast(sum(hash(customer_id, snapshot_date, churn_probability, risk_band, model_version, predicted_at, is_backfilled, model_data_to)) as varchar) as h
     from ${W}.fact_predictions_churn`,
  );
  return row!.h;
}

describe('prediction history across two champions', () => {
  it('the first champion scores its snapshot point-in-time and the history before it, marked backfilled', async () => {
    const first = await train(FIRST_CUT, `${FIRST_CUT}T06:00:00.000Z`, {
      model_params: { nTrees: 5, maxDepth: 2, threads: 1 },
    });
    const register = first.tasks.register!.outputs;
    expect(register, JSON.stringify(register.decision)).toMatchObject({ promoted: true, first_champion: true });
    versions.first = String(register.version);
    const [history] = await world.warehouse.query<{ snapshots: number; pit: number; last: string }>(
      `select count(distinct snapshot_date) as snapshots, count(distinct snapshot_date) filter (where not is_backfilled) as pit,
              cast(max(snapshot_date) as varchar) as last
       from ${W}.fact_predictions_churn where model_version = ?`,
      [versions.first],
    );
    expect(history).toEqual({ snapshots: 75, pit: 1, last: FIRST_CUT });
  }, 600_000);

  it('a second champion trained later beats it and scores its own snapshot', async () => {
    const second = await train(SECOND_CUT, `${SECOND_CUT}T06:00:00.000Z`);
    const register = second.tasks.register!.outputs;
    expect(register.promoted, JSON.stringify(register.decision)).toBe(true);
    expect(register.first_champion).toBe(false);
    versions.second = String(register.version);
    expect(await rowsBySnapshot('fact_predictions_churn', [SECOND_CUT])).toEqual([
      expect.objectContaining({ version: versions.second, backfilled: false }),
    ]);
  }, 600_000);

  it('scores each back-dated snapshot with the champion of its time, or marks it backfilled, keeping both versions', async () => {
    const later = DATES[80]!;
    const early = DATES[60]!;
    const time = `${SECOND_CUT}T09:00:00.000Z`;
    const result = await predict([later, early], time);
    expect(result.tasks.batch_predict!.outputs.predictions).toEqual([
      expect.objectContaining({ snapshotDate: early, modelVersion: versions.second, backfilled: true }),
      expect.objectContaining({ snapshotDate: later, modelVersion: versions.first, backfilled: false }),
    ]);
    const table = await rowsBySnapshot('fact_predictions_churn', [early, later]);
    expect(table.map(({ snapshot, version, backfilled }) => [snapshot, version, backfilled])).toEqual(
      [
        [early, versions.first, true],
        [early, versions.second, true],
        [later, versions.first, false],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1]))),
    );
    // Both versions scored the same active customers of the early snapshot.
    expect(table[0]!.rows).toBe(table[1]!.rows);

    // The view: one score per customer and snapshot, by the model closest to the snapshot.
    const view = await rowsBySnapshot('fact_predictions_churn_champion', [early, later, SECOND_CUT]);
    expect(view.map(({ snapshot, version, backfilled }) => [snapshot, version, backfilled])).toEqual([
      [early, versions.first, true],
      [later, versions.first, false],
      [SECOND_CUT, versions.second, false],
    ]);
    const [duplicates] = await world.warehouse.query<{ n: number }>(
      `select count(*) as n from (select customer_id, snapshot_date from ${W}.fact_predictions_churn_champion group by all having count(*) > 1)`,
    );
    expect(duplicates!.n).toBe(0);
    const [lapsed] = await world.warehouse.query<{ n: number }>(
      `select count(*) as n from ${W}.fact_predictions_churn as p
       inner join ${W}.fct_customer_features as f using (customer_id, snapshot_date)
       where f.days_since_last_order > 30`,
    );
    expect(lapsed!.n).toBe(0);
  }, 600_000);

  it('leaves the same rows when an event is delivered again, or another scores the same snapshots later', async () => {
    const before = await checksum();
    await predict([DATES[80]!, DATES[60]!], `${SECOND_CUT}T09:00:00.000Z`);
    expect(await checksum()).toBe(before);
    // A later event scoring the same snapshots with the same versions keeps the first write time.
    await predict([DATES[80]!, DATES[60]!], `${SECOND_CUT}T23:00:00.000Z`);
    expect(await checksum()).toBe(before);
    const rows = await rowsBySnapshot('fact_predictions_churn', [DATES[80]!]);
    expect(rows[0]!.at).toBe(`${SECOND_CUT}T09:00:00`);
  }, 600_000);

  it('writes the same rows to the bit whether the engine scores in SQL or the rows are scanned out and joined back', async () => {
    const dates = [DATES[60]!, DATES[80]!, SECOND_CUT];
    const time = `${SECOND_CUT}T09:00:00.000Z`;
    await predict(dates, time);
    await world.warehouse.execute(
      `create or replace table ${W}.predictions_in_engine as select * from ${W}.fact_predictions_churn`,
    );
    const scanned = await predict(dates, time, rowScanAccess());
    const inEngine = await predict(dates, time);
    expect(scanned.tasks.batch_predict!.outputs.predictions).toEqual(inEngine.tasks.batch_predict!.outputs.predictions);
    // The in-engine run tallies its bands as it scores: they are the table's.
    const counted = await world.warehouse.query<{ d: string; v: string; band: string; n: number | bigint }>(
      `select cast(snapshot_date as varchar) as d, model_version as v, risk_band as band, count(*) as n
       from ${W}.fact_predictions_churn group by all`,
    );
    const written = inEngine.tasks.batch_predict!.outputs.predictions as {
      snapshotDate: string;
      modelVersion: string;
      rows: number;
      riskBands: Record<'low' | 'medium' | 'high', number>;
    }[];
    expect(written.length).toBe(dates.length);
    for (const snapshot of written) {
      const of = (band: string) =>
        Number(
          counted.find((c) => c.d === snapshot.snapshotDate && c.v === snapshot.modelVersion && c.band === band)?.n ??
            0,
        );
      expect(snapshot.riskBands).toEqual({ low: of('low'), medium: of('medium'), high: of('high') });
      expect(snapshot.rows).toBe(of('low') + of('medium') + of('high'));
    }
    const [diff] = await world.warehouse.query<{ n: number; rows: number }>(
      `select (select count(*) from (select * from ${W}.predictions_in_engine except all select * from ${W}.fact_predictions_churn))
            + (select count(*) from (select * from ${W}.fact_predictions_churn except all select * from ${W}.predictions_in_engine)) as n,
              (select count(*) from ${W}.predictions_in_engine where snapshot_date in (${dates.map((d) => `date '${d}'`).join(', ')})) as rows`,
    );
    expect(Number(diff!.rows)).toBeGreaterThan(1000);
    expect(Number(diff!.n)).toBe(0);
    // Between the two in-engine runs the row-scan run replaced the rows; the last put them back.
    await predict(dates, time, rowScanAccess());
    const [again] = await world.warehouse.query<{ n: number }>(
      `select count(*) as n from (select * from ${W}.fact_predictions_churn except all select * from ${W}.predictions_in_engine)`,
    );
    expect(Number(again!.n)).toBe(0);
    await world.warehouse.execute(`drop table ${W}.predictions_in_engine`);
  }, 600_000);
});
