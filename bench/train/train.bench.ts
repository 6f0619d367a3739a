import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_OUT, type ChurnMatrixOptions, ensureChurnMatrix } from './churn.matrix.js';
import { writeMatrix } from './matrix.js';
import { type OurFit, splitMatrix } from './ours.fit.js';
import { generateSyntheticMatrix } from './synthetic.js';
import { printSummary, printTable } from './train.report.js';
import {
  AUC_DIFFERENCE_TARGET,
  type BenchParams,
  FIT_RATIO_TARGET,
  type SideResult,
  type TrainBenchResult,
} from './train.types.js';

export { splitMatrix };
export type { BenchParams, SideResult, TrainBenchResult };

/**
 * Training benchmark: our histogram GBDT against XGBoost `tree_method=hist` on the same matrix file,
 * same trees, depth, learning rate, bins, lambda and min_child_weight, 2 threads each.
 * Targets: fit time ours / XGBoost <= 1.0, holdout AUC ours - XGBoost >= -0.005 (train.types.ts).
 *
 * By default three matrices: the churn feature matrix of `npm start` (120 days at scale 1) and the
 * one at scale 20, both built once by the real pipeline (churn.matrix.ts), and a synthetic
 * 160,000 x 30 one. Each fit runs in its own process (ours and XGBoost alike, alternating), so
 * peak RSS is that of one fit on one matrix and neither side warms the other's caches.
 */
export interface TrainBenchOptions {
  /** Matrices to run, in order: 'churn-small', 'churn', 'synthetic', or a matrix file path (matrix.ts format). Default all three. */
  matrices?: string[];
  /** Window and scale of the churn matrix. */
  churn?: ChurnMatrixOptions;
  /** Window and scale of the small churn matrix (default SMALL_CHURN_WINDOW). */
  churnSmall?: ChurnMatrixOptions;
  /** Rows of the synthetic matrix (20% of them are holdout). */
  rows?: number;
  /** Where the synthetic matrix is written once and then reused (default bench/out). */
  workDir?: string;
  trees?: number;
  depth?: number;
  learningRate?: number;
  maxBins?: number;
  lambda?: number;
  minChildWeight?: number;
  threads?: number;
  /** Fits per side; the median fit time is reported. */
  repeats?: number;
  python?: string;
  log?: (line: string) => void;
}

const SYNTHETIC_ROWS = 160_000;
/** The `npm start` matrix: 120 days at scale 1 (a fixed window, so the cache holds). */
export const SMALL_CHURN_WINDOW = { from: '2026-01-01', to: '2026-04-30', scale: 1 } as const;

export async function runTrainBench(options: TrainBenchOptions = {}): Promise<TrainBenchResult[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const params: BenchParams = {
    nTrees: options.trees ?? 200,
    maxDepth: options.depth ?? 6,
    learningRate: options.learningRate ?? 0.1,
    maxBins: options.maxBins ?? 256,
    lambda: options.lambda ?? 1,
    minChildWeight: options.minChildWeight ?? 1,
    threads: options.threads ?? 2,
  };
  const repeats = Math.max(1, options.repeats ?? 1);
  const results: TrainBenchResult[] = [];
  for (const name of options.matrices ?? ['churn-small', 'churn', 'synthetic']) {
    let matrixPath = name;
    let source = 'given file';
    if (name === 'churn' || name === 'churn-small') {
      const window = name === 'churn' ? options.churn : { ...SMALL_CHURN_WINDOW, ...options.churnSmall };
      const churn = await ensureChurnMatrix({ ...window, log });
      matrixPath = churn.path;
      source =
        churn.built === null
          ? `cached (key ${churn.key})`
          : `built now in ${churn.built.totalSeconds.toFixed(0)} s (backfill ${churn.built.backfillSeconds.toFixed(0)} s, features ${churn.built.featuresSeconds.toFixed(1)} s)`;
    } else if (name === 'synthetic') {
      matrixPath = ensureSyntheticMatrix(options.rows ?? SYNTHETIC_ROWS, options.workDir, log);
      source = 'synthetic, seed 42';
    }
    const result = await benchMatrix(
      name,
      matrixPath,
      source,
      params,
      repeats,
      options.python ?? '/usr/bin/python3',
      log,
    );
    printTable(result, log);
    results.push(result);
  }
  printSummary(results, log);
  return results;
}

async function benchMatrix(
  name: string,
  matrixPath: string,
  source: string,
  params: BenchParams,
  repeats: number,
  python: string,
  log: (line: string) => void,
): Promise<TrainBenchResult> {
  const loadBefore = loadavg()[0]!;
  const xgbRuns: AnchorFit[] = [];
  const ourRuns: OurFit[] = [];
  let skipped: string | null = null;
  for (let i = 0; i < repeats; i++) {
    // Alternate the two sides so that a noisy neighbour on the machine hits both alike.
    if (skipped === null) {
      const anchor = await runAnchor(python, matrixPath, params);
      if ('skipped' in anchor) skipped = anchor.skipped;
      else xgbRuns.push(anchor);
    }
    ourRuns.push(await runOurs(matrixPath, params, i === 0));
  }
  const last = ourRuns.at(-1)!;
  const ours = {
    fitSeconds: ourRuns.map((r) => r.fitSeconds),
    medianFitSeconds: median(ourRuns.map((r) => r.fitSeconds)),
    cpuSeconds: ourRuns.map((r) => r.cpuSeconds),
    medianCpuSeconds: median(ourRuns.map((r) => r.cpuSeconds)),
    holdoutAuc: last.holdoutAuc,
    peakRssMb: Math.max(...ourRuns.map((r) => r.peakRssMb)),
    profile: last.profile,
  };
  const xgboost =
    skipped !== null
      ? { skipped }
      : {
          version: xgbRuns[0]!.version,
          fitSeconds: xgbRuns.map((r) => r.fitSeconds),
          medianFitSeconds: median(xgbRuns.map((r) => r.fitSeconds)),
          cpuSeconds: xgbRuns.map((r) => r.cpuSeconds),
          medianCpuSeconds: median(xgbRuns.map((r) => r.cpuSeconds)),
          holdoutAuc: xgbRuns[0]!.holdoutAuc,
          peakRssMb: Math.max(...xgbRuns.map((r) => r.peakRssMb)),
        };
  const fitRatio = 'skipped' in xgboost ? null : ours.medianFitSeconds / xgboost.medianFitSeconds;
  const aucDifference = 'skipped' in xgboost ? null : ours.holdoutAuc - xgboost.holdoutAuc;
  log(`${name}: ${matrixPath} (${source})`);
  return {
    name,
    matrix: matrixPath,
    source,
    trainRows: last.trainRows,
    holdoutRows: last.holdoutRows,
    features: last.features,
    params,
    ours,
    xgboost,
    fitRatio,
    aucDifference,
    loadAverage: { before: loadBefore, after: loadavg()[0]!, cores: availableParallelism() },
    meetsTargets:
      fitRatio === null || aucDifference === null
        ? null
        : fitRatio <= FIT_RATIO_TARGET && aucDifference >= AUC_DIFFERENCE_TARGET,
  };
}

function ensureSyntheticMatrix(rows: number, workDir: string | undefined, log: (line: string) => void): string {
  const dir = workDir ?? BENCH_OUT;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `synthetic-${rows}x30-seed42.mlmatrix`);
  if (!existsSync(path)) {
    log(`writing synthetic matrix ${path}`);
    writeMatrix(path, generateSyntheticMatrix(rows, { seed: 42, holdoutFraction: 0.2 }));
  }
  return path;
}

/** One fit of ours in its own process (ours.fit.ts). */
function runOurs(matrixPath: string, params: BenchParams, checkFactory: boolean): Promise<OurFit> {
  const script = fileURLToPath(new URL('./ours.fit.ts', import.meta.url));
  const args = [
    '--conditions=@mlops/source',
    '--import',
    'tsx',
    script,
    matrixPath,
    JSON.stringify(params),
    ...(checkFactory ? ['--check-factory'] : []),
  ];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as OurFit);
      } catch {
        reject(new Error(`our fit failed: ${error?.message ?? ''}\n${stderr.slice(-2000)}`));
      }
    });
  });
}

/** One XGBoost fit (xgb_anchor.py's output). */
interface AnchorFit {
  fitSeconds: number;
  cpuSeconds: number;
  holdoutAuc: number;
  peakRssMb: number;
  version: string;
}

async function runAnchor(
  python: string,
  matrixPath: string,
  params: BenchParams,
): Promise<AnchorFit | { skipped: string }> {
  const script = fileURLToPath(new URL('./xgb_anchor.py', import.meta.url));
  const args = [
    script,
    matrixPath,
    ...['--trees', params.nTrees, '--depth', params.maxDepth, '--lr', params.learningRate, '--max-bin', params.maxBins],
    ...['--lambda', params.lambda, '--min-child-weight', params.minChildWeight, '--threads', params.threads],
  ].map(String);
  return new Promise((resolve) => {
    execFile(python, args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(line) as AnchorFit & { skipped?: string };
        if (parsed.skipped !== undefined) resolve({ skipped: parsed.skipped });
        else resolve(parsed);
      } catch {
        const why =
          error === null
            ? `unreadable output: ${line.slice(0, 200)}`
            : `${error.message.split('\n')[0]} ${stderr.slice(-300)}`;
        resolve({ skipped: `the XGBoost anchor did not run (${python}): ${why}` });
      }
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function parseArgs(argv: readonly string[]): TrainBenchOptions {
  const options: TrainBenchOptions = {};
  const matrices: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    const number = Number(value);
    switch (argv[i]) {
      case '--churn':
        matrices.push('churn');
        break;
      case '--churn-small':
        matrices.push('churn-small');
        break;
      case '--synthetic':
        matrices.push('synthetic');
        break;
      case '--matrix':
        matrices.push(value ?? '');
        i++;
        break;
      case '--rows':
        options.rows = number;
        i++;
        break;
      case '--repeats':
        options.repeats = number;
        i++;
        break;
      case '--threads':
        options.threads = number;
        i++;
        break;
      case '--trees':
        options.trees = number;
        i++;
        break;
      default:
        throw new Error(
          `unknown argument ${argv[i]}; use --churn-small --churn --synthetic --matrix PATH (any of them, in order; default all three) --rows N --repeats N --threads N --trees N`,
        );
    }
  }
  if (matrices.length > 0) options.matrices = matrices;
  return options;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  runTrainBench(parseArgs(argv)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
