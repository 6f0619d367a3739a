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
 * [--as-of D] [--repeat N] [--open-gate] [--alternate NAME=VALUE,...] [--js-profile FILE]`; DIR holds a warehouse.duckdb (the
 * bench's bench/out/model-* folder). With `--alternate`, every other run is made with those DuckDB
 * settings (each run after one with DuckDB's values), so a setting is compared in pairs in one
 * process; the medians of each side are printed last. `--js-profile` writes a CPU profile of the
 * JavaScript thread over the runs (a .cpuprofile).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import os, { loadavg } from 'node:os';
import { Session } from 'node:inspector/promises';
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
const alternate = (option('alternate') ?? '')
  .split(',')
  .filter(Boolean)
  .map((setting) => {
    const [name, value] = setting.split('=') as [string, string | undefined];
    if (!/^[a-z_]+$/.test(name) || value === undefined) throw new Error(`--alternate ${setting}: not NAME=VALUE`);
    return { name, value };
  });

/**
 * CPU time of the JavaScript thread (ms: the main thread's user and system time in Linux's clock
 * ticks of 10 ms), else NaN.
 */
function jsThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const collections: { start: number; ms: number; kind: number }[] = [];
const gc = new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    collections.push({
      start: entry.startTime,
      ms: entry.duration,
      kind: (entry as { detail?: { kind?: number } }).detail?.kind ?? 0,
    });
});
/** The collections of a run: how many of each kind (node's minor 1, major 4, incremental 8, weak callbacks 16). */
function kinds(of: { kind: number }[]): string {
  const names: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weak' };
  const counts = new Map<string, number>();
  for (const { kind } of of)
    counts.set(names[kind] ?? String(kind), (counts.get(names[kind] ?? String(kind)) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${n} ${name}`).join(', ');
}

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
    const defaults = await Promise.all(
      alternate.map(async ({ name }) => {
        const [{ value }] = (await warehouse.query<{ value: string }>(
          'select cast(current_setting(?) as varchar) as value',
          [name],
        )) as [{ value: string }];
        return { name, value };
      }),
    );
    const sides: Record<'default' | 'alternate', { wall: number[]; cpu: number[]; js: number[] }> = {
      default: { wall: [], cpu: [], js: [] },
      alternate: { wall: [], cpu: [], js: [] },
    };
    const jsProfile = option('js-profile');
    const inspector = new Session();
    if (jsProfile) {
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
      await inspector.post('Profiler.start');
    }
    gc.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < repeat; i++) {
      const side = alternate.length > 0 && i % 2 === 1 ? 'alternate' : 'default';
      if (alternate.length > 0)
        for (const { name, value } of side === 'alternate' ? alternate : defaults)
          await warehouse.execute(`set ${name} = '${value.replaceAll("'", "''")}'`);
      messages.length = 0;
      const load = realLoad()[0]!;
      const js = jsThreadCpuMs();
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
      const jsMs = jsThreadCpuMs() - js;
      await new Promise((resolve) => setTimeout(resolve, 20));
      const ran = collections.filter((c) => c.start >= started && c.start < ended);
      const gcMs = ran.reduce((sum, c) => sum + c.ms, 0);
      const line = messages.find((m) => m.startsWith('batch_predict:')) ?? '';
      const cpuMs = (used.user + used.system) / 1000;
      sides[side].wall.push(ended - started);
      sides[side].cpu.push(cpuMs);
      sides[side].js.push(jsMs);
      console.log(
        `run ${i}${alternate.length > 0 ? ` (${side})` : ''}: ${(ended - started).toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU, JavaScript thread ${jsMs.toFixed(0)} ms CPU, ${gcMs.toFixed(0)} ms GC (${kinds(ran)}), load ${load.toFixed(1)}; ${line.replace(/^batch_predict: /, '')}`,
      );
      if (i === 0)
        await warehouse.execute(
          `create table "${catalog}".warehouse.first_run__ as select * from ${predictions} where model_version = ?`,
          [champion.version],
        );
    }
    if (jsProfile) {
      const { profile } = await inspector.post('Profiler.stop');
      writeFileSync(jsProfile, JSON.stringify(profile));
      inspector.disconnect();
    }
    const [{ differing }] = (await warehouse.query<{ differing: bigint }>(
      `select (select count(*) from (select * from "${catalog}".warehouse.first_run__ except all select * from ${predictions} where model_version = ?))
            + (select count(*) from (select * from ${predictions} where model_version = ? except all select * from "${catalog}".warehouse.first_run__)) as differing`,
      [champion.version, champion.version],
    )) as [{ differing: bigint }];
    console.log(`rows differing between the first and the last run: ${differing}`);
    for (const [side, figures] of Object.entries(sides))
      if (figures.wall.length > 0 && alternate.length > 0)
        console.log(
          `${side} (${(side === 'alternate' ? alternate : defaults).map(({ name, value }) => `${name}=${value}`).join(', ')}): median ${median(figures.wall).toFixed(0)} ms wall, ${median(figures.cpu).toFixed(0)} ms CPU, JavaScript thread ${median(figures.js).toFixed(0)} ms CPU over ${figures.wall.length} runs`,
        );
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
