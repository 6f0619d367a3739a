/**
 * Batch prediction as the product runs it, repeated: on a copy of a warehouse, the training
 * pipeline once (not measured), then `CHURN_PREDICT_PIPELINE` over every snapshot of the window
 * `--repeat` times (the bench's second step, each run a redelivery that rewrites the same rows),
 * each run's wall and CPU time (the process, DuckDB's threads included), the garbage collector's
 * time on the JavaScript thread, the step's own log line and the load average; then whether every
 * run left the same rows (must be 0 differing). Run it under two versions of the code alternately
 * to compare them in pairs.
 *
 * `npx tsx --conditions=@mlops/source bench/model/predict-pipeline.profile.ts --home DIR
 * [--as-of D] [--repeat N] [--open-gate]`; DIR holds a warehouse.duckdb (the bench's bench/out/model-* folder).
 */
import { rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import os, { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { releaseDuckDbFile } from '@mlops/adapters-local';
import { CHURN_PREDICT_PIPELINE, CHURN_TRAINING_PIPELINE } from '@mlops/trainer';
import { runnerOnCopy } from './pipeline-steps.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const home = option('home');
if (!home) {
  console.error('usage: predict-pipeline.profile.ts --home DIR [--as-of YYYY-MM-DD] [--repeat N]');
  process.exit(2);
}
const asOf = option('as-of') ?? '2026-12-05';
// `--open-gate`: the scorer reads a load average of 0.5 (its own gate on the scoring threads opens,
// as on a quiet machine), whatever the machine's; the figures printed are still the real ones.
const realLoad = loadavg;
if (process.argv.includes('--open-gate')) {
  os.loadavg = () => [0.5, 0.5, 0.5];
  syncBuiltinESMExports();
}
const repeat = Number(option('repeat') ?? 4);

const collections: { start: number; ms: number }[] = [];
const gc = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) collections.push({ start: entry.startTime, ms: entry.duration });
});

async function main(): Promise<void> {
  const { work, path, warehouse, messages, registry, runner } = await runnerOnCopy(home!, 'mlops-predict-pipeline-');
  try {
    const time = `${asOf}T06:00:00.000Z`;
    await runner.run({
      pipeline: CHURN_TRAINING_PIPELINE,
      parameters: {
        as_of: asOf,
        code_version: 'profile',
        created_at: time,
        snapshot_dates: [asOf],
        predicted_at: time,
        run_id: 'profile',
        event_id: 'profile',
      },
      runKey: 'profile',
    });
    const champion = (await registry.list('churn'))[0]!;
    const [{ catalog }] = (await warehouse.query<{ catalog: string }>('select current_database() as catalog')) as [
      { catalog: string },
    ];
    const dates = (
      await warehouse.query<{ d: string }>(
        `select distinct cast(snapshot_date as varchar) as d from "${catalog}".warehouse.fct_customer_features order by 1`,
      )
    ).map((row) => row.d);
    const predictions = `"${catalog}".warehouse.fact_predictions_churn`;
    gc.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < repeat; i++) {
      messages.length = 0;
      const load = realLoad()[0]!;
      const cpu = process.cpuUsage();
      const started = performance.now();
      await runner.run({
        pipeline: CHURN_PREDICT_PIPELINE,
        parameters: {
          model_version: champion.version,
          snapshot_dates: dates,
          predicted_at: `${asOf}T07:00:00.000Z`,
        },
        runKey: `predict-${i}`,
      });
      const ended = performance.now();
      const used = process.cpuUsage(cpu);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const gcMs = collections.filter((c) => c.start >= started && c.start < ended).reduce((sum, c) => sum + c.ms, 0);
      const line = messages.find((m) => m.startsWith('batch_predict:')) ?? '';
      console.log(
        `run ${i}: ${(ended - started).toFixed(0)} ms wall, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU, ${gcMs.toFixed(0)} ms GC, load ${load.toFixed(1)}; ${line.replace(/^batch_predict: /, '')}`,
      );
      if (i === 0)
        await warehouse.execute(
          `create table "${catalog}".warehouse.first_run__ as select * from ${predictions} where model_version = ?`,
          [champion.version],
        );
    }
    const [{ differing }] = (await warehouse.query<{ differing: bigint }>(
      `select (select count(*) from (select * from "${catalog}".warehouse.first_run__ except all select * from ${predictions} where model_version = ?))
            + (select count(*) from (select * from ${predictions} where model_version = ? except all select * from "${catalog}".warehouse.first_run__)) as differing`,
      [champion.version, champion.version],
    )) as [{ differing: bigint }];
    console.log(`rows differing between the first and the last run: ${differing}`);
  } finally {
    gc.disconnect();
    await warehouse.close();
    releaseDuckDbFile(path);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
