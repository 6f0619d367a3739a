/**
 * The DuckDB runner's plan: the project's actions translated to DuckDB statements, with sentinel
 * run dates to bind per run (see the compiler's module comment), and the plan cache.
 *
 * Translating the graph costs seconds of CPU and loads an 85 MB WebAssembly transpiler; compiling
 * it runs the Dataform CLI. A templated plan depends only on the compilation's cache key and the
 * code that translates, so it is kept on disk under a key of both: in the state folder's cache,
 * and as a file generated into this folder (`npm run dataform:plan`), so that a fresh state folder
 * needs neither the CLI nor the transpiler. A plan whose key does not match is never read: any
 * change to the project, its vars, the Dataform or transpiler versions, or the translating code
 * falls back to compiling and translating.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { restorePlan, type Plan, type PlanLiterals, type PlannedAction } from './duckdb-transform-plan.js';

/** The modules whose code decides a plan's text (this folder, the running build's extension). */
const TRANSLATING_MODULES = [
  'bigquery-to-duckdb.adapter',
  'compiled-graph',
  'dataform-compiler.adapter',
  'duckdb-plan',
  'duckdb-transform-plan',
  'duckdb-transform-runner.adapter',
  'lake-sources',
];

let translatorFingerprint: string | null | undefined;

/**
 * A hash of what translates: the transpiler's version and the source of the translating modules;
 * null (no plan cache) when they cannot be read.
 */
export function translationFingerprint(): string | null {
  if (translatorFingerprint !== undefined) return translatorFingerprint;
  try {
    const hash = createHash('sha256');
    const require = createRequire(import.meta.filename);
    let dir = dirname(require.resolve('@polyglot-sql/sdk'));
    while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
    hash.update(String((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version));
    const extension = extname(import.meta.filename);
    for (const name of TRANSLATING_MODULES)
      hash.update('\u0000').update(readFileSync(join(import.meta.dirname, `${name}${extension}`)));
    translatorFingerprint = hash.digest('hex');
  } catch {
    translatorFingerprint = null;
  }
  return translatorFingerprint;
}

/** The plan cache key of a compilation key: null when plans cannot be cached. */
export function planKey(compilationKey: string): string | null {
  const fingerprint = translationFingerprint();
  if (fingerprint === null) return null;
  return createHash('sha256').update(compilationKey).update('\u0000').update(fingerprint).digest('hex').slice(0, 32);
}

/** The plan file generated into the repository (`npm run dataform:plan`). */
export const GENERATED_PLAN_PATH = join(import.meta.dirname, 'duckdb-plan.generated.json');

/** A plan as stored: its key beside it, so a file under another key is never taken for it. */
interface StoredPlan {
  key: string;
  plan: { actions: PlannedAction[]; templated: true; literals: PlanLiterals };
}

function readStored(path: string, key: string): Plan | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as StoredPlan;
    const plan = stored.plan;
    return stored.key === key && plan?.templated === true && Array.isArray(plan.actions) && plan.literals?.list
      ? restorePlan(plan.actions, plan.literals)
      : undefined;
  } catch {
    return undefined; // a torn or foreign file: translate again
  }
}

/** A templated plan from the state folder's cache or the generated file, if one has this key. */
export function readPlan(
  key: string,
  cacheDir: string | undefined,
  generated: string | false = GENERATED_PLAN_PATH,
): Plan | undefined {
  const cached = cacheDir ? readStored(join(cacheDir, `plan-${key}.json`), key) : undefined;
  return cached ?? (generated === false ? undefined : readStored(generated, key));
}

/** The text of a stored plan (stable: the generated file is compared with it). */
export function storedPlanText(key: string, plan: Plan): string {
  const stored: StoredPlan = { key, plan: { actions: plan.actions, templated: true, literals: plan.literals } };
  return `${JSON.stringify(stored, null, 1)}\n`;
}

/** Keep a templated plan in the state folder's cache (atomically). */
export function writePlan(key: string, plan: Plan, cacheDir: string): void {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, `plan-${key}.json`);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, storedPlanText(key, plan));
  renameSync(temporary, path);
}
