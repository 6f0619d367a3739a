import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataformCompiler,
  DuckDbTransformRunner,
  FsObjectStore,
  openDuckDbWarehouse,
  type DuckDbWarehouse,
} from '@mlops/adapters-local';
import { bronzePartKey } from '@mlops/synthetic';
import { decodeMessage, tableChecksums, type BronzeLanded } from '@mlops/kernel';
import { InMemoryDocumentStore, RecordingPublisher, deliver, testEvent, warehouseAccessOf } from '@mlops/testing';
import { GeneratedLake } from '@mlops/testing/fixtures';
import { LEDGER_COLLECTION, createTransformerService } from '../src/index.js';

const PROJECT = resolve(import.meta.dirname, '../../../dataform');
const DATES = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09', '2026-01-10', '2026-01-11'];
const WINDOW = { from: DATES[0]!, to: DATES.at(-1)! };
const SALES_06 = bronzePartKey('sales', '2026-01-06', 0, 'parquet');
const CLICKS_07 = bronzePartKey('clickstream', '2026-01-07', 0, 'jsonl');
const CLICKS_08 = bronzePartKey('clickstream', '2026-01-08', 0, 'jsonl');
const SALES_09 = bronzePartKey('sales', '2026-01-09', 0, 'parquet');
const SALES_10 = bronzePartKey('sales', '2026-01-10', 0, 'parquet');

/**
 * A backfill window on the real project and DuckDB with one bad partition of each kind, each on its
 * own date, and a good date after them:
 * - 06: a Parquet file whose footer is overwritten (same size: only the engine finds it);
 * - 07: a JSONL file with one corrupt line (same size);
 * - 08: a JSONL file that is not text at all (same size);
 * - 09: a file deleted from the lake (found before the run);
 * - 10: a Parquet file of another schema, as landed (its rows are quarantined, the date builds);
 * - 05 and 11: good.
 */
describe('transformer with bad bronze partitions on the real project and DuckDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-bad-partition-'));
  const lake = new GeneratedLake(join(dir, 'lake'), { seed: 11, scale: 0.1, dirtyShare: 0.02 });
  const objects = new FsObjectStore({ root: lake.root });
  const compiler = new DataformCompiler({ projectDir: PROJECT });
  const documents = new InMemoryDocumentStore();
  const publisher = new RecordingPublisher();
  const restores = new Map<string, () => void>();
  let warehouse: DuckDbWarehouse;
  let landed: BronzeLanded[] = [];

  const send = (data: BronzeLanded, id: string) =>
    deliver(service(), testEvent('mlops.bronze.landed.v1', data, data.runDate, { id }), { publisher });
  let built: ReturnType<typeof createTransformerService> | undefined;
  const service = () => built!;

  beforeAll(async () => {
    for (const date of DATES) landed.push(...(await lake.landDay(date, { fullLoadDate: DATES[0]!, backfill: WINDOW })));
    warehouse = await openDuckDbWarehouse({ path: join(dir, 'warehouse.duckdb') });
    const runner = new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: lake.root,
      warehouse: warehouseAccessOf(warehouse),
      compiler,
    });
    built = createTransformerService({ documents, runner, objects, deadLetters: publisher });

    for (const [source, date, damage] of [
      ['sales', '2026-01-06', 'parquet-footer'],
      ['clickstream', '2026-01-07', 'jsonl-line'],
      ['clickstream', '2026-01-08', 'garbage'],
      ['sales', '2026-01-09', 'missing'],
    ] as const)
      restores.set(`${source}/${date}`, (await lake.breakPartition(source, date, damage)).restore);
    // Another schema, landed as it is: every column of another type, the ids missing.
    const other = await lake.breakPartition('sales', '2026-01-10', 'other-schema', WINDOW);
    expect(other.key).toBe(SALES_10);
    landed = landed.map((data) => (data.runDate === '2026-01-10' && data.source === 'sales' ? other.landed! : data));
  });

  afterAll(async () => {
    await warehouse?.close();
    await lake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds the good dates of the window, records and announces each bad date with its file, and rebuilds each after the fix (redrive or replay) to the gold tables of a clean build', async () => {
    for (const data of landed) await send(data, `${data.runDate}/${data.source}`);

    const failed = publisher.ofType('mlops.stage.failed.v1').map((event) => event.data);
    expect(failed.map((data) => [data.runDates, data.code])).toEqual([
      [['2026-01-06'], 'DATAFORM.ACTION_FAILED'],
      [['2026-01-07'], 'DATAFORM.ACTION_FAILED'],
      [['2026-01-08'], 'DATAFORM.ACTION_FAILED'],
      [['2026-01-09'], 'TRANSFORMER.BAD_PARTITION'],
    ]);
    expect(failed[0]!.details).toEqual({ files: [SALES_06] });
    expect(failed[0]!.reason).toMatch(/magic bytes|parquet/i);
    expect(failed[1]!.details).toEqual({ files: [CLICKS_07] });
    expect(failed[1]!.reason).toMatch(/Malformed JSON/);
    expect(failed[2]!.details).toEqual({ files: [CLICKS_08] });
    expect(failed[3]!.reason).toContain(`${SALES_09} is missing from the lake`);
    for (const date of ['2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09'])
      expect((await documents.get(LEDGER_COLLECTION, `built_${date}`))?.data.status, date).toBe('broken');

    const readyDates = () =>
      publisher
        .ofType('mlops.warehouse.ready.v1')
        .flatMap((event) => event.data.runDates)
        .sort();
    expect(readyDates()).toEqual(['2026-01-05', '2026-01-10', '2026-01-11']);
    const salesDays = async () =>
      (
        await warehouse.query<{ day: string }>(
          "select distinct strftime(run_date, '%Y-%m-%d') as day from warehouse.staging.stg_sales__orders order by 1",
        )
      ).map((row) => row.day);
    expect(await salesDays()).toEqual(['2026-01-05', '2026-01-11']);
    // The other schema's rows are quarantined with a reason; the date built.
    const [wrong] = await warehouse.query<{ rows: number; reasons: string }>(
      "select count(*) as rows, string_agg(distinct reject_reason, ',') as reasons from warehouse.staging.quarantine_sales where run_date = date '2026-01-10'",
    );
    expect(Number(wrong!.rows)).toBe(20);
    expect(wrong!.reasons).toBe('missing_order_id');

    // The event that found them (the window's last) was handled; a copy of it is the dead letter.
    expect(publisher.deadLetters).toHaveLength(1);
    expect(publisher.deadLetters[0]!.info.reason).toMatch(
      /^2026-01-06, 2026-01-07, 2026-01-08, 2026-01-09 not built while building 2026-01-11 \(/,
    );

    // 06 and 07 fixed, then the dead letter redriven (as `mlops dlq redrive` does): they build;
    // 08 and 09 are still bad, and are recorded, announced and dead-lettered again.
    for (const part of ['sales/2026-01-06', 'clickstream/2026-01-07']) restores.get(part)!();
    const readyBefore = publisher.ofType('mlops.warehouse.ready.v1').length;
    await deliver(service(), decodeMessage(publisher.deadLetters[0]!.message), { publisher });
    expect(readyDates()).toEqual(['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-10', '2026-01-11']);
    expect(publisher.ofType('mlops.stage.failed.v1').map((event) => event.data.runDates)).toEqual([
      ['2026-01-06'],
      ['2026-01-07'],
      ['2026-01-08'],
      ['2026-01-09'],
      ['2026-01-08'],
      ['2026-01-09'],
    ]);
    expect(publisher.deadLetters).toHaveLength(2);

    // 08 and 09 fixed: each date's landed events replayed (as `mlops replay --topic bronze-landed` does).
    for (const part of ['clickstream/2026-01-08', 'sales/2026-01-09']) restores.get(part)!();
    for (const data of landed.filter((entry) => ['2026-01-08', '2026-01-09'].includes(entry.runDate)))
      await send(data, `${data.runDate}/${data.source}/replay`);
    expect(publisher.ofType('mlops.stage.failed.v1')).toHaveLength(6);
    expect(publisher.ofType('mlops.warehouse.ready.v1').length).toBeGreaterThan(readyBefore);
    expect(readyDates()).toEqual(DATES);
    for (const date of DATES)
      expect((await documents.get(LEDGER_COLLECTION, `built_${date}`))?.data.status, date).toBe('ready');
    expect(await salesDays()).toEqual(DATES.filter((date) => date !== '2026-01-10'));

    // The gold tables equal those of a clean build of the same lake.
    const clean = await openDuckDbWarehouse({ path: join(dir, 'clean.duckdb') });
    try {
      const cleanAccess = warehouseAccessOf(clean);
      await new DuckDbTransformRunner({
        projectDir: PROJECT,
        lakeRoot: lake.root,
        warehouse: cleanAccess,
        compiler,
      }).run({
        runDates: DATES,
      });
      const gold = (access: ReturnType<typeof warehouseAccessOf>) =>
        access.read((session) => tableChecksums(session, { schemas: ['warehouse'] }));
      const expected = await gold(cleanAccess);
      expect(expected['warehouse.fct_sales']).toMatch(/^[1-9]/);
      expect(await gold(warehouseAccessOf(warehouse))).toEqual(expected);
    } finally {
      await clean.close();
    }
    // About a dozen runs of the project: generous for a loaded machine.
  }, 600_000);
});
