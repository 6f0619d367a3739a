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
 * `tsx bench/warehouse/warehouse.bench.ts [--dir D] [--sessions N] [--scales 1,10]`
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openDuckDbWarehouse, openDuckDbWarehouseAccess, releaseDuckDbFile } from '@mlops/adapters-local';
import { buildGoldWarehouse } from '@mlops/testing/fixtures';

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

async function prepare(scale: number): Promise<string> {
  const folder = join(dir, `scale-${scale}`);
  const path = join(folder, 'warehouse.duckdb');
  if (existsSync(join(folder, 'READY'))) return path;
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  console.log(`building ${DAYS} days at scale ${scale} in ${folder} (once) ...`);
  const writer = await openDuckDbWarehouse({ path });
  await buildGoldWarehouse(writer, { endDate: '2026-06-30', days: DAYS, scale, modelVersion: 'v-bench' });
  await writer.execute('checkpoint');
  await writer.close();
  releaseDuckDbFile(path);
  writeFileSync(join(folder, 'READY'), '');
  return path;
}

const QUERY = 'select count(*) as n from warehouse.fct_sales';
const rows: string[][] = [];
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
