/**
 * `npm run bench [-- <name> [<option> ...] ...]`: every stage's benchmark, one child process each
 * so that one benchmark's memory and threads never colour the next. Each prints its own table of
 * ratios against the anchor it measures in the same run. Options after a name go to that
 * benchmark: `npm run bench -- train --synthetic bronze --orders 200000`.
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
  warehouse: 'warehouse/warehouse.bench.ts',
  start: 'start/start.bench.ts',
};

const wanted: string[] = [];
const options = new Map<string, string[]>();
for (const arg of process.argv.slice(2)) {
  if (arg in benches) {
    wanted.push(arg);
    options.set(arg, []);
  } else if (wanted.length > 0 && arg.startsWith('-')) options.get(wanted[wanted.length - 1]!)!.push(arg);
  else if (wanted.length > 0 && (options.get(wanted[wanted.length - 1]!)!.at(-1) ?? '').startsWith('-'))
    options.get(wanted[wanted.length - 1]!)!.push(arg);
  else {
    console.error(
      `unknown benchmark ${arg}; choose from ${Object.keys(benches).join(', ')} (options follow a benchmark's name)`,
    );
    process.exit(2);
  }
}
let failed = 0;
for (const [name, file] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n=== bench/${name} ===`);
  const result = spawnSync(
    process.execPath,
    ['--conditions=@mlops/source', '--import', 'tsx', join(here, file), ...(options.get(name) ?? [])],
    {
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) {
    failed += 1;
    console.error(`bench/${name} exited with ${result.status ?? result.signal}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
