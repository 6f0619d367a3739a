/**
 * Batch prediction's in-engine statement alone, on a copy of a warehouse's active feature rows in
 * an in-memory DuckDB (`--file`: in a new database file, so every table written is a persistent
 * one, as the product's predictions table is): the features-read floor, the hand-over (the same
 * statement calling a JavaScript function that returns a constant), the model alone over the
 * statement's own chunks copied out beforehand (no DuckDB thread beside it), then the champion
 * called from SQL scoring on the JavaScript thread alone, split over the scoring threads, and each
 * chunk the way that lately took the JavaScript thread less time per row (the product's
 * `when-faster`; the load gate applies), each its wall and CPU time (the process, DuckDB's threads
 * included), the garbage collector's time on the JavaScript thread, and the rows differing between
 * them (must be 0), and the JavaScript thread's busy time (its event loop's active time: the function's
 * calls, which DuckDB's threads wait for, and the collector).
 *
 * Then the same model on a row-major matrix of the first 300,000 rows (what evaluate and register
 * score): its own `predictProba` (a walk over node arrays) against `predictMatrix` (the compiled
 * forest over the scoring threads), same bits.
 *
 * `npx tsx --conditions=@mlops/source bench/model/predict.profile.ts --warehouse FILE --model FILE
 * [--repeat N] [--file]`
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { openDuckDbWarehouse, releaseDuckDbFile } from '@mlops/adapters-local';
import { createFeatureMatrix, loadModel } from '@mlops/gbdt';
import type { NumberFunction } from '@mlops/kernel';
import { columnScorer, predictMatrix } from '@mlops/trainer';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const warehouse = option('warehouse');
const modelFile = option('model');
if (!warehouse || !modelFile) throw new Error('--warehouse FILE and --model FILE are required');
const repeat = Number(option('repeat') ?? 3);

const model = loadModel(JSON.parse(readFileSync(modelFile, 'utf8')));
const scorer = columnScorer(model);
// The generated JavaScript trees alone (no SIMD forest): what scored the columns before.
const jsScorer = columnScorer(model, { simd: false });
const folder = process.argv.includes('--file') ? mkdtempSync(join(tmpdir(), 'mlops-predict-profile-')) : undefined;
const db = await openDuckDbWarehouse({ path: folder ? join(folder, 'profile.duckdb') : ':memory:' });
const connection = {
  run: (sql: string) => db.execute(sql),
  count: async (sql: string) => Number((await db.query<{ n: number | bigint }>(sql))[0]!.n),
};
const withFunction = (fn: NumberFunction, use: (call: (args: readonly string[]) => string) => Promise<void>) =>
  db.withNumberFunction!(fn, use);
await connection.run(`attach '${warehouse}' as w (read_only)`);
await connection.run(
  `create table f as select * from w.warehouse.fct_customer_features where days_since_last_order <= 30`,
);
await connection.run('detach w');
const rows = await connection.count('select count(*) as n from f');
const features = scorer.features.map((name) => `cast(f.${name} as double)`);

// Garbage collections of the JavaScript thread (start and duration, ms), to charge each run its own.
const collections: { start: number; ms: number }[] = [];
const gc = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) collections.push({ start: entry.startTime, ms: entry.duration });
});
gc.observe({ entryTypes: ['gc'] });

async function timed(label: string, run: () => Promise<void>): Promise<number> {
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  const started = performance.now();
  await run();
  const ended = performance.now();
  // The JavaScript thread's busy time (the function calls DuckDB's threads wait for).
  const busyMs = performance.eventLoopUtilization(loop).active;
  const wall = ended - started;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  // The observer hears of a collection after it; let it catch up before summing.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const gcMs = collections.filter((c) => c.start >= started && c.start < ended).reduce((sum, c) => sum + c.ms, 0);
  console.log(
    `${label.padEnd(48)} ${wall.toFixed(0).padStart(6)} ms wall ${cpuMs.toFixed(0).padStart(6)} ms CPU ${gcMs
      .toFixed(0)
      .padStart(4)} ms GC ${busyMs.toFixed(0).padStart(6)} ms JS busy ${Math.round(rows / (wall / 1000))
      .toLocaleString('en-US')
      .padStart(11)} rows/s`,
  );
  return wall;
}

// The statement's own chunks, copied out once, for the model alone.
const chunks: { columns: Float64Array[]; rows: number }[] = [];
await withFunction(
  {
    arity: features.length,
    compute(columns, n, out) {
      chunks.push({ columns: columns.map((column) => column.slice(0, n)), rows: n });
      out.fill(0, 0, n);
    },
  },
  (call) => connection.run(`select sum(${call(features)}) from f`),
);
const chunkOut = new Float64Array(Math.max(...chunks.map((chunk) => chunk.rows)));

async function scored(
  table: string,
  parallel: 'always' | 'when-faster' | undefined,
  by: typeof scorer = scorer,
): Promise<void> {
  await connection.run(`drop table if exists ${table}`);
  await withFunction(
    { arity: features.length, compute: (columns, n, out) => by.scoreInto(columns, n, out, parallel) },
    (call) =>
      connection.run(`create table ${table} as select f.customer_id, f.snapshot_date, ${call(features)} as p from f`),
  );
}

console.log(`${rows} active rows, ${features.length} features used, load average ${loadavg()[0]!.toFixed(1)}`);
for (let i = 0; i < repeat; i++) {
  await connection.run('drop table if exists floor');
  await timed('floor: keys and features read (summed)', async () => {
    await connection.run(
      `create table floor as select f.customer_id, f.snapshot_date, ${features.join(' + ')} as p from f`,
    );
  });
  await connection.run('drop table if exists constant');
  await timed('hand-over: a JavaScript function returning 0.5', () =>
    withFunction({ arity: features.length, compute: (_columns, n, out) => out.fill(0.5, 0, n) }, (call) =>
      connection.run(`create table constant as select f.customer_id, f.snapshot_date, ${call(features)} as p from f`),
    ),
  );
  await timed(`the model alone over the ${chunks.length} chunks copied out`, async () => {
    for (const chunk of chunks) scorer.scoreInto(chunk.columns, chunk.rows, chunkOut);
  });
  await timed('the same, by the generated JavaScript trees', async () => {
    for (const chunk of chunks) jsScorer.scoreInto(chunk.columns, chunk.rows, chunkOut);
  });
  await timed('in the engine, JavaScript thread alone', () => scored('one', undefined));
  await timed('the same, by the generated JavaScript trees', () => scored('js', undefined, jsScorer));
  await timed('in the engine, split over the scoring threads', () => scored('pool', 'always'));
  await timed('in the engine, the faster way chunk by chunk', () => scored('chosen', 'when-faster'));
}
const differs = (a: string, b: string) =>
  connection.count(
    `select count(*) as n from ((select * from ${a} except all select * from ${b}) union all (select * from ${b} except all select * from ${a}))`,
  );
const differing = (await differs('one', 'pool')) + (await differs('one', 'chosen')) + (await differs('one', 'js'));
console.log(
  `rows differing (alone vs split, alone vs chosen, alone vs the JavaScript trees): ${differing}; load average ${loadavg()[0]!.toFixed(1)}`,
);

// The first rows as the row-major matrix of the model's features (copied out by a function call).
const matrixRows = Math.min(rows, 300_000);
const names = model.featureNames;
const values = new Float64Array(matrixRows * names.length);
let filled = 0;
await withFunction(
  {
    arity: names.length,
    compute(columns, n, out) {
      for (let c = 0; c < names.length; c++)
        for (let r = 0; r < n; r++) values[(filled + r) * names.length + c] = columns[c]![r]!;
      filled += n;
      out.fill(0, 0, n);
    },
  },
  (call) =>
    connection.run(
      `select sum(${call(names.map((name) => `cast(f.${name} as double)`))}) from (select * from f order by customer_id, snapshot_date limit ${matrixRows}) as f`,
    ),
);
const matrix = createFeatureMatrix({ featureNames: names, values });
let walked: Float64Array = new Float64Array(0);
let compiled: Float64Array = new Float64Array(0);
for (let i = 0; i < repeat; i++) {
  const cpu = process.cpuUsage();
  let started = performance.now();
  walked = model.predictProba(matrix);
  const walkMs = performance.now() - started;
  const walkCpu = process.cpuUsage(cpu);
  started = performance.now();
  compiled = predictMatrix(model, matrix);
  const compiledMs = performance.now() - started;
  const both = process.cpuUsage(cpu);
  console.log(
    `matrix of ${matrixRows} rows: predictProba ${walkMs.toFixed(0)} ms wall ${((walkCpu.user + walkCpu.system) / 1000).toFixed(0)} ms CPU; predictMatrix ${compiledMs.toFixed(0)} ms wall ${((both.user + both.system - walkCpu.user - walkCpu.system) / 1000).toFixed(0)} ms CPU`,
  );
}
console.log(`matrix rows differing: ${walked.filter((p, r) => p !== compiled[r]).length}`);
gc.disconnect();
await db.close();
if (folder) {
  releaseDuckDbFile(join(folder, 'profile.duckdb'));
  rmSync(folder, { recursive: true, force: true });
}
