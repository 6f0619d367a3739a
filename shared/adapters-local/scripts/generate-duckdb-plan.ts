/**
 * Generates the DuckDB runner's plan of the Dataform project (see duckdb-plan.ts), so that `npm start`
 * on a fresh state folder neither runs the Dataform CLI nor loads the transpiler:
 *   shared/adapters-local/src/dataform/duckdb-plan.generated.json
 * With --check it compiles and translates afresh and fails if the committed file has drifted.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDbTransformRunner } from '../src/dataform/duckdb-transform-runner.adapter.js';
import { GENERATED_PLAN_PATH } from '../src/dataform/duckdb-plan.js';
import { openDuckDbWarehouseAccess } from '../src/duckdb-warehouse-access.adapter.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const warehouse = openDuckDbWarehouseAccess({ path: ':memory:' });
try {
  const runner = new DuckDbTransformRunner({ projectDir: join(root, 'dataform'), lakeRoot: root, warehouse });
  const text = await runner.planFile();
  const current = existsSync(GENERATED_PLAN_PATH) ? readFileSync(GENERATED_PLAN_PATH, 'utf8') : '';
  if (process.argv.includes('--check')) {
    if (current !== text) {
      console.error(`${GENERATED_PLAN_PATH} is out of date: run \`npm run dataform:plan\``);
      process.exitCode = 1;
    } else console.log('the generated DuckDB plan is current');
  } else if (current === text) console.log('the generated DuckDB plan is current');
  else {
    writeFileSync(GENERATED_PLAN_PATH, text);
    console.log(`wrote ${GENERATED_PLAN_PATH}`);
  }
} finally {
  await warehouse.close();
}
