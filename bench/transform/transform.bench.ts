/**
 * Transform benchmark, three parts, each beside DuckDB executing the same translated statements
 * directly (the anchor: the statements the runner executed, replayed on a second database file in
 * one transaction as the runner does, right after the runner's so both see the same machine):
 *
 * 1. the transformer (ledger, plan, DuckDB runner, events) building 30 days of scale-10 bronze one
 *    day at a time;
 * 2. the npm-start-shaped batch: one run of 120 dates at scale 1 on an empty warehouse (wall and
 *    CPU time; target <= 9 s on a quiet 2-core machine);
 * 3. the time to add one day to a warehouse that holds 30, 91 and 120 days (scale 1): flat once the
 *    history is longer than the features' 90-day lookback.
 *
 *   flock /tmp/bench.lock npx tsx --conditions=@mlops/source bench/transform/transform.bench.ts
 *
 * BENCH_TRANSFORM_DAYS, BENCH_TRANSFORM_SCALE (part 1), BENCH_TRANSFORM_BATCH_DAYS,
 * BENCH_TRANSFORM_BATCH_SCALE (part 2), BENCH_TRANSFORM_HISTORY (e.g. "30,120,365") and
 * BENCH_TRANSFORM_HISTORY_SCALE (part 3, e.g. 10 for the year at scale 10) reshape the run;
 * BENCH_TRANSFORM_LAKE keeps the generated bronze between runs. `--long` (`npm run bench -- transform
 * --long`): 120 days at scale 10 day by day, and one more day after 30, 120 and 365 days at scale 10.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataformCompiler, DuckDbTransformRunner, openDuckDbWarehouse } from '@mlops/adapters-local';
import { dayNumber, isoDate } from '@mlops/synthetic';
import { DEFAULT_TRANSFORM_MEMORY_LIMIT, type BronzeLanded } from '@mlops/kernel';
import { InMemoryDocumentStore, RecordingPublisher, deliver, testEvent, warehouseAccessOf } from '@mlops/testing';
import { GeneratedLake } from '@mlops/testing/fixtures';
import { DEFAULT_MAX_DATES_PER_RUN, createTransformerService } from '@mlops/transformer';

const here = dirname(fileURLToPath(import.meta.url));
const PROJECT = resolve(here, '..', '..', 'dataform');
const FIRST_DATE = '2026-01-05';

/** Options of {@link runTransformBench}. */
export interface TransformBenchOptions {
  /** Days built one at a time for the ratio (default 30). */
  days?: number;
  /** Generator scale of the day-by-day part (default 10: about 10,000 orders and 11,000 click events a day). */
  scale?: number;
  /** Dates of the npm-start-shaped batch run (default 120; 0 skips it). */
  batchDays?: number;
  /** Generator scale of the batch run (default 1, as `npm start`). */
  batchScale?: number;
  /** History lengths at which adding one day is timed (default 30, 91 and 120). */
  history?: number[];
  /** Generator scale of the history part (default 1). */
  historyScale?: number;
  /** Folder of the bronze lakes, kept (default: a scratch folder, removed afterwards). */
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
  batch?: { days: number; scale: number; ms: number; cpuMs: number; anchorMs: number; slowest: string };
  addOneDay: { historyDays: number; ms: number; anchorMs: number }[];
  /** Days whose assertions failed (the transformer published stage.failed). */
  failedDays: number;
  targets: { ratio: boolean; batch: boolean | undefined; flat: boolean };
}

interface Recorded {
  action: string;
  sql: string;
}

/** Replay a run's statements on the anchor connection in one transaction, as the runner does. */
async function replay(connection: DuckDBConnection, statements: readonly Recorded[]): Promise<number> {
  const started = performance.now();
  await connection.run('begin transaction');
  for (const { sql } of statements) await connection.run(sql);
  await connection.run('commit');
  return performance.now() - started;
}

function datesFrom(first: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => isoDate(dayNumber(first) + index));
}

const seconds = (ms: number, digits = 1) => `${(ms / 1000).toFixed(digits)} s`;

/** The target of the npm-start transform phase on a quiet 2-core machine. */
const BATCH_TARGET_MS = 9000;

/** Run the benchmark and print its report. */
export async function runTransformBench(options: TransformBenchOptions = {}): Promise<TransformBenchResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const days = options.days ?? 30;
  const scale = options.scale ?? 10;
  const batchDays = options.batchDays ?? 120;
  const batchScale = options.batchScale ?? 1;
  const history = options.history ?? [30, 91, 120];
  const historyScale = options.historyScale ?? 1;
  const scratch = await mkdtemp(join(tmpdir(), 'mlops-bench-transform-'));
  const lakeRoot = options.lakeDir ?? join(scratch, 'lake');
  const lakes = new Map<number, { dir: string; lake: GeneratedLake; landed: Map<string, BronzeLanded[]> }>();
  // Two DuckDB threads per Parquet file: faster, and the bytes need not repeat from run to run here.
  const lakeOf = async (lakeScale: number, count: number) => {
    let entry = lakes.get(lakeScale);
    if (!entry) {
      const dir = join(lakeRoot, `scale-${lakeScale}`);
      entry = {
        dir,
        lake: new GeneratedLake(dir, { seed: 42, scale: lakeScale, dirtyShare: 0.01 }, { threads: 2 }),
        landed: new Map(),
      };
      lakes.set(lakeScale, entry);
    }
    const started = performance.now();
    for (const date of datesFrom(FIRST_DATE, count))
      if (!entry.landed.has(date))
        entry.landed.set(date, await entry.lake.landDay(date, { fullLoadDate: FIRST_DATE, reuse: true }));
    const rows = [...entry.landed.values()].flat().reduce((sum, data) => sum + data.rowCount, 0);
    print(
      `bronze: ${entry.landed.size} days at scale ${lakeScale} under ${entry.dir} (${rows.toLocaleString('en')} rows, written or found in ${seconds(performance.now() - started)})`,
    );
    return { ...entry, rows };
  };
  const compiler = new DataformCompiler({ projectDir: PROJECT });
  try {
    // 1. The transformer, day by day, each day's statements replayed right after on the anchor.
    const daily = await lakeOf(scale, days);
    const bronzeRows = daily.rows;
    const warehouse = await openDuckDbWarehouse({ path: join(scratch, 'transformer.duckdb') });
    let recorded: Recorded[] = [];
    const runner = new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: daily.dir,
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
      const events = daily.landed
        .get(date)!
        .map((data) => testEvent('mlops.bronze.landed.v1', data, date, { id: `${date}/${data.source}` }));
      const started = performance.now();
      for (const event of events) await deliver(service, event, { publisher });
      const elapsed = performance.now() - started;
      transformerMs += elapsed;
      if (index === 0) firstDayMs = elapsed;
      anchorMs += await replay(anchor, recorded);
      statements += recorded.length;
      if ((index + 1) % 10 === 0)
        print(`  day ${index + 1}: transformer ${seconds(transformerMs)}, anchor ${seconds(anchorMs)}`);
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

    // 2. The npm-start-shaped batch: one run of all dates on an empty warehouse, then its anchor.
    let batch: TransformBenchResult['batch'];
    if (batchDays > 0) {
      const batchLake = await lakeOf(batchScale, batchDays);
      const batchWarehouse = await openDuckDbWarehouse({ path: join(scratch, 'batch.duckdb') });
      const batchStatements: Recorded[] = [];
      const batchRunner = new DuckDbTransformRunner({
        projectDir: PROJECT,
        lakeRoot: batchLake.dir,
        warehouse: warehouseAccessOf(batchWarehouse),
        compiler,
        onStatement: (action, sql) =>
          batchStatements.push({ action, sql: sql.replaceAll('"batch".', '"batch-anchor".') }),
      });
      await batchRunner.prepare();
      const cpu = process.cpuUsage();
      const started = performance.now();
      // With its landed rows, as the transformer passes them (they pick the run's DuckDB threads).
      const result = await batchRunner.run({ runDates: datesFrom(FIRST_DATE, batchDays), landedRows: batchLake.rows });
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      await batchWarehouse.close();
      const copyDb = await DuckDBInstance.create(join(scratch, 'batch-anchor.duckdb'));
      const copy = await copyDb.connect();
      const batchAnchorMs = await replay(copy, batchStatements);
      copy.closeSync();
      copyDb.closeSync();
      const slowest = [...result.actions]
        .sort((a, b) => b.durationMs - a.durationMs)
        .slice(0, 6)
        .map((action) => `${action.name} ${seconds(action.durationMs, 2)}`)
        .join(', ');
      batch = {
        days: batchDays,
        scale: batchScale,
        ms,
        cpuMs: (used.user + used.system) / 1000,
        anchorMs: batchAnchorMs,
        slowest,
      };
      print(`  batch of ${batchDays} dates at scale ${batchScale}, slowest actions: ${slowest}`);
    }

    // 3. Adding one day to a history (built as the transformer builds a backlog, untimed).
    const historyLake = history.length > 0 ? await lakeOf(historyScale, Math.max(...history) + 1) : undefined;
    // The landed rows of run dates, as the transformer passes them: they choose a run's threads and memory.
    const landedRows = (runDates: readonly string[]) =>
      runDates.reduce(
        (sum, date) => sum + (historyLake!.landed.get(date) ?? []).reduce((rows, data) => rows + data.rowCount, 0),
        0,
      );
    const addOneDay: TransformBenchResult['addOneDay'] = [];
    for (const length of history) {
      const path = join(scratch, `history-${length}.duckdb`);
      const historyWarehouse = await openDuckDbWarehouse({ path });
      let dayStatements: Recorded[] = [];
      const historyRunner = new DuckDbTransformRunner({
        projectDir: PROJECT,
        lakeRoot: historyLake!.dir,
        warehouse: warehouseAccessOf(historyWarehouse),
        compiler,
        // As the transformer's runner (MLOPS_TRANSFORM_MEMORY_LIMIT's default).
        largeRunMemoryLimit: DEFAULT_TRANSFORM_MEMORY_LIMIT,
        onStatement: (action, sql) =>
          dayStatements.push({ action, sql: sql.replaceAll(`"history-${length}".`, `"history-${length}-anchor".`) }),
      });
      const dates = datesFrom(FIRST_DATE, length + 1);
      const built = performance.now();
      // As the transformer builds a backlog: consecutive runs of at most its default run size.
      for (let first = 0; first < length; first += DEFAULT_MAX_DATES_PER_RUN) {
        const runDates = dates.slice(first, Math.min(length, first + DEFAULT_MAX_DATES_PER_RUN));
        await historyRunner.run({ runDates, landedRows: landedRows(runDates) });
      }
      const buildMs = performance.now() - built;
      dayStatements = [];
      const started = performance.now();
      const result = await historyRunner.run({ runDates: [dates[length]!], landedRows: landedRows([dates[length]!]) });
      const ms = performance.now() - started;
      const slowest = [...result.actions].sort((a, b) => b.durationMs - a.durationMs).slice(0, 6);
      print(
        `  one more day after ${length} days, slowest actions: ${slowest.map((action) => `${action.name} ${seconds(action.durationMs, 2)}`).join(', ')}`,
      );
      const failing = result.assertions.filter((assertion) => !assertion.passed).map((assertion) => assertion.name);
      if (failing.length > 0) print(`  (after ${length} days, failed assertions: ${failing.join(', ')})`);
      // Everything into the file before copying it (a small history may still sit in the WAL).
      await historyWarehouse.execute('checkpoint');
      await historyWarehouse.close();
      // The anchor for one day: copy the history, replay the day's statements.
      await copyFile(path, join(scratch, `history-${length}-anchor.duckdb`));
      const copyDb = await DuckDBInstance.create(join(scratch, `history-${length}-anchor.duckdb`));
      const copy = await copyDb.connect();
      const dayAnchorMs = await replay(copy, dayStatements);
      copy.closeSync();
      copyDb.closeSync();
      addOneDay.push({ historyDays: length, ms, anchorMs: dayAnchorMs });
      print(
        `  history ${length} days built in ${seconds(buildMs)} (backfill runs of ${DEFAULT_MAX_DATES_PER_RUN} dates)`,
      );
    }

    // Flat beyond the lookback: once the history is longer than the 90-day window, one more day
    // costs (about) the same whatever the history; before it, the features' window is still filling.
    // Judged on the ratio to the anchor's same statements (noise of a shared machine cancels out).
    const longest = addOneDay.at(-1);
    const beyondLookback = addOneDay.find((entry) => entry.historyDays >= 90 && entry !== longest);
    const flat =
      longest !== undefined &&
      beyondLookback !== undefined &&
      (longest.ms <= beyondLookback.ms * 1.25 + 250 || longest.anchorMs <= beyondLookback.anchorMs * 1.25 + 250);
    const result: TransformBenchResult = {
      days,
      scale,
      bronzeRows,
      transformerMs,
      anchorMs,
      ratio,
      statements,
      firstDayMs,
      ...(batch ? { batch } : {}),
      addOneDay,
      failedDays: failed.length,
      targets: { ratio: ratio <= 1.15, batch: batch ? batch.ms <= BATCH_TARGET_MS : undefined, flat },
    };
    const verdict = (met: boolean | undefined) => (met === undefined ? 'not run' : met ? 'met' : 'NOT MET');
    print('');
    print(`| measurement | transformer | DuckDB, same statements | ratio |`);
    print('|---|---:|---:|---:|');
    print(
      `| ${days} days at scale ${scale}, one invocation per day (${statements.toLocaleString('en')} statements) | ${seconds(transformerMs)} | ${seconds(anchorMs)} | ${ratio.toFixed(2)} |`,
    );
    if (batch)
      print(
        `| one run of ${batch.days} dates at scale ${batch.scale} (npm start's transform) | ${seconds(batch.ms)} (CPU ${seconds(batch.cpuMs)}) | ${seconds(batch.anchorMs)} | ${(batch.ms / batch.anchorMs).toFixed(2)} |`,
      );
    for (const entry of addOneDay)
      print(
        `| add one day to ${entry.historyDays} days (scale ${historyScale}) | ${seconds(entry.ms, 2)} | ${seconds(entry.anchorMs, 2)} | ${(entry.ms / entry.anchorMs).toFixed(2)} |`,
      );
    print('');
    if (failed.length > 0)
      print(
        `assertions failed on ${failed.length} of ${days} days (stage.failed instead of warehouse.ready; the SQL ran in full): ${failedAssertions.join(', ')}`,
      );
    print(
      `transformer / raw DuckDB = ${ratio.toFixed(2)} (target <= 1.15: ${verdict(result.targets.ratio)}); first day ${seconds(firstDayMs)} (plan loading included)`,
    );
    if (batch)
      print(
        `npm start's transform (${batch.days} dates, scale ${batch.scale}, one run): ${seconds(batch.ms)} wall, ${seconds(batch.cpuMs)} CPU (target <= 9 s wall on a quiet 2-core machine: ${verdict(result.targets.batch)}; load average now ${loadavg()[0]!.toFixed(1)})`,
      );
    print(
      `one more day: ${addOneDay.map((entry) => `${seconds(entry.ms, 2)} with ${entry.historyDays} days`).join(', ')} (${result.targets.flat ? 'flat beyond the 90-day lookback: met' : beyondLookback ? 'GROWS beyond the 90-day lookback: NOT MET' : 'no point beyond the lookback to compare: not run'}; up to 90 days the features' window and the active customers grow with the history)`,
    );
    return result;
  } finally {
    for (const { lake } of lakes.values()) await lake.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const numberFrom = (value: string | undefined) => (value === undefined || value === '' ? undefined : Number(value));
  // --long: the former default and the year, 120 days at scale 10 and one more day after 30, 120 and 365.
  const long = process.argv.includes('--long');
  const env: Record<string, string | undefined> = {
    ...(long
      ? {
          BENCH_TRANSFORM_DAYS: '120',
          BENCH_TRANSFORM_HISTORY: '30,120,365',
          BENCH_TRANSFORM_HISTORY_SCALE: '10',
        }
      : {}),
    ...process.env,
  };
  const days = numberFrom(env.BENCH_TRANSFORM_DAYS);
  const scale = numberFrom(env.BENCH_TRANSFORM_SCALE);
  const batchDays = numberFrom(env.BENCH_TRANSFORM_BATCH_DAYS);
  const batchScale = numberFrom(env.BENCH_TRANSFORM_BATCH_SCALE);
  const history = env.BENCH_TRANSFORM_HISTORY?.split(',').filter(Boolean).map(Number);
  const historyScale = numberFrom(env.BENCH_TRANSFORM_HISTORY_SCALE);
  const lakeDir = env.BENCH_TRANSFORM_LAKE;
  await runTransformBench({
    ...(days ? { days } : {}),
    ...(scale ? { scale } : {}),
    ...(batchDays !== undefined ? { batchDays } : {}),
    ...(batchScale ? { batchScale } : {}),
    ...(history ? { history } : {}),
    ...(historyScale ? { historyScale } : {}),
    ...(lakeDir ? { lakeDir } : {}),
  });
}
