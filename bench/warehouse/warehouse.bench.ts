/**
 * What a warehouse session costs, against the anchor of the same query on a DuckDB connection
 * that stays open (what a process that never let go of the file would pay). Gold warehouses of
 * 120 days at scale 1 and 10 (the dashboard's fixture), built once under `--dir` and reused.
 *
 * Per scale, each measured `--sessions` times in this process, CPU time and wall time:
 * - anchor: `select count(*) from fct_sales` on an open connection;
 * - read session, file closed before: opens the file read-only, the query, closes it;
 * - read session, file lingering open: the session alone (a connection and its transaction);
 * - write session: opens the file read-write, one insert, closes it (DuckDB checkpoints then);
 * - a snapshot for readers: copying the file, what publishing immutable copies would cost per build.
 *
 * Issue #15 sets no target of its own here; the figure that matters is the dashboard's: an answer
 * with a new date range within 50 ms at p99. The verdict line says whether a read session (the
 * file closed before: the worst case a dashboard query meets) fits in that budget at every scale,
 * and the session's CPU against the anchor.
 *
 * `tsx bench/warehouse/warehouse.bench.ts [--dir D] [--sessions N] [--scales 1,10]`
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openDuckDbWarehouse, openDuckDbWarehouseAccess, releaseDuckDbFile } from '@mlops/adapters-local';
import { buildGoldWarehouse, projectViewQuery } from '@mlops/testing/fixtures';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const index = argv.indexOf(name);
  return index >= 0 && argv[index + 1] ? argv[index + 1]! : fallback;
};
const dir = option('--dir', join(tmpdir(), 'mlops-bench-warehouse'));
const sessions = Number(option('--sessions', '20'));
const scales = option('--scales', '1,10').split(',').map(Number);
const DAYS = 120;

interface Cost {
  cpuMs: number;
  wallMs: number;
}

/** Median wall time and mean CPU time of `n` runs of `work`. */
async function measure(n: number, work: (index: number) => Promise<void>): Promise<Cost> {
  const walls: number[] = [];
  const cpu = process.cpuUsage();
  for (let index = 0; index < n; index += 1) {
    const started = performance.now();
    await work(index);
    walls.push(performance.now() - started);
  }
  const used = process.cpuUsage(cpu);
  walls.sort((a, b) => a - b);
  return { cpuMs: (used.user + used.system) / 1000 / n, wallMs: walls[Math.floor(n / 2)]! };
}

/** The fixture's code and the project's views it creates, as DuckDB runs them: a change rebuilds it. */
async function fixtureStamp(scale: number): Promise<string> {
  const files = ['dashboard/gold-warehouse.fixture.ts', 'lake/project-view.ts'].map((name) =>
    readFileSync(new URL(`../../shared/testing/src/${name}`, import.meta.url)),
  );
  const views = await Promise.all(
    ['bi_customer_sales_daily', 'bi_customer_category_sales_daily', 'bi_product_sales_daily'].map((view) =>
      projectViewQuery(view, '"fixture"'),
    ),
  );
  return createHash('sha256')
    .update(JSON.stringify({ scale, DAYS }))
    .update(files.join('\n'))
    .update(views.join('\n'))
    .digest('hex');
}

async function prepare(scale: number): Promise<string> {
  const folder = join(dir, `scale-${scale}`);
  const path = join(folder, 'warehouse.duckdb');
  const stamp = await fixtureStamp(scale);
  if (existsSync(join(folder, 'READY')) && readFileSync(join(folder, 'READY'), 'utf8') === stamp) return path;
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  console.log(`building ${DAYS} days at scale ${scale} in ${folder} (once) ...`);
  const writer = await openDuckDbWarehouse({ path });
  await buildGoldWarehouse(writer, { endDate: '2026-06-30', days: DAYS, scale, modelVersion: 'v-bench' });
  await writer.execute('checkpoint');
  await writer.close();
  releaseDuckDbFile(path);
  writeFileSync(join(folder, 'READY'), stamp);
  return path;
}

const QUERY = 'select count(*) as n from warehouse.fct_sales';
/** The dashboard's per-answer budget (issue #15: p99 under 50 ms with a new date range). */
const DASHBOARD_BUDGET_MS = 50;
const rows: string[][] = [];
const verdicts: { scale: number; coldWallMs: number; cpuRatio: number }[] = [];
const fmt = (cost: Cost, anchor: Cost) => [
  cost.cpuMs.toFixed(2),
  cost.wallMs.toFixed(2),
  (cost.cpuMs / anchor.cpuMs).toFixed(1),
];

for (const scale of scales) {
  const path = await prepare(scale);
  const size = statSync(path).size / 1e6;
  const work = join(dir, `work-${scale}.duckdb`);
  copyFileSync(path, work);

  const db = await DuckDBInstance.create(work, { access_mode: 'READ_ONLY' });
  const connection = await db.connect();
  const anchor = await measure(sessions, async () => {
    await connection.runAndReadAll(QUERY);
  });
  connection.closeSync();
  db.closeSync();

  const closed = openDuckDbWarehouseAccess({ path: work, readLingerMs: 0 });
  const coldRead = await measure(sessions, async () => {
    await closed.read((warehouse) => warehouse.query(QUERY));
    // Let the access close the file before the next session (its watch runs every 25 ms).
    await new Promise((resolve) => setTimeout(resolve, 60));
  });
  // The 60 ms pause is not the session's: take it out of the wall time (CPU time is unaffected).
  coldRead.wallMs -= 60;
  await closed.close();

  const lingering = openDuckDbWarehouseAccess({ path: work, readLingerMs: 60_000 });
  await lingering.read((warehouse) => warehouse.query(QUERY));
  const warmRead = await measure(sessions, async () => {
    await lingering.read((warehouse) => warehouse.query(QUERY));
  });
  await lingering.close();

  const writer = openDuckDbWarehouseAccess({ path: work });
  await writer.write((warehouse) => warehouse.execute('create table if not exists bench_writes (i integer)'));
  const write = await measure(sessions, async (index) => {
    await writer.write((warehouse) => warehouse.execute(`insert into bench_writes values (${index})`));
  });
  await writer.close();

  const snapshot = await measure(Math.max(3, Math.floor(sessions / 4)), async () => {
    copyFileSync(work, `${work}.snapshot`);
  });
  rmSync(`${work}.snapshot`, { force: true });
  rmSync(work, { force: true });

  verdicts.push({ scale, coldWallMs: coldRead.wallMs, cpuRatio: coldRead.cpuMs / anchor.cpuMs });
  const label = `scale ${scale} (${size.toFixed(0)} MB)`;
  rows.push([label, 'anchor: the query on an open connection', ...fmt(anchor, anchor)]);
  rows.push([label, 'read session, file closed before (open, query, close)', ...fmt(coldRead, anchor)]);
  rows.push([label, 'read session, file lingering open', ...fmt(warmRead, anchor)]);
  rows.push([label, 'write session (open read-write, insert, checkpoint, close)', ...fmt(write, anchor)]);
  rows.push([label, 'copy of the file (a snapshot for readers)', ...fmt(snapshot, anchor)]);
}

const header = ['warehouse', 'what', 'CPU ms', 'wall ms (median)', 'CPU vs anchor'];
const widths = header.map((name, column) => Math.max(name.length, ...rows.map((row) => row[column]!.length)));
const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
console.log(line(header));
console.log(line(widths.map((width) => '-'.repeat(width))));
for (const row of rows) console.log(line(row));
const met = verdicts.every((item) => item.coldWallMs < DASHBOARD_BUDGET_MS);
console.log('');
console.log(
  `read session, file closed before, wall (median) against the dashboard's ${DASHBOARD_BUDGET_MS} ms budget per answer: ${verdicts
    .map(
      (item) => `scale ${item.scale} ${item.coldWallMs.toFixed(1)} ms (${item.cpuRatio.toFixed(1)}x the anchor's CPU)`,
    )
    .join(', ')}: ${met ? 'met' : 'NOT met'} (load average ${loadavg()[0]!.toFixed(1)}, 2 cores)`,
);
