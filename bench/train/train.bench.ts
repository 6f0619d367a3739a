import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_OUT, type ChurnMatrixOptions, ensureChurnMatrix } from './churn.matrix.js';
import { writeMatrix } from './matrix.js';
import { type OurFit, splitMatrix } from './ours.fit.js';
import { generateSyntheticMatrix } from './synthetic.js';

export { splitMatrix };

/**
 * Training benchmark: our histogram GBDT against XGBoost `tree_method=hist` on the same matrix file,
 * same trees, depth, learning rate, bins, lambda and min_child_weight, 2 threads each.
 * Targets: fit time ours / XGBoost <= 1.5, holdout AUC ours - XGBoost >= -0.005.
 *
 * By default two matrices: the real churn feature matrix at scale 20 (built once by the real
 * pipeline, see churn.matrix.ts) and a synthetic 160,000 x 30 one. Each fit runs in its own
 * process (ours and XGBoost alike, alternating), so peak RSS is that of one fit on one matrix and
 * neither side warms the other's caches.
 */
export interface TrainBenchOptions {
  /** Matrices to run, in order: 'churn', 'synthetic', or a matrix file path (matrix.ts format). Default churn, then synthetic. */
  matrices?: string[];
  /** Window and scale of the churn matrix. */
  churn?: ChurnMatrixOptions;
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

export interface SideResult {
  fitSeconds: number[];
  medianFitSeconds: number;
  holdoutAuc: number;
  /** Largest peak RSS of the side's processes (each reads the matrix and fits once). */
  peakRssMb: number;
}

export interface TrainBenchResult {
  /** 'churn', 'synthetic' or the path given. */
  name: string;
  matrix: string;
  /** How the matrix was obtained (churn: built now, with seconds per step, or cached). */
  source: string;
  trainRows: number;
  holdoutRows: number;
  features: number;
  params: BenchParams;
  ours: SideResult & { profile: Record<string, number> };
  xgboost: (SideResult & { version: string }) | { skipped: string };
  /** Ours / XGBoost median fit time; target <= 1.5. */
  fitRatio: number | null;
  /** Ours − XGBoost holdout AUC; target >= −0.005. */
  aucDifference: number | null;
  /** 1-minute load average before and after this matrix's fits: above the core count, other work was competing. */
  loadAverage: { before: number; after: number; cores: number };
  meetsTargets: boolean | null;
}

export interface BenchParams {
  nTrees: number;
  maxDepth: number;
  learningRate: number;
  maxBins: number;
  lambda: number;
  minChildWeight: number;
  threads: number;
}

export const FIT_RATIO_TARGET = 1.5;
export const AUC_DIFFERENCE_TARGET = -0.005;
const SYNTHETIC_ROWS = 160_000;

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
  for (const name of options.matrices ?? ['churn', 'synthetic']) {
    let matrixPath = name;
    let source = 'given file';
    if (name === 'churn') {
      const churn = await ensureChurnMatrix({ ...options.churn, log });
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
  const xgbRuns: { fitSeconds: number; holdoutAuc: number; peakRssMb: number; version: string }[] = [];
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

async function runAnchor(
  python: string,
  matrixPath: string,
  params: BenchParams,
): Promise<{ fitSeconds: number; holdoutAuc: number; peakRssMb: number; version: string } | { skipped: string }> {
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
        const parsed = JSON.parse(line) as {
          skipped?: string;
          fitSeconds: number;
          holdoutAuc: number;
          peakRssMb: number;
          version: string;
        };
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

function describeParams(p: BenchParams): string {
  return `${p.nTrees} trees, depth ${p.maxDepth}, lr ${p.learningRate}, ${p.maxBins} bins, lambda ${p.lambda}, min_child_weight ${p.minChildWeight}, ${p.threads} threads`;
}

function printTable(result: TrainBenchResult, log: (line: string) => void): void {
  log(
    `\ntrain bench, ${result.name} matrix: ${result.trainRows} train + ${result.holdoutRows} holdout rows x ${result.features} features; ${describeParams(result.params)}`,
  );
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(22) : c.padStart(14))).join('');
  log(row(['', 'ours (TS)', 'XGBoost', 'ours/XGB', 'target']));
  const x = result.xgboost;
  const fmt = (v: number, digits: number): string => v.toFixed(digits);
  if ('skipped' in x) {
    log(row(['fit seconds (median)', fmt(result.ours.medianFitSeconds, 3), 'skipped', '', '<= 1.5x']));
    log(row(['holdout ROC AUC', fmt(result.ours.holdoutAuc, 4), 'skipped', '', '>= -0.005']));
    log(row(['peak RSS MB', fmt(result.ours.peakRssMb, 0), 'skipped', '', '']));
    log(`XGBoost anchor skipped: ${x.skipped}`);
  } else {
    log(
      row([
        'fit seconds (median)',
        fmt(result.ours.medianFitSeconds, 3),
        fmt(x.medianFitSeconds, 3),
        `${fmt(result.fitRatio!, 2)}x`,
        '<= 1.5x',
      ]),
    );
    log(
      row([
        'holdout ROC AUC',
        fmt(result.ours.holdoutAuc, 4),
        fmt(x.holdoutAuc, 4),
        signed(result.aucDifference!),
        '>= -0.005',
      ]),
    );
    log(row(['peak RSS MB (process)', fmt(result.ours.peakRssMb, 0), fmt(x.peakRssMb, 0), '', '']));
    log(
      `fit seconds per run: ours [${result.ours.fitSeconds.map((s) => s.toFixed(3)).join(', ')}], XGBoost ${x.version} [${x.fitSeconds.map((s) => s.toFixed(3)).join(', ')}]`,
    );
    log(`targets ${result.meetsTargets === true ? 'MET' : 'NOT MET'}`);
  }
  const load = result.loadAverage;
  log(`load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after, on ${load.cores} cores`);
  if (Math.max(load.before, load.after) > 1) {
    // XGBoost's OpenMP threads suffer far more than our lanes from a busy machine, so the ratio
    // flatters us then; compare on an idle machine.
    log(
      'warning: other processes were using the CPU; fit times (XGBoost most of all) are inflated and the ratio is not reliable',
    );
  }
  const pr = result.ours.profile;
  const parts = [
    'binning',
    'gradients',
    'histograms',
    'splits',
    'partition',
    'stitch',
    'leaves',
    'waiting',
    'other',
  ].map((k) => `${k} ${(pr[k] ?? 0).toFixed(3)}s`);
  log(`our fit, where the calling thread's time goes (last run, ${pr.threads ?? '?'} threads): ${parts.join(', ')}`);
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;
}

/** Both matrices side by side. */
function printSummary(results: readonly TrainBenchResult[], log: (line: string) => void): void {
  if (results.length === 0) return;
  log(`\ntrain bench summary: ${describeParams(results[0]!.params)}`);
  const widths = [12, 20, 10, 10, 11, 10, 10, 11, 14, 13];
  const row = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('');
  log(
    row([
      'matrix',
      'rows x features',
      'fit ours',
      'fit XGB',
      'ratio',
      'AUC ours',
      'AUC XGB',
      'AUC diff',
      'peak RSS MB',
      'load avg',
    ]),
  );
  log(row(['', '(train+holdout)', 's', 's', '<= 1.5x', '', '', '>= -0.005', 'ours / XGB', 'before/after']));
  for (const r of results) {
    const x = r.xgboost;
    const skipped = 'skipped' in x;
    log(
      row([
        r.name.length > 12 ? `…${r.name.slice(-11)}` : r.name,
        `${r.trainRows + r.holdoutRows} x ${r.features}`,
        r.ours.medianFitSeconds.toFixed(3),
        skipped ? 'skipped' : x.medianFitSeconds.toFixed(3),
        r.fitRatio === null ? '' : `${r.fitRatio.toFixed(2)}x`,
        r.ours.holdoutAuc.toFixed(4),
        skipped ? '' : x.holdoutAuc.toFixed(4),
        r.aucDifference === null ? '' : signed(r.aucDifference),
        `${r.ours.peakRssMb.toFixed(0)} / ${skipped ? '-' : x.peakRssMb.toFixed(0)}`,
        `${r.loadAverage.before.toFixed(2)}/${r.loadAverage.after.toFixed(2)}`,
      ]),
    );
  }
  const met = results.every((r) => r.meetsTargets === true);
  const missedOn = results.filter((r) => r.meetsTargets !== true).map((r) => r.name);
  log(
    `targets ${met ? 'MET on every matrix' : `MISSED on ${missedOn.join(', ')}`} (${results[0]!.loadAverage.cores} cores)`,
  );
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
          `unknown argument ${argv[i]}; use --churn --synthetic --matrix PATH (any of them, in order; default churn then synthetic) --rows N --repeats N --threads N --trees N`,
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
