/**
 * What the product's batch-prediction statement costs beyond DuckDB's own floor, part by part: on
 * a copy of a warehouse, the same active rows (`days_since_last_order <= 30`, every snapshot as an
 * IN list, as `scoreInEngine` asks) inserted into empty tables of the predictions' shape by
 *
 * - `keys`: keys and constants only (bench/model's floor);
 * - `keys+features`: the same with the model's features cast and summed (every one read);
 * - `keys+features+day`: and the snapshot's day number the product passes for its tally;
 * - `product shape, no function`: the product's statement (bands, the left join on the first
 *   write times, the timestamps, eight columns) with that sum in place of the model;
 * - `hand-over, keys shape`: the keys floor calling a JavaScript function that returns 0.5 on
 *   the same arguments (the features and the day);
 * - `hand-over, product shape`: the product's statement calling it;
 * - `product`: the product's statement calling the model.
 *
 * Each its wall and CPU time (the process, DuckDB's threads included), rounds interleaved.
 *
 * `npx tsx --conditions=@mlops/source bench/model/write-shape.profile.ts --home DIR --model FILE
 * [--repeat N] [--only name,name]`; DIR holds a warehouse.duckdb, FILE a GBDT model.json.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuckDbWarehouse, releaseDuckDbFile } from '@mlops/adapters-local';
import { loadModel } from '@mlops/gbdt';
import type { NumberFunction } from '@mlops/kernel';
import { columnScorer } from '@mlops/trainer';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const home = option('home');
const modelFile = option('model');
if (!home || !modelFile) throw new Error('--home DIR and --model FILE are required');
const repeat = Number(option('repeat') ?? 3);
const only = option('only')?.split(',');

const work = mkdtempSync(join(tmpdir(), 'mlops-write-shape-'));
const path = join(work, 'warehouse.duckdb');
cpSync(join(home, 'warehouse.duckdb'), path);
const db = await openDuckDbWarehouse({ path });
const scorer = columnScorer(loadModel(JSON.parse(readFileSync(modelFile, 'utf8'))));
const [{ catalog }] = (await db.query<{ catalog: string }>('select current_database() as catalog')) as [
  { catalog: string },
];
const schema = `"${catalog}".warehouse`;
const features = `${schema}.fct_customer_features`;
const dates = (
  await db.query<{ d: string }>(`select distinct cast(snapshot_date as varchar) as d from ${features} order by 1`)
).map((row) => row.d);
const last = dates.at(-1)!;
const where = `where f.snapshot_date in (${dates.map((d) => `date '${d}'`).join(', ')}) and f.days_since_last_order <= 30`;
const casts = scorer.features.map((name) => `cast(f.${name} as double)`);
const day =
  'extract(year from f.snapshot_date) * 10000 + extract(month from f.snapshot_date) * 100 + extract(day from f.snapshot_date)';
const sum = `0.5 + 0 * (${casts.join(' + ')})`;
const shape = `(customer_id string, snapshot_date date, churn_probability double, risk_band string, model_version string, predicted_at timestamptz, is_backfilled bool, model_data_to date)`;
const keys = (p: string) =>
  `select f.customer_id, f.snapshot_date, ${p}, 'low', 'floor', timestamptz '${last} 07:00:00+00', false, date '${last}' from ${features} as f ${where}`;
const product = (p: string) =>
  `select r.customer_id, r.snapshot_date, r.p,
          case when r.p >= 0.6 then 'high' when r.p >= 0.3 then 'medium' else 'low' end, 'v-profile',
          coalesce(least(w.predicted_at, cast('${last}T07:00:00.000Z' as timestamptz)), cast('${last}T07:00:00.000Z' as timestamptz)),
          r.snapshot_date < cast('${last}' as date), cast('${last}' as date)
   from (select f.customer_id, f.snapshot_date, ${p} as p from ${features} as f ${where}) as r
   left join written__ as w on w.snapshot_date = r.snapshot_date`;
await db.execute(`create temp table written__ (snapshot_date date, predicted_at timestamptz)`);

const constant: NumberFunction = { arity: casts.length + 1, compute: (_columns, n, out) => out.fill(0.5, 0, n) };
const model: NumberFunction = {
  arity: casts.length + 1,
  compute: (columns, n, out) => scorer.scoreInto(columns.slice(0, casts.length), n, out),
};
const parts: [string, NumberFunction | undefined, (call: (args: readonly string[]) => string) => string][] = [
  ['keys', undefined, () => keys('0.5')],
  ['keys+features', undefined, () => keys(sum)],
  ['keys+features+day', undefined, () => keys(`${sum} + 0 * (${day})`)],
  ['product shape, no function', undefined, () => product(`${sum} + 0 * (${day})`)],
  ['hand-over, keys shape', constant, (call) => keys(call([...casts, day]))],
  ['hand-over, product shape', constant, (call) => product(call([...casts, day]))],
  ['product', model, (call) => product(call([...casts, day]))],
];
console.log(`load average ${loadavg()[0]!.toFixed(1)}; ${scorer.features.length} features, ${dates.length} snapshots`);
try {
  for (let round = 0; round < repeat; round++)
    for (const [index, [name, fn, sql]] of parts.entries()) {
      if (only && !only.includes(name)) continue;
      const table = `${schema}.shape_${index}__`;
      await db.execute(`create or replace table ${table} ${shape}`);
      const cpu = process.cpuUsage();
      const started = performance.now();
      const insert = (call: (args: readonly string[]) => string) => db.execute(`insert into ${table} ${sql(call)}`);
      await (fn ? db.withNumberFunction!(fn, insert) : insert(() => ''));
      const wall = performance.now() - started;
      const used = process.cpuUsage(cpu);
      console.log(
        `${round} ${name.padEnd(28)} ${wall.toFixed(0).padStart(6)} ms wall ${((used.user + used.system) / 1000).toFixed(0).padStart(6)} ms CPU; load ${loadavg()[0]!.toFixed(1)}`,
      );
    }
} finally {
  await db.close();
  releaseDuckDbFile(path);
  rmSync(work, { recursive: true, force: true });
}
