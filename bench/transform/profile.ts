/**
 * Profile of one transform run: the npm-start-shaped batch (BENCH_DAYS dates at BENCH_SCALE in one
 * run on an empty warehouse), time per action, slowest first. DuckDB runs with the product's default
 * memory limit (`DEFAULT_WAREHOUSE_MEMORY_LIMIT`; BENCH_MEMORY_LIMIT changes it). The run is given its landed rows as the
 * transformer gives them, so its threads and memory follow the product's rule: for large dates the
 * free cores and `DEFAULT_TRANSFORM_MEMORY_LIMIT` scaled to them (BENCH_THREADS pins the threads,
 * BENCH_TRANSFORM_MEMORY_LIMIT changes the one-thread limit, `default`: none).
 *
 *   npx tsx --conditions=@mlops/source bench/transform/profile.ts
 *
 * BENCH_HISTORY=N first builds N earlier dates (runs of BENCH_HISTORY_RUN dates, not profiled), so the
 * profiled run lands on a warehouse with history (the year's steady state); BENCH_HISTORY_WAREHOUSE
 * keeps that built warehouse file and reuses it (each profile runs on a copy).
 */
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDbTransformRunner, openDuckDbWarehouse } from '@mlops/adapters-local';
import { DEFAULT_TRANSFORM_MEMORY_LIMIT, DEFAULT_WAREHOUSE_MEMORY_LIMIT } from '@mlops/kernel';
import { dayNumber, isoDate } from '@mlops/synthetic';
import { warehouseAccessOf } from '@mlops/testing';
import { GeneratedLake } from '@mlops/testing/fixtures';

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_PROJECT: another copy of the Dataform project, e.g. to compare a model before and after a change.
const PROJECT = resolve(process.env.BENCH_PROJECT ?? resolve(here, '..', '..', 'dataform'));
const days = Number(process.env.BENCH_DAYS ?? 120);
const scale = Number(process.env.BENCH_SCALE ?? 1);
const lakeDir = process.env.BENCH_LAKE ?? (await mkdtemp(join(tmpdir(), 'mlops-transform-profile-')));
const first = '2026-01-05';
const historyDays = Number(process.env.BENCH_HISTORY ?? 0);
const allDates = Array.from({ length: historyDays + days }, (_, index) => isoDate(dayNumber(first) + index));
const history = allDates.slice(0, historyDays);
const dates = allDates.slice(historyDays);
const lake = new GeneratedLake(lakeDir, { seed: 42, scale, dirtyShare: 0.01 }, { threads: 2 });
const generated = performance.now();
const landedRows = new Map<string, number>();
for (const date of allDates) {
  const landed = await lake.landDay(date, { fullLoadDate: first, reuse: true });
  landedRows.set(
    date,
    landed.reduce((sum, data) => sum + data.rowCount, 0),
  );
}
await lake.close();
console.log(`lake ${lakeDir}: ${((performance.now() - generated) / 1000).toFixed(1)} s`);
const scratch = await mkdtemp(join(tmpdir(), 'mlops-transform-profile-wh-'));
const warehousePath = process.env.BENCH_WAREHOUSE ?? join(scratch, 'w.duckdb');
// The product's default warehouse memory limit (MLOPS_WAREHOUSE_MEMORY_LIMIT); `default` for DuckDB's own.
const memoryLimit = process.env.BENCH_MEMORY_LIMIT ?? DEFAULT_WAREHOUSE_MEMORY_LIMIT;
if (historyDays > 0) {
  const kept = process.env.BENCH_HISTORY_WAREHOUSE ?? join(scratch, 'history.duckdb');
  if (!existsSync(kept)) {
    const built = await openDuckDbWarehouse({ path: kept });
    // BENCH_HISTORY_MEMORY_LIMIT: the history's own limit (e.g. to build it with a model that needs more).
    const historyLimit = process.env.BENCH_HISTORY_MEMORY_LIMIT ?? memoryLimit;
    if (historyLimit !== 'default') await built.execute(`set memory_limit = '${historyLimit}'`);
    const builder = new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: lakeDir,
      warehouse: warehouseAccessOf(built),
    });
    const size = Number(process.env.BENCH_HISTORY_RUN ?? 9);
    const historyStarted = performance.now();
    for (let at = 0; at < history.length; at += size) await builder.run({ runDates: history.slice(at, at + size) });
    await built.close();
    console.log(`history of ${historyDays} dates built: ${((performance.now() - historyStarted) / 1000).toFixed(1)} s`);
  }
  copyFileSync(kept, warehousePath);
}
const warehouse = await openDuckDbWarehouse({ path: warehousePath });
if (memoryLimit !== 'default') await warehouse.execute(`set memory_limit = '${memoryLimit}'`);
const statements: string[] = [];
// Process CPU (DuckDB's threads included) between one statement's start and the next one's, by action.
const cpuByAction = new Map<string, number>();
let lastAction: string | undefined;
let lastCpu = process.cpuUsage();
const chargeCpu = (next: string | undefined) => {
  const now = process.cpuUsage();
  if (lastAction !== undefined) {
    const used = now.user - lastCpu.user + now.system - lastCpu.system;
    cpuByAction.set(lastAction, (cpuByAction.get(lastAction) ?? 0) + used / 1e6);
  }
  lastAction = next;
  lastCpu = now;
};
const setting = async (name: string) =>
  String(
    (await warehouse.query<{ value: string | number | bigint }>(`select current_setting('${name}') as value`))[0]!
      .value,
  );
const settings = { threads: await setting('threads'), limit: await setting('memory_limit') };
const transformLimit = process.env.BENCH_TRANSFORM_MEMORY_LIMIT ?? DEFAULT_TRANSFORM_MEMORY_LIMIT;
const runner = new DuckDbTransformRunner({
  projectDir: PROJECT,
  // BENCH_THREADS: DuckDB threads during the run (default auto, the product's; 0 keeps the warehouse's).
  ...(process.env.BENCH_THREADS && process.env.BENCH_THREADS !== 'auto'
    ? { threads: Number(process.env.BENCH_THREADS) }
    : {}),
  ...(transformLimit === 'default' ? {} : { largeRunMemoryLimit: transformLimit }),
  lakeRoot: lakeDir,
  warehouse: warehouseAccessOf(warehouse),
  onStatement: (action, sql) => {
    chargeCpu(action);
    // The threads and memory limit the run set itself (otherwise the warehouse's, read below).
    const set = /^set (threads|memory_limit) = '?([^']+)'?$/.exec(sql);
    if (action === '(setup)' && set) settings[set[1] === 'threads' ? 'threads' : 'limit'] = set[2]!;
    statements.push(`-- ${action}\n${sql};`);
  },
});
await runner.prepare();
const cpu = process.cpuUsage();
const started = performance.now();
const rowsOf = (runDates: readonly string[]) => runDates.reduce((sum, date) => sum + (landedRows.get(date) ?? 0), 0);
const result = await runner.run({ runDates: dates, landedRows: rowsOf(dates) });
chargeCpu(undefined);
const wall = performance.now() - started;
const used = process.cpuUsage(cpu);
console.log(
  `run of ${days} dates at scale ${scale}${historyDays ? ` after ${historyDays} dates of history` : ''} (${rowsOf(dates).toLocaleString('en')} landed rows, DuckDB threads ${settings.threads}, memory limit ${settings.limit}, load ${loadavg()[0]!.toFixed(1)}): ${(wall / 1000).toFixed(2)} s wall, ${((used.user + used.system) / 1e6).toFixed(2)} s CPU, process peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
);
console.log('  wall (s)  CPU (s)  action');
for (const action of [...result.actions]
  .sort((a, b) => (cpuByAction.get(b.name) ?? 0) - (cpuByAction.get(a.name) ?? 0))
  .slice(0, Number(process.env.BENCH_TOP ?? 40)))
  console.log(
    `  ${(action.durationMs / 1000).toFixed(3).padStart(7)} ${(cpuByAction.get(action.name) ?? 0).toFixed(3).padStart(8)}  ${action.type.padEnd(11)} ${action.name}`,
  );
console.log(
  `  ${((cpuByAction.get('(counts)') ?? 0) + (cpuByAction.get('(setup)') ?? 0)).toFixed(3)} s CPU: setup, row counts and the commit`,
);
console.log(
  `failed assertions: ${
    result.assertions
      .filter((a) => !a.passed)
      .map((a) => a.name)
      .join(', ') || 'none'
  }`,
);
if (process.env.BENCH_REPEAT) {
  const again = performance.now();
  const second = await runner.run({ runDates: dates.slice(-1), landedRows: rowsOf(dates.slice(-1)) });
  console.log(`one more run of the last date: ${((performance.now() - again) / 1000).toFixed(2)} s`);
  for (const action of [...second.actions].sort((a, b) => b.durationMs - a.durationMs).slice(0, 10))
    console.log(`  ${(action.durationMs / 1000).toFixed(3).padStart(7)} s  ${action.type.padEnd(11)} ${action.name}`);
}
if (process.env.BENCH_SQL) writeFileSync(process.env.BENCH_SQL, statements.join('\n\n'));
await warehouse.close();
