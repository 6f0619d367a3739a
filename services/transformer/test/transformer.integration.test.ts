import { join, resolve } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataformCompiler,
  DuckDbTransformRunner,
  openDuckDbWarehouse,
  type DuckDbWarehouse,
} from '@mlops/adapters-local';
import { tableChecksums, type BronzeLanded } from '@mlops/kernel';
import { InMemoryDocumentStore, RecordingPublisher, deliver, testEvent, warehouseAccessOf } from '@mlops/testing';
import { GeneratedLake } from '@mlops/testing/fixtures';
import { createTransformerService } from '../src/index.js';

const PROJECT = resolve(import.meta.dirname, '../../../dataform');
const DATES = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09', '2026-01-10'];
const BACKFILL = { from: DATES[0]!, to: DATES.at(-1)! };

/** A deterministic shuffle (so a failure can be replayed). */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let index = out.length - 1; index > 0; index -= 1) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const other = state % (index + 1);
    [out[index], out[other]] = [out[other]!, out[index]!];
  }
  return out;
}

describe('transformer on the real Dataform project and DuckDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-transformer-'));
  const lake = new GeneratedLake(join(dir, 'lake'), { seed: 5, scale: 0.1, dirtyShare: 0.05 });
  const compiler = new DataformCompiler({ projectDir: PROJECT });
  const warehouses: DuckDbWarehouse[] = [];
  const landed: BronzeLanded[] = [];

  async function transformer(name: string, maxDatesPerRun?: number) {
    const warehouse = await openDuckDbWarehouse({ path: join(dir, `${name}.duckdb`) });
    warehouses.push(warehouse);
    const runner = new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: lake.root,
      warehouse: warehouseAccessOf(warehouse),
      compiler,
    });
    const service = createTransformerService({
      documents: new InMemoryDocumentStore(),
      runner,
      ...(maxDatesPerRun === undefined ? {} : { maxDatesPerRun }),
    });
    const publisher = new RecordingPublisher();
    return {
      warehouse,
      service,
      publisher,
      send: (data: BronzeLanded, id: string) =>
        deliver(service, testEvent('mlops.bronze.landed.v1', data, data.runDate, { id }), { publisher }),
    };
  }

  beforeAll(async () => {
    for (const date of DATES)
      landed.push(...(await lake.landDay(date, { fullLoadDate: DATES[0]!, backfill: BACKFILL })));
  });

  afterAll(async () => {
    for (const warehouse of warehouses) await warehouse.close();
    await lake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The same partition landed by a daily run instead of the backfill: each date builds on its own. */
  const daily = ({ backfill: _backfill, ...data }: BronzeLanded): BronzeLanded => data;

  it('replaying every bronze.landed twice in shuffled order (a backfill: dates grouped) leaves the warehouse of daily runs', async () => {
    const ordered = await transformer('ordered');
    for (const data of landed) await ordered.send(daily(data), `${data.runDate}/${data.source}`);
    expect(ordered.publisher.ofType('mlops.warehouse.ready.v1').map((event) => event.data.runDates)).toEqual(
      DATES.map((date) => [date]),
    );
    expect(ordered.publisher.ofType('mlops.stage.failed.v1')).toEqual([]);
    const expected = await tableChecksums(ordered.warehouse, { exclude: {} });
    expect(expected['warehouse.fct_customer_features']).not.toMatch(/^0:/);

    const replayed = await transformer('replayed');
    const deliveries = shuffle([...landed, ...landed], 7);
    for (const data of deliveries) await replayed.send(data, `${data.runDate}/${data.source}`);
    expect(await tableChecksums(replayed.warehouse, { exclude: {} })).toEqual(expected);
    const readies = replayed.publisher.ofType('mlops.warehouse.ready.v1');
    expect([...new Set(readies.flatMap((event) => event.data.runDates))].sort()).toEqual(DATES);
    expect(readies.length).toBeLessThanOrEqual(2);
    expect(replayed.publisher.ofType('mlops.stage.failed.v1')).toEqual([]);
  }, 300_000);

  it('builds a backfill in runs while it lands, in order or with a date landing late, into the warehouse of one run', async () => {
    const atOnce = await transformer('at-once');
    for (const data of landed) await atOnce.send(data, `${data.runDate}/${data.source}`);
    expect(atOnce.publisher.ofType('mlops.warehouse.ready.v1').map((event) => event.data.runDates)).toEqual([DATES]);
    const expected = await tableChecksums(atOnce.warehouse, { exclude: {} });
    expect(expected['warehouse.fct_customer_features']).not.toMatch(/^0:/);

    const inRuns = await transformer('in-runs', 2);
    for (const data of landed) await inRuns.send(data, `${data.runDate}/${data.source}`);
    // The third date's sales land after the fifth date's: the runs after it wait for them.
    const lateDay = await transformer('late-day', 2);
    const late = landed.filter((data) => data.runDate === DATES[2] && data.source === 'sales');
    const last = landed.filter((data) => data.runDate === BACKFILL.to);
    const rest = landed.filter((data) => !late.includes(data) && !last.includes(data));
    for (const data of [...rest, ...late, ...last]) await lateDay.send(data, `${data.runDate}/${data.source}`);

    for (const built of [inRuns, lateDay]) {
      expect(built.publisher.ofType('mlops.warehouse.ready.v1').map((event) => event.data.runDates)).toEqual([
        DATES.slice(0, 2),
        DATES.slice(2, 4),
        DATES.slice(4),
      ]);
      expect(built.publisher.ofType('mlops.stage.failed.v1')).toEqual([]);
      expect(await tableChecksums(built.warehouse, { exclude: {} })).toEqual(expected);
    }
  }, 300_000);

  it('publishes stage.failed and no warehouse.ready when an assertion fails', async () => {
    const failing = await transformer('failing');
    for (const data of landed.filter((entry) => entry.runDate < '2026-01-07'))
      await failing.send(daily(data), `${data.runDate}/${data.source}`);
    expect(failing.publisher.ofType('mlops.warehouse.ready.v1')).toHaveLength(2);
    // The trainer broke fact_predictions_churn's contract: two rows for one customer and snapshot.
    await failing.warehouse.execute(
      "insert into failing.warehouse.fact_predictions_churn values ('cus_1', date '2026-01-06', 0.2, 'low', 'v1', now(), false, date '2026-01-01'), ('cus_1', date '2026-01-06', 0.9, 'high', 'v1', now(), false, date '2026-01-01')",
    );
    for (const data of landed.filter((entry) => entry.runDate === '2026-01-07'))
      await failing.send(daily(data), `${data.runDate}/${data.source}`);
    expect(failing.publisher.ofType('mlops.warehouse.ready.v1')).toHaveLength(2);
    const [failed] = failing.publisher.ofType('mlops.stage.failed.v1');
    expect(failed!.data).toMatchObject({
      stage: 'transformer',
      code: 'TRANSFORMER.ASSERTION_FAILED',
      runDates: ['2026-01-07'],
    });
    expect(failed!.data.reason).toMatch(/assert_fact_predictions_churn \(1 row\(s\)\)/);
  });
});
