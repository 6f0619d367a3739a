/**
 * The real churn feature matrix for the training benchmark, built by the real pipeline once per
 * machine and code version:
 *
 * 1. `mlops backfill --from A --to B --scale S` (the CLI, embedded mode, in a temporary
 *    MLOPS_HOME): the generators, the lander and the transformer (DuckDB) build the warehouse;
 * 2. the trainer's own `features` task (from `CHURN_TRAINING_PIPELINE`, run by its
 *    `LocalPipelineRunner` with the pipeline's default sampling and `as_of` = B) reads the
 *    point-in-time features and 30-day labels and writes its dataset artifact;
 * 3. the artifact is decoded by the trainer's `decodeDataset` (train and holdout split by time) and
 *    written as a float64 matrix file (`matrix.ts`), rows in the artifact's order.
 *
 * So the matrix holds exactly the values and labels the trainer would fit on after that backfill.
 * The file is cached under `bench/out/` (git-ignored), keyed by a hash of the inputs that could
 * change it (the window and scale, the Dataform project, shared/, the services the backfill runs,
 * the trainer's feature reader, the CLI, DuckDB's version, the export's version; not the ML core,
 * which only reads it).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FsObjectStore, openDuckDbWarehouseAccess } from '@mlops/adapters-local';
import { silentLogger } from '@mlops/kernel';
import { CHURN_TRAINING_PIPELINE, LocalPipelineRunner, decodeDataset } from '@mlops/trainer';
import { type MatrixFile, writeMatrix } from './matrix.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_OUT = join(REPO, 'bench', 'out');

/** The default window: 100 days, so 8 weekly snapshots have their 30-day labels after 14 days of warm-up. */
export const DEFAULT_CHURN_WINDOW = { from: '2026-01-01', to: '2026-04-10', scale: 20, seed: 42 } as const;

export interface ChurnMatrixOptions {
  from?: string;
  to?: string;
  scale?: number;
  seed?: number;
  /** Folder of the cached matrix (default bench/out). */
  outDir?: string;
  /** Keep the temporary MLOPS_HOME of the build (to inspect the warehouse). */
  keepHome?: boolean;
  log?: (line: string) => void;
}

/** How a matrix was obtained: from the cache, or built now (seconds per step). */
export interface ChurnMatrix {
  path: string;
  key: string;
  built: { backfillSeconds: number; featuresSeconds: number; totalSeconds: number } | null;
}

/** Everything whose change could change the exported matrix (paths from the repository root). */
const INPUTS = [
  'dataform/definitions',
  'dataform/includes',
  'dataform/workflow_settings.yaml',
  'shared/kernel/src',
  'shared/adapters-local/src',
  'shared/synthetic/src',
  'services/sales-gen/src',
  'services/click-gen/src',
  'services/startup-gen/src',
  'services/lander/src',
  'services/transformer/src',
  'services/trainer/src/components',
  'services/trainer/src/data',
  'services/trainer/src/pipeline',
  'cli/src',
  'node_modules/@duckdb/node-api/package.json',
];

/** Bump when the export below changes what it writes (this file is not hashed, so edits elsewhere in it keep the cache). */
const EXPORT_VERSION = 1;

function hashTree(hash: ReturnType<typeof createHash>, path: string): void {
  if (!existsSync(path)) return;
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort())
      if (entry !== 'node_modules' && !entry.startsWith('.')) hashTree(hash, join(path, entry));
    return;
  }
  hash.update(relative(REPO, path)).update('\0').update(readFileSync(path)).update('\0');
}

/** The cache key of a window: its settings and the content of every input. */
export function churnMatrixKey(window: { from: string; to: string; scale: number; seed: number }): string {
  const hash = createHash('sha256').update(JSON.stringify({ ...window, exportVersion: EXPORT_VERSION }));
  for (const input of INPUTS) hashTree(hash, join(REPO, input));
  return hash.digest('hex').slice(0, 16);
}

/** The churn matrix of a window: from the cache, or built by the real pipeline (minutes at scale 20). */
export async function ensureChurnMatrix(options: ChurnMatrixOptions = {}): Promise<ChurnMatrix> {
  const log = options.log ?? ((line: string) => console.log(line));
  const window = {
    from: options.from ?? DEFAULT_CHURN_WINDOW.from,
    to: options.to ?? DEFAULT_CHURN_WINDOW.to,
    scale: options.scale ?? DEFAULT_CHURN_WINDOW.scale,
    seed: options.seed ?? DEFAULT_CHURN_WINDOW.seed,
  };
  const key = churnMatrixKey(window);
  const outDir = options.outDir ?? BENCH_OUT;
  const path = join(outDir, `churn-${window.from}-${window.to}-scale${window.scale}-${key}.mlmatrix`);
  if (existsSync(path)) return { path, key, built: null };
  mkdirSync(outDir, { recursive: true });

  const started = performance.now();
  const home = mkdtempSync(join(tmpdir(), 'mlops-churn-matrix-'));
  try {
    log(
      `building the churn matrix: mlops backfill ${window.from}..${window.to} at scale ${window.scale} in ${home} (minutes; once per machine and code version)`,
    );
    const failedStages = await runBackfill(home, window, log);
    const backfillSeconds = (performance.now() - started) / 1000;
    const t1 = performance.now();
    const matrix = await exportFeatures(home, window);
    const featuresSeconds = (performance.now() - t1) / 1000;
    const totalSeconds = (performance.now() - started) / 1000;
    matrix.meta = {
      ...matrix.meta,
      source: 'mlops backfill + trainer features task',
      ...window,
      key,
      backfillSeconds,
      featuresSeconds,
      failedStages,
    };
    writeMatrix(path, matrix);
    log(
      `churn matrix ${path}: ${matrix.nRows} rows x ${matrix.nFeatures} features; backfill ${backfillSeconds.toFixed(0)} s, features ${featuresSeconds.toFixed(1)} s`,
    );
    return { path, key, built: { backfillSeconds, featuresSeconds, totalSeconds } };
  } finally {
    if (options.keepHome === true) log(`kept ${home}`);
    else rmSync(home, { recursive: true, force: true });
  }
}

/**
 * The CLI's backfill in its own process, with a clean embedded-mode environment. Resolves to the
 * number of stages that failed: a backfill whose stages failed (at scale 20 the transformer's
 * key assertions fail on many dates) still leaves every date's tables in the warehouse, which is
 * all the benchmark needs; the trainer itself would leave those dates out.
 */
export function runBackfill(
  home: string,
  window: { from: string; to: string; scale: number; seed: number },
  log: (line: string) => void,
): Promise<number> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('MLOPS_')) env[name] = value;
  Object.assign(env, { MLOPS_MODE: 'local', MLOPS_HOME: home });
  const args = [
    '--conditions=@mlops/source',
    '--import',
    'tsx',
    join(REPO, 'cli/src/main.ts'),
    'backfill',
    '--from',
    window.from,
    '--to',
    window.to,
    '--scale',
    String(window.scale),
    '--seed',
    String(window.seed),
    '--timeout',
    '14400',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    let lastProgress = 0;
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      keep(chunk);
      // The CLI prints a progress line every few seconds; pass one on every minute.
      const line = chunk.toString('utf8').trim().split('\n').pop() ?? '';
      if (line.startsWith('backfill') && performance.now() - lastProgress > 60_000) {
        lastProgress = performance.now();
        log(`  ${line}`);
      }
    });
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => {
      const failed = Number(/\((\d+) failed\)[^(]*$/.exec(tail)?.[1] ?? 0);
      if (code === 0) resolve(0);
      else if (code === 1 && tail.includes('with failures')) {
        log(`  mlops backfill finished with ${failed} failed stage(s); exporting the warehouse as built`);
        resolve(failed);
      } else reject(new Error(`mlops backfill exited with ${code}:\n${tail}`));
    });
  });
}

/** Run the trainer's features task on the built warehouse and decode its artifact. */
export async function exportFeatures(home: string, window: { to: string }): Promise<MatrixFile> {
  const warehousePath = join(home, 'warehouse.duckdb');
  const warehouse = openDuckDbWarehouseAccess({ path: warehousePath });
  const artifacts = join(home, 'bench-artifacts');
  try {
    const features = CHURN_TRAINING_PIPELINE.tasks.features!;
    const parameters: Record<string, (typeof CHURN_TRAINING_PIPELINE.parameters)[string]> = {};
    for (const binding of Object.values(features.parameters)) {
      if (binding.kind === 'pipeline')
        parameters[binding.parameter] = CHURN_TRAINING_PIPELINE.parameters[binding.parameter]!;
    }
    const pipeline = {
      name: 'bench-churn-features',
      description: 'The features task of the churn training pipeline alone.',
      parameters,
      tasks: { features },
    };
    // The features task uses only the warehouse, the lake (for its artifact) and the log.
    const deps = {
      warehouse,
      objects: new FsObjectStore({ root: artifacts }),
      registry: undefined as never,
      log: silentLogger,
    };
    const runner = new LocalPipelineRunner({ deps, keepArtifacts: true });
    const runKey = 'bench-churn-matrix';
    await runner.run({ pipeline, runKey, parameters: { as_of: window.to } });
    const uri = `mlops/pipeline-runs/${runKey}/features/dataset`;
    const set = decodeDataset(readFileSync(join(artifacts, uri)), uri);
    const { train, holdout, header } = set;
    const nFeatures = header.featureNames.length;
    const nRows = train.nRows + holdout.nRows;
    const values = new Float64Array(nRows * nFeatures);
    values.set(train.values, 0);
    values.set(holdout.values, train.nRows * nFeatures);
    const labels = new Uint8Array(nRows);
    labels.set(train.labels, 0);
    labels.set(holdout.labels, train.nRows);
    const split = new Uint8Array(nRows).fill(1, train.nRows);
    const snapshots = header.snapshots.map((s) => `${s.date}:${s.split}:${s.rows}`);
    return {
      featureNames: [...header.featureNames],
      nRows,
      nFeatures,
      values,
      labels,
      split,
      meta: { snapshots, horizonDays: header.horizonDays },
    };
  } finally {
    await warehouse.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const keepHome = process.argv.includes('--keep-home');
  ensureChurnMatrix({ keepHome })
    .then((result) => console.log(JSON.stringify(result)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
