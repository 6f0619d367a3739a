/**
 * `npm run bench [-- <name> ...]`: every stage's benchmark, one child process each so that one
 * benchmark's memory and threads never colour the next. Each prints its own table of ratios
 * against the anchor it measures in the same run.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const benches: Record<string, string> = {
  bus: 'bus/bus.bench.ts',
  bronze: 'bronze/bronze.bench.ts',
  transform: 'transform/transform.bench.ts',
  train: 'train/train.bench.ts',
  dashboard: 'dashboard/dashboard.bench.ts',
  start: 'start/start.bench.ts',
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const [name, file] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n=== bench/${name} ===`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, file)], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed += 1;
    console.error(`bench/${name} exited with ${result.status ?? result.signal}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
