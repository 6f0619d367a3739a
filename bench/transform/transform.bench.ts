/**
 * Transform benchmark: the transformer (ledger, Dataform compilation, translation, DuckDB runner,
 * events) building 120 days of scale-10 bronze one day at a time, beside DuckDB executing the same
 * translated statements directly (the anchor: the statements the runner executed, replayed on a
 * second database file, action by action in transactions as the runner does, each day right after
 * the transformer's so both see the same machine). Then the time to add one day to a warehouse
 * that holds 30 and 365 days: flat once the history is longer than the features' 90-day lookback.
 *
 *   flock /tmp/bench.lock npx tsx --conditions=@mlops/source bench/transform/transform.bench.ts
 *
 * BENCH_TRANSFORM_DAYS, BENCH_TRANSFORM_SCALE, BENCH_TRANSFORM_HISTORY (e.g. "30,365") shrink or
 * reshape the run; BENCH_TRANSFORM_LAKE keeps the generated bronze between runs.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataformCompiler, DuckDbTransformRunner, openDuckDbWarehouse } from '@mlops/adapters-local';
import { dayNumber, isoDate } from '@mlops/synthetic';
import { type BronzeLanded } from '@mlops/kernel';
import { InMemoryDocumentStore, RecordingPublisher, deliver, testEvent, warehouseAccessOf } from '@mlops/testing';
import { GeneratedLake } from '@mlops/testing/fixtures';
import { DEFAULT_MAX_DATES_PER_RUN, createTransformerService } from '@mlops/transformer';

const here = dirname(fileURLToPath(import.meta.url));
const PROJECT = resolve(here, '..', '..', 'dataform');
const FIRST_DATE = '2026-01-05';

/** Options of {@link runTransformBench}. */
export interface TransformBenchOptions {
  /** Days built one at a time for the ratio (default 120). */
  days?: number;
  /** Generator scale (default 10: about 10,000 orders and 11,000 click events a day). */
  scale?: number;
  /** History lengths at which adding one day is timed (default 30, 120 and 365). */
  history?: number[];
  /** Folder of the bronze lake, kept (default: a scratch folder, removed afterwards). */
  lakeDir?: string;
  /** Where the report goes (default stdout). */
  print?: (line: string) => void;
}

/** What the bench measured. */
export interface TransformBenchResult {
  days: number;
  scale: number;
  bronzeRows: number;
  transformerMs: number;
  anchorMs: number;
  ratio: number;
  statements: number;
  firstDayMs: number;
  addOneDay: { historyDays: number; ms: number; anchorMs: number }[];
  /** Days whose assertions failed (the transformer published stage.failed). */
  failedDays: number;
  targets: { ratio: boolean; flat: boolean };
}

interface Recorded {
  action: string;
  sql: string;
}

/** Replay a run's statements on the anchor connection: one transaction per action, as the runner. */
async function replay(connection: DuckDBConnection, statements: readonly Recorded[]): Promise<number> {
  // One transaction for the whole run, as the runner does.
  const started = performance.now();
  await connection.run('begin transaction');
  for (const { sql } of statements) await connection.run(sql);
  await connection.run('commit');
  return performance.now() - started;
}

function datesFrom(first: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => isoDate(dayNumber(first) + index));
}

/** Run the benchmark and print its report. */
export async function runTransformBench(options: TransformBenchOptions = {}): Promise<TransformBenchResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const days = options.days ?? 120;
  const scale = options.scale ?? 10;
  const history = options.history ?? [30, 120, 365];
  const scratch = await mkdtemp(join(tmpdir(), 'mlops-bench-transform-'));
  const lakeDir = options.lakeDir ?? join(scratch, 'lake');
  // Two DuckDB threads per Parquet file: faster, and the bytes need not repeat from run to run here.
  const lake = new GeneratedLake(lakeDir, { seed: 42, scale, dirtyShare: 0.01 }, { threads: 2 });
  try {
    const needed = Math.max(days, ...history.map((length) => length + 1));
    const generateStarted = performance.now();
    const landed = new Map<string, BronzeLanded[]>();
    for (const date of datesFrom(FIRST_DATE, needed))
      landed.set(date, await lake.landDay(date, { fullLoadDate: FIRST_DATE, reuse: true }));
    const bronzeRows = [...landed.values()].flat().reduce((sum, data) => sum + data.rowCount, 0);
    print(
      `bronze: ${needed} days at scale ${scale} under ${lakeDir} (${bronzeRows.toLocaleString('en')} rows, written or found in ${((performance.now() - generateStarted) / 1000).toFixed(1)} s)`,
    );

    // 1. The transformer, day by day, each day's statements replayed right after on the anchor.
    const compiler = new DataformCompiler({ projectDir: PROJECT });
    const warehouse = await openDuckDbWarehouse({ path: join(scratch, 'transformer.duckdb') });
    let recorded: Recorded[] = [];
    const runner = new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: lakeDir,
      warehouse: warehouseAccessOf(warehouse),
      compiler,
      onStatement: (action, sql) => recorded.push({ action, sql: sql.replaceAll('"transformer".', '"anchor".') }),
    });
    const service = createTransformerService({ documents: new InMemoryDocumentStore(), runner });
    const publisher = new RecordingPublisher();
    const anchorDb = await DuckDBInstance.create(join(scratch, 'anchor.duckdb'));
    const anchor = await anchorDb.connect();
    let transformerMs = 0;
    let anchorMs = 0;
    let statements = 0;
    let firstDayMs = 0;
    for (const [index, date] of datesFrom(FIRST_DATE, days).entries()) {
      recorded = [];
      const events = landed
        .get(date)!
        .map((data) => testEvent('mlops.bronze.landed.v1', data, date, { id: `${date}/${data.source}` }));
      const started = performance.now();
      for (const event of events) await deliver(service, event, { publisher });
      const elapsed = performance.now() - started;
      transformerMs += elapsed;
      if (index === 0) firstDayMs = elapsed;
      anchorMs += await replay(anchor, recorded);
      statements += recorded.length;
      if ((index + 1) % 30 === 0)
        print(
          `  day ${index + 1}: transformer ${(transformerMs / 1000).toFixed(1)} s, anchor ${(anchorMs / 1000).toFixed(1)} s`,
        );
    }
    // Every day runs all of its SQL whether or not an assertion then fails; the failures are reported.
    const failed = publisher.ofType('mlops.stage.failed.v1');
    if (publisher.ofType('mlops.warehouse.ready.v1').length + failed.length !== days)
      throw new Error(`expected ${days} runs, got ${publisher.events.length} events`);
    const failedAssertions = [
      ...new Set(
        failed.flatMap((event) =>
          ((event.data.details as { assertions?: { name: string }[] } | undefined)?.assertions ?? []).map(
            (assertion) => assertion.name,
          ),
        ),
      ),
    ];
    anchor.closeSync();
    anchorDb.closeSync();
    await warehouse.close();
    const ratio = transformerMs / anchorMs;

    // 2. Adding one day to 30, 120 and 365 days of history (history built as the transformer builds a backlog, untimed).
    const addOneDay: TransformBenchResult['addOneDay'] = [];
    for (const length of history) {
      const path = join(scratch, `history-${length}.duckdb`);
      const historyWarehouse = await openDuckDbWarehouse({ path });
      let dayStatements: Recorded[] = [];
      const historyRunner = new DuckDbTransformRunner({
        projectDir: PROJECT,
        lakeRoot: lakeDir,
        warehouse: warehouseAccessOf(historyWarehouse),
        compiler,
        onStatement: (action, sql) =>
          dayStatements.push({ action, sql: sql.replaceAll(`"history-${length}".`, `"history-${length}-anchor".`) }),
      });
      const dates = datesFrom(FIRST_DATE, length + 1);
      const built = performance.now();
      // As the transformer builds a backlog: consecutive runs of at most its default run size.
      for (let first = 0; first < length; first += DEFAULT_MAX_DATES_PER_RUN)
        await historyRunner.run({ runDates: dates.slice(first, Math.min(length, first + DEFAULT_MAX_DATES_PER_RUN)) });
      const buildMs = performance.now() - built;
      dayStatements = [];
      const started = performance.now();
      const result = await historyRunner.run({ runDates: [dates[length]!] });
      const ms = performance.now() - started;
      const slowest = [...result.actions].sort((a, b) => b.durationMs - a.durationMs).slice(0, 6);
      print(
        `  one more day after ${length} days, slowest actions: ${slowest.map((action) => `${action.name} ${(action.durationMs / 1000).toFixed(2)} s`).join(', ')}`,
      );
      const failing = result.assertions.filter((assertion) => !assertion.passed).map((assertion) => assertion.name);
      if (failing.length > 0) print(`  (after ${length} days, failed assertions: ${failing.join(', ')})`);
      // Everything into the file before copying it (a small history may still sit in the WAL).
      await historyWarehouse.execute('checkpoint');
      await historyWarehouse.close();
      // The anchor for one day: copy the history, replay the day's statements.
      const { copyFile } = await import('node:fs/promises');
      await copyFile(path, join(scratch, `history-${length}-anchor.duckdb`));
      const copyDb = await DuckDBInstance.create(join(scratch, `history-${length}-anchor.duckdb`));
      const copy = await copyDb.connect();
      const dayAnchorMs = await replay(copy, dayStatements);
      copy.closeSync();
      copyDb.closeSync();
      addOneDay.push({ historyDays: length, ms, anchorMs: dayAnchorMs });
      print(
        `  history ${length} days built in ${(buildMs / 1000).toFixed(1)} s (backfill runs of ${DEFAULT_MAX_DATES_PER_RUN} dates)`,
      );
    }

    // Flat beyond the lookback: once the history is longer than the 90-day window, one more day
    // costs (about) the same whatever the history; before it, the features' window is still filling.
    const longest = addOneDay.at(-1);
    const beyondLookback = addOneDay.find((entry) => entry.historyDays >= 90 && entry !== longest);
    const flat = longest !== undefined && beyondLookback !== undefined && longest.ms <= beyondLookback.ms * 1.25 + 250;
    const result: TransformBenchResult = {
      days,
      scale,
      bronzeRows,
      transformerMs,
      anchorMs,
      ratio,
      statements,
      firstDayMs,
      addOneDay,
      failedDays: failed.length,
      targets: { ratio: ratio <= 1.15, flat },
    };
    print('');
    print(`| measurement (scale ${scale}) | transformer | DuckDB, same statements | ratio |`);
    print('|---|---:|---:|---:|');
    print(
      `| ${days} days, one invocation per day (${statements.toLocaleString('en')} statements) | ${(transformerMs / 1000).toFixed(1)} s | ${(anchorMs / 1000).toFixed(1)} s | ${ratio.toFixed(2)} |`,
    );
    for (const entry of addOneDay)
      print(
        `| add one day to ${entry.historyDays} days | ${(entry.ms / 1000).toFixed(2)} s | ${(entry.anchorMs / 1000).toFixed(2)} s | ${(entry.ms / entry.anchorMs).toFixed(2)} |`,
      );
    print('');
    if (failed.length > 0)
      print(
        `assertions failed on ${failed.length} of ${days} days (stage.failed instead of warehouse.ready; the SQL ran in full): ${failedAssertions.join(', ')}`,
      );
    print(
      `transformer / raw DuckDB = ${ratio.toFixed(2)} (target <= 1.15: ${result.targets.ratio ? 'met' : 'MISSED'}); first day ${(firstDayMs / 1000).toFixed(1)} s (compilation and translation included)`,
    );
    print(
      `one more day: ${addOneDay.map((entry) => `${(entry.ms / 1000).toFixed(2)} s with ${entry.historyDays} days`).join(', ')} (${result.targets.flat ? 'flat beyond the 90-day lookback' : beyondLookback ? 'GROWS beyond the 90-day lookback' : 'no point beyond the lookback to compare'}; up to 90 days the features' window and the active customers grow with the history)`,
    );
    return result;
  } finally {
    await lake.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const numberFrom = (value: string | undefined) => (value === undefined || value === '' ? undefined : Number(value));
  const days = numberFrom(process.env.BENCH_TRANSFORM_DAYS);
  const scale = numberFrom(process.env.BENCH_TRANSFORM_SCALE);
  const history = process.env.BENCH_TRANSFORM_HISTORY?.split(',').map(Number);
  const lakeDir = process.env.BENCH_TRANSFORM_LAKE;
  await runTransformBench({
    ...(days ? { days } : {}),
    ...(scale ? { scale } : {}),
    ...(history ? { history } : {}),
    ...(lakeDir ? { lakeDir } : {}),
  });
}
