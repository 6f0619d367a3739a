/**
 * Replays the statements a profiled run executed (profile.ts's BENCH_SQL file) on a copy of the
 * warehouse it started from, in one transaction, with process CPU per action; `REPLAY_EXPLAIN=<action>`
 * prints `EXPLAIN ANALYZE` of that action's main statement instead of running it plainly. The copy
 * keeps the file's name (DuckDB names the catalog after it, and the statements name the catalog).
 * Threads and memory limit default to a large run's on two cores (`REPLAY_THREADS`,
 * `REPLAY_MEMORY_LIMIT`), as the product sets them.
 *
 *   npx tsx --conditions=@mlops/source bench/transform/replay.ts <statements.sql> <warehouse.duckdb>
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runMemoryLimit } from '@mlops/adapters-local';
import { DEFAULT_TRANSFORM_MEMORY_LIMIT } from '@mlops/kernel';

const [sqlFile, source] = process.argv.slice(2);
if (!sqlFile) throw new Error('usage: replay.ts <statements.sql> [warehouse.duckdb]');
const path = join(mkdtempSync(join(tmpdir(), 'mlops-replay-')), source ? basename(source) : 'warehouse.duckdb');
if (source && existsSync(source)) copyFileSync(source, path);
const threads = Number(process.env.REPLAY_THREADS ?? '2');
const instance = await DuckDBInstance.create(path, {
  memory_limit: process.env.REPLAY_MEMORY_LIMIT ?? runMemoryLimit(DEFAULT_TRANSFORM_MEMORY_LIMIT, threads)!,
  threads: String(threads),
});
const connection = await instance.connect();
const explain = process.env.REPLAY_EXPLAIN;
const statements = readFileSync(sqlFile, 'utf8')
  .split(/\n\n(?=-- (?:\([a-z]+\)|[a-z_]+\.[a-z_0-9]+)\n)/)
  .map((block) => {
    const newline = block.indexOf('\n');
    return { action: block.slice(3, newline), sql: block.slice(newline + 1).replace(/;\s*$/, '') };
  });
const cpuByAction = new Map<string, number>();
await connection.run('begin transaction');
for (const { action, sql } of statements) {
  const before = process.cpuUsage();
  const main = /^(insert into|create (or replace )?table)/i.test(sql.trim());
  if (explain === action && main) {
    const reader = await connection.runAndReadAll(`explain analyze ${sql}`);
    for (const row of reader.getRows()) console.log(String(row[1]));
  } else await connection.run(sql);
  const used = process.cpuUsage(before);
  cpuByAction.set(action, (cpuByAction.get(action) ?? 0) + (used.user + used.system) / 1e6);
}
const before = process.cpuUsage();
await connection.run('commit');
const commit = process.cpuUsage(before);
cpuByAction.set('(commit)', (commit.user + commit.system) / 1e6);
let total = 0;
for (const [action, cpu] of [...cpuByAction].sort((a, b) => b[1] - a[1])) {
  total += cpu;
  if (cpu > 0.05) console.log(`${cpu.toFixed(3).padStart(8)} s CPU  ${action}`);
}
console.log(
  `${total.toFixed(3).padStart(8)} s CPU  total; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
);
