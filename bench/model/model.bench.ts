/**
 * Model-quality benchmark (`npm run bench -- model`): on the churn pipeline's own holdout, whole
 * and on the active customers it scores, ROC AUC of
 *
 * - the champion (the trainer's GBDT as registered: the model its holdout measured);
 * - XGBoost `hist` on the same training rows and features, with the champion's parameters;
 * - the logistic-regression baseline (registered beside the champion);
 * - the recency heuristic (`days_since_last_order`);
 * - the oracle: the exact probability of no order in the horizon from the generator's hidden
 *   state (`noOrderProbability`), the bound no model can beat;
 *
 * then batch prediction's speed: every snapshot of the window scored again by the champion,
 * features read to scores written, in rows/s against the target (1,000,000/s), by the product's two
 * paths (in the engine, row scan: rows equal to the bit) and by the model compiled to SQL (rows
 * within `SCORE_TOLERANCE`), and against the I/O floors measured in the same run (DuckDB copying
 * the same feature rows into a copy of the predictions table).
 *
 * The warehouse comes from `mlops backfill` over the window (default the 120 days of `npm start`
 * ending 2026-12-05, scale 1, seed 42), built once per machine and code version under bench/out;
 * the pipeline then runs in-process on a copy of it with an empty registry.
 *
 * Options: --from D --to D --scale S --seed N --python PATH --repeats N (runs of the product's batch
 * prediction, the median judged; default 3) --keep (keep the run's folder), --home DIR
 * (a folder whose warehouse.duckdb an earlier build of the same window left, used instead of the
 * cache, e.g. while only the trainer changes: the cache key covers the trainer's sources).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsObjectStore, releaseDuckDbFile } from '@mlops/adapters-local';
import { createLogger } from '@mlops/kernel';
import { customerById, dayNumber, noOrderProbability } from '@mlops/synthetic';
import { warehouseAccessOf } from '@mlops/testing';
import {
  CHURN_PREDICT_PIPELINE,
  CHURN_TRAINING_PIPELINE,
  DEFAULT_RISK_THRESHOLDS,
  LocalPipelineRunner,
  decodeDataset,
} from '@mlops/trainer';
import { type GbdtModelJson, rocAuc } from '@mlops/gbdt';
import { BENCH_OUT, churnMatrixKey, runBackfill } from '../train/churn.matrix.js';
import { writeMatrix } from '../train/matrix.js';
import { SCORE_TOLERANCE, compileForestSql } from './forest-sql.js';
import { runnerOnCopy } from './pipeline-steps.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const TARGET_ROWS_PER_SECOND = 1_000_000;
/** Runs of the product's batch prediction; the verdict is on the median (`--repeats N`, default 3). */
const REPEATS = Math.max(1, Math.floor(Number(option('repeats') ?? 3)) || 3);

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const window = {
  from: option('from') ?? '2026-08-08',
  to: option('to') ?? '2026-12-05',
  scale: Number(option('scale') ?? 1),
  seed: Number(option('seed') ?? 42),
};
const python = option('python') ?? '/usr/bin/python3';
const log = (line: string) => console.log(line);

/** The backfilled warehouse of the window, built once per machine and code version. */
async function ensureWarehouse(): Promise<string> {
  const given = option('home');
  if (given) {
    if (!existsSync(join(given, 'warehouse.duckdb'))) throw new Error(`--home ${given} holds no warehouse.duckdb`);
    return given;
  }
  const home = join(BENCH_OUT, `model-${window.from}-${window.to}-scale${window.scale}-${churnMatrixKey(window)}`);
  if (existsSync(join(home, 'READY'))) return home;
  mkdirSync(BENCH_OUT, { recursive: true });
  const building = mkdtempSync(join(tmpdir(), 'mlops-model-bench-'));
  log(
    `building the warehouse: mlops backfill ${window.from}..${window.to} at scale ${window.scale} (minutes; once per code version)`,
  );
  const started = performance.now();
  await runBackfill(building, window, log);
  rmSync(home, { recursive: true, force: true });
  renameSync(building, home);
  writeFileSync(join(home, 'READY'), new Date().toISOString());
  log(`built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return home;
}

function xgboost(
  matrix: string,
  horizon: number,
  params: Record<string, unknown>,
): Promise<Record<string, number> & { skipped?: string }> {
  const args = [
    join(HERE, 'xgb_slices.py'),
    matrix,
    '--horizon',
    String(horizon),
    '--trees',
    String(params.nTrees),
    '--depth',
    String(params.maxDepth),
    '--lr',
    String(params.learningRate),
    '--max-bin',
    String(params.maxBins),
    '--lambda',
    String(params.lambda),
    '--min-child-weight',
    String(params.minChildWeight),
    '--threads',
    '2',
  ];
  return new Promise((resolve) => {
    execFile(python, args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, number>);
      } catch {
        resolve({
          skipped: `the XGBoost anchor did not run (${python}): ${error?.message ?? stderr.slice(-300)}`,
        } as never);
      }
    });
  });
}

const fmt = (value: number | null | undefined) => (typeof value === 'number' ? value.toFixed(4) : '-');

async function main(): Promise<void> {
  const home = await ensureWarehouse();
  const { work, path, warehouse, messages, registry, runner } = await runnerOnCopy(home, 'mlops-model-run-', {
    keepArtifacts: true,
  });
  try {
    const time = `${window.to}T06:00:00.000Z`;
    log(
      `\nload average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; training on ${window.from}..${window.to} at scale ${window.scale}`,
    );
    const started = performance.now();
    const run = await runner.run({
      pipeline: CHURN_TRAINING_PIPELINE,
      parameters: {
        as_of: window.to,
        code_version: 'bench',
        created_at: time,
        snapshot_dates: [window.to],
        predicted_at: time,
        run_id: 'bench-model',
        event_id: 'bench-model',
      },
      runKey: 'bench-model',
    });
    log(
      `pipeline ${((performance.now() - started) / 1000).toFixed(1)} s: ${Object.entries(run.tasks)
        .map(([name, task]) => `${name} ${(task.durationMs / 1000).toFixed(1)} s`)
        .join(', ')}`,
    );
    const champion = (await registry.list('churn'))[0]!;
    const uri = 'mlops/pipeline-runs/bench-model/features/dataset';
    const set = decodeDataset(readFileSync(join(work, 'lake', uri)), uri);
    const horizon = set.header.horizonDays;
    const holdoutDates = set.header.snapshots.filter((s) => s.split === 'holdout').map((s) => s.date);
    const labels = Uint8Array.from(set.holdoutRows, (r) => set.all.labels[r]!);
    const recency = Float64Array.from(set.holdoutRows, (r) => set.facts.daysSinceLastOrder[r]!);
    const active = set.holdoutRows.map((r) => set.facts.daysSinceLastOrder[r]! <= horizon);
    const slice = (values: ArrayLike<number>) => ({
      all: rocAuc(labels, values),
      active: rocAuc(
        labels.filter((_, i) => active[i]),
        Array.from(values).filter((_, i) => active[i]),
      ),
    });

    // The oracle: the hidden probability of each holdout row, in the rows' own order.
    const [{ catalog }] = (await warehouse.query<{ catalog: string }>('select current_database() as catalog')) as [
      { catalog: string },
    ];
    const ids = await warehouse.queryColumns(
      `select customer_id, cast(snapshot_date as varchar) as d from "${catalog}".warehouse.fct_customer_features
       where snapshot_date in (${holdoutDates.map((d) => `date '${d}'`).join(', ')}) order by snapshot_date, customer_id`,
    );
    if (ids.rowCount !== labels.length)
      throw new Error(`holdout has ${labels.length} rows, the feature table ${ids.rowCount}`);
    const world = { seed: window.seed, scale: window.scale };
    const oracle = Float64Array.from({ length: ids.rowCount }, (_, i) => {
      const customer = customerById(world, String(ids.columns[0]![i]));
      if (!customer) throw new Error(`the world has no customer ${String(ids.columns[0]![i])}`);
      return noOrderProbability(customer, dayNumber(String(ids.columns[1]![i])), horizon);
    });

    // XGBoost on the trainer's own rows: active train rows, every holdout row.
    const trainActive = set.trainRows.filter((r) => set.facts.daysSinceLastOrder[r]! <= horizon);
    const rows = [...trainActive, ...set.holdoutRows];
    const nFeatures = set.header.featureNames.length;
    const values = new Float64Array(rows.length * nFeatures);
    rows.forEach((r, i) => values.set(set.all.values.subarray(r * nFeatures, (r + 1) * nFeatures), i * nFeatures));
    const matrix = join(work, 'churn.mlmatrix');
    writeMatrix(matrix, {
      featureNames: [...set.header.featureNames],
      nRows: rows.length,
      nFeatures,
      values,
      labels: Uint8Array.from(rows, (r) => set.all.labels[r]!),
      split: Uint8Array.from(rows, (_, i) => (i < trainActive.length ? 0 : 1)),
    });
    const xgb = await xgboost(matrix, horizon, champion.params);

    const figures: [string, { all: number | null; active: number | null }][] = [
      [
        'champion (GBDT, holdout model)',
        { all: champion.sliceMetrics!.all!.rocAuc, active: champion.sliceMetrics!.active!.rocAuc },
      ],
      [
        'XGBoost, same rows and features',
        xgb.skipped ? { all: null, active: null } : { all: xgb.all!, active: xgb.active! },
      ],
      [
        'logistic baseline',
        { all: champion.baselineSliceMetrics!.all!.rocAuc, active: champion.baselineSliceMetrics!.active!.rocAuc },
      ],
      ['recency (days_since_last_order)', slice(recency)],
      ['oracle (hidden churn day and rate)', slice(oracle)],
    ];
    log(
      `\nholdout ${holdoutDates[0]}..${holdoutDates.at(-1)}: ${labels.length} rows, ${active.filter(Boolean).length} active; train ${trainActive.length} active rows over ${set.header.snapshots.filter((s) => s.split === 'train').length} snapshot(s); sampling ${JSON.stringify(champion.lineage?.sampling)}`,
    );
    log(`\n${'model'.padEnd(36)} ${'ROC AUC whole'.padStart(13)} ${'ROC AUC active'.padStart(14)}`);
    for (const [name, auc] of figures)
      log(`${name.padEnd(36)} ${fmt(auc.all).padStart(13)} ${fmt(auc.active).padStart(14)}`);
    if (xgb.skipped) log(`XGBoost: ${xgb.skipped}`);
    const ours = champion.sliceMetrics!.active!.rocAuc!;
    log(
      `\ntargets: champion active ROC AUC ${fmt(ours)} >= 0.80: ${ours >= 0.8 ? 'met' : 'NOT met'}; ${xgb.skipped ? 'XGBoost not run' : `vs XGBoost ${fmt(ours - xgb.active!)} >= -0.005: ${ours - xgb.active! >= -0.005 ? 'met' : 'NOT met'}`}`,
    );

    // Batch prediction speed: every snapshot of the window again, by the champion.
    const dates = (
      await warehouse.query<{ d: string }>(
        `select distinct cast(snapshot_date as varchar) as d from "${catalog}".warehouse.fct_customer_features order by 1`,
      )
    ).map((row) => row.d);
    const predictedAt = `${window.to}T07:00:00.000Z`;
    const predict = async (on: LocalPipelineRunner, runKey: string) => {
      messages.length = 0;
      const cpu = process.cpuUsage();
      const started = performance.now();
      const predicted = await on.run({
        pipeline: CHURN_PREDICT_PIPELINE,
        parameters: { model_version: champion.version, snapshot_dates: dates, predicted_at: predictedAt },
        runKey,
      });
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const rows = (predicted.tasks.batch_predict!.outputs.predictions as { rows: number }[]).reduce(
        (sum, p) => sum + p.rows,
        0,
      );
      const line = messages.find((m) => m.startsWith('batch_predict:')) ?? '';
      return { seconds, cpuSeconds: (used.user + used.system) / 1e6, rows, line };
    };
    // The product's path several times (each a redelivery of the same rows, under its own run key so
    // that the runner runs it again): one run's wall moves by a quarter with the machine's load and
    // with whether the process falls into major collections (bench/model README), so the verdict is
    // on the median run, and every run is printed.
    const runs: Awaited<ReturnType<typeof predict>>[] = [];
    for (let index = 0; index < REPEATS; index += 1) runs.push(await predict(runner, `bench-predict-${index}`));
    const fast = [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)]!;
    const scored = fast.rows;
    const predictions = `"${catalog}".warehouse.fact_predictions_churn`;
    await warehouse.execute(
      `create table "${catalog}".warehouse.predictions_in_engine as select * from ${predictions} where model_version = ?`,
      [champion.version],
    );
    // The same rows through the row-scan path (what engines without SQL-called functions run):
    // its time, and whether the rows it writes differ from the in-engine ones by a bit.
    const scanOnly = new Proxy(warehouse, {
      get: (target, key) => {
        if (key === 'withNumberFunction') return undefined;
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const scanRunner = new LocalPipelineRunner({
      deps: {
        warehouse: warehouseAccessOf(scanOnly),
        objects: new FsObjectStore({ root: join(work, 'lake') }),
        registry,
        log: createLogger({ sink: (line) => messages.push(String(JSON.parse(line).message)) }),
      },
      keepArtifacts: true,
    });
    const scan = await predict(scanRunner, 'bench-predict-scan');
    const [{ differing }] = (await warehouse.query<{ differing: bigint }>(
      `select (select count(*) from (select * from "${catalog}".warehouse.predictions_in_engine except all select * from ${predictions} where model_version = ?))
            + (select count(*) from (select * from ${predictions} where model_version = ? except all select * from "${catalog}".warehouse.predictions_in_engine)) as differing`,
      [champion.version, champion.version],
    )) as [{ differing: bigint }];
    // Floors: DuckDB writing the same rows into a table of the predictions' shape, with no model;
    // keys only, and keys with the model's features read (summed in SQL, so none is skipped).
    const floor = async (name: string, value: string) => {
      const table = `"${catalog}".warehouse.${name}`;
      await warehouse.execute(`create table ${table} as select * from ${predictions} limit 0`);
      const started = performance.now();
      await warehouse.execute(
        `insert into ${table}
         select f.customer_id, f.snapshot_date, ${value}, 'low', 'floor', timestamptz '${window.to} 07:00:00+00', false, date '${window.to}'
         from "${catalog}".warehouse.fct_customer_features as f where f.days_since_last_order <= ${horizon}`,
      );
      return (performance.now() - started) / 1000;
    };
    const floorSeconds = await floor('predictions_floor', '0.5');
    const features = champion.lineage?.features ?? [];
    const featureFloorSeconds = await floor(
      'predictions_floor_features',
      `0.5 + 0 * (${features.map((name) => `coalesce(cast(f.${name} as double), 0)`).join(' + ') || '0'})`,
    );
    // The model compiled to SQL (nested CASE per tree): one `insert ... select` of the same rows,
    // scores compared with the product's within SCORE_TOLERANCE.
    const modelJson = JSON.parse(
      readFileSync(join(work, 'lake', 'mlops/models/churn', champion.version, 'model.json'), 'utf8'),
    ) as GbdtModelJson;
    let sqlSeconds = Number.NaN;
    let sqlCpuSeconds = Number.NaN;
    let sqlDiffering = 0;
    let sqlMaxDiff = 0;
    if (modelJson.kind === 'gbdt') {
      const forest = compileForestSql(modelJson, (name) => `f.${name}`, 'double');
      const cast = forest.features.map((name) => `, cast(f.${name} as double) as ${name}`).join('');
      const table = `"${catalog}".warehouse.predictions_sql`;
      await warehouse.execute(`create table ${table} as select * from ${predictions} limit 0`);
      const cpu = process.cpuUsage();
      const started = performance.now();
      await warehouse.execute(
        `insert into ${table}
         select s.customer_id, s.snapshot_date, s.p, case when s.p >= ${DEFAULT_RISK_THRESHOLDS.high} then 'high' when s.p >= ${DEFAULT_RISK_THRESHOLDS.medium} then 'medium' else 'low' end,
                'sql', timestamptz '${window.to} 07:00:00+00', false, date '${window.to}'
         from (select s.customer_id, s.snapshot_date, ${forest.probability('s.m')} as p
               from (select f.customer_id, f.snapshot_date, ${forest.margin} as m
                     from (select f.customer_id, f.snapshot_date${cast} from "${catalog}".warehouse.fct_customer_features as f
                           where f.days_since_last_order <= ${horizon}) as f) as s) as s`,
      );
      sqlSeconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      sqlCpuSeconds = (used.user + used.system) / 1e6;
      const [compared] = (await warehouse.query<{ differing: bigint; maxdiff: number | null }>(
        `select count(*) filter (where e.customer_id is null or s.customer_id is null or e.risk_band <> s.risk_band
                                 or abs(e.churn_probability - s.churn_probability) > ${SCORE_TOLERANCE}) as differing,
                max(abs(e.churn_probability - s.churn_probability)) as maxdiff
         from "${catalog}".warehouse.predictions_in_engine as e full join ${table} as s using (customer_id, snapshot_date)`,
      )) as [{ differing: bigint; maxdiff: number | null }];
      sqlDiffering = Number(compared.differing);
      sqlMaxDiff = compared.maxdiff ?? 0;
    }
    const perSecond = (rows: number, seconds: number) => Math.round(rows / seconds).toLocaleString('en-US');
    const verdict = (rows: number, seconds: number) =>
      `${perSecond(rows, seconds)} rows/s: ${rows / seconds >= TARGET_ROWS_PER_SECOND ? 'met' : 'NOT met'}`;
    log(
      `\nbatch prediction: ${scored} rows over ${dates.length} snapshots (load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')})`,
    );
    for (const [index, run] of runs.entries())
      log(
        `  in the engine, run ${index + 1} of ${runs.length}${index === 0 ? ' (the first in this process)' : ''}: ${run.seconds.toFixed(2)} s, ${run.cpuSeconds.toFixed(2)} s CPU: ${perSecond(run.rows, run.seconds)} rows/s`,
      );
    log(
      `  in the engine (the model called from SQL), the median run: ${fast.seconds.toFixed(2)} s, ${fast.cpuSeconds.toFixed(2)} s CPU in this process: ${verdict(scored, fast.seconds)}`,
    );
    log(`    ${fast.line}`);
    log(
      `  row scan (features streamed to JavaScript, scores appended and joined back): ${scan.seconds.toFixed(2)} s, ${scan.cpuSeconds.toFixed(2)} s CPU: ${verdict(scan.rows, scan.seconds)}`,
    );
    log(`    ${scan.line}`);
    log(
      `  rows differing between the two (except all, both ways): ${differing} (must be 0): ${Number(differing) === 0 && scan.rows === scored ? 'ok' : 'FAILED'}`,
    );
    log(
      Number.isNaN(sqlSeconds)
        ? '  the model compiled to SQL: not measured (the champion is not a GBDT)'
        : `  the model compiled to SQL (nested CASE per tree), one insert ... select: ${sqlSeconds.toFixed(2)} s, ${sqlCpuSeconds.toFixed(2)} s CPU: ${verdict(scored, sqlSeconds)}; rows differing from the engine's (|p diff| > ${SCORE_TOLERANCE}, band, or missing): ${sqlDiffering} (max |p diff| ${sqlMaxDiff.toExponential(1)}): ${sqlDiffering === 0 ? 'ok' : 'FAILED'}`,
    );
    log(
      `  floor: DuckDB copying the same rows' keys into the same table shape: ${floorSeconds.toFixed(2)} s, ${verdict(scored, floorSeconds)}; ours / floor time ${(fast.seconds / floorSeconds).toFixed(2)}`,
    );
    log(
      `  floor with the model's ${features.length} features read: ${featureFloorSeconds.toFixed(2)} s, ${verdict(scored, featureFloorSeconds)}; ours / floor time ${(fast.seconds / featureFloorSeconds).toFixed(2)}`,
    );
    const floorMeets = scored / floorSeconds >= TARGET_ROWS_PER_SECOND;
    log(
      `  target >= ${TARGET_ROWS_PER_SECOND.toLocaleString('en-US')} rows/s end to end: ${scored / fast.seconds >= TARGET_ROWS_PER_SECOND ? 'met' : 'NOT met'} (${perSecond(scored, fast.seconds)}); the floor itself ${floorMeets ? 'meets' : 'does NOT meet'} it (${perSecond(scored, floorSeconds)})`,
    );
    if (Number(differing) !== 0 || scan.rows !== scored || sqlDiffering !== 0) process.exitCode = 1;
  } finally {
    await warehouse.close();
    releaseDuckDbFile(path);
    if (process.argv.includes('--keep')) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
