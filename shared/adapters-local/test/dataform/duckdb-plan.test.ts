import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataformCompiler, DuckDbTransformRunner, openDuckDbWarehouseAccess } from '@mlops/adapters-local';
import { GENERATED_PLAN_PATH, planKey, readPlan, storedPlanText, writePlan } from '../../src/dataform/duckdb-plan.js';
import { tempDir } from '@mlops/testing/suites';

const PROJECT = resolve(import.meta.dirname, '../../../../dataform');
const DATES = ['2026-01-05', '2026-01-06', '2026-02-28'];

describe('the DuckDB runner plan cache', () => {
  const warehouse = openDuckDbWarehouseAccess({ path: ':memory:' });
  const dirs: { path: string; remove: () => void }[] = [];
  afterAll(async () => {
    dirs.forEach((dir) => dir.remove());
    await warehouse.close();
  });
  // One compiler: the project is compiled by the CLI once, its template then kept in memory.
  const compiler = new DataformCompiler({ projectDir: PROJECT });
  const runner = (options: { cacheDir?: string; generatedPlan?: string | false } = {}) =>
    new DuckDbTransformRunner({ projectDir: PROJECT, lakeRoot: '/lake', warehouse, compiler, ...options });

  it('the generated plan is the one the project compiles and translates to now (else run `npm run dataform:plan`)', async () => {
    const fresh = await runner({ generatedPlan: false }).planFile();
    const committed = existsSync(GENERATED_PLAN_PATH) ? readFileSync(GENERATED_PLAN_PATH, 'utf8') : '(missing)';
    expect(committed === fresh, `${GENERATED_PLAN_PATH} is out of date: run \`npm run dataform:plan\``).toBe(true);
  }, 240_000);

  it('a runner reading the generated plan states the same statements as one that compiles and translates', async () => {
    const seeded = runner();
    const prepared = await seeded.prepare();
    expect(prepared.cached).toBe(true);
    const compiled = runner({ generatedPlan: false });
    expect(await seeded.translate(DATES)).toEqual(await compiled.translate(DATES));
  }, 240_000);

  it('keeps a translated plan in the state folder cache and reads it back, whatever the generated file holds', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const cacheDir = join(dir.path, 'cache');
    const first = runner({ cacheDir, generatedPlan: false });
    const statements = await first.translate(DATES);
    expect(readdirSync(cacheDir).filter((name) => name.startsWith('plan-'))).toHaveLength(1);
    const second = runner({ cacheDir, generatedPlan: join(dir.path, 'absent.json') });
    expect((await second.prepare()).cached).toBe(true);
    expect(await second.translate(DATES)).toEqual(statements);
  }, 240_000);

  it('never reads a plan stored under another key, nor a torn or foreign file', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const key = planKey(compiler.cacheKey({}))!;
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(planKey('another compilation')).not.toBe(key);
    const plan = readPlan(key, undefined)!;
    expect(plan.templated).toBe(true);

    const other = join(dir.path, 'other.json');
    writeFileSync(other, storedPlanText('0'.repeat(32), plan));
    expect(readPlan(key, undefined, other)).toBeUndefined();
    const torn = join(dir.path, 'torn.json');
    writeFileSync(torn, storedPlanText(key, plan).slice(0, 1000));
    expect(readPlan(key, undefined, torn)).toBeUndefined();
    const foreign = join(dir.path, 'foreign.json');
    writeFileSync(foreign, JSON.stringify({ key, plan: { actions: 'none' } }));
    expect(readPlan(key, undefined, foreign)).toBeUndefined();
    expect(readPlan(key, undefined, false)).toBeUndefined();

    // A torn file in the state folder's cache falls through to the generated plan.
    const cacheDir = join(dir.path, 'cache');
    writePlan(key, plan, cacheDir);
    writeFileSync(join(cacheDir, `plan-${key}.json`), '{"key":');
    const fallback = readPlan(key, cacheDir)!;
    expect({ actions: fallback.actions, literals: fallback.literals }).toEqual({
      actions: plan.actions,
      literals: plan.literals,
    });
  });
});
