import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Dataset, createDataset, createModel, fitGbdtProfiled, rocAuc } from '../../services/trainer/src/ml/index.js';
import { type MatrixFile, readMatrix, writeMatrix } from './matrix.js';
import { generateSyntheticMatrix } from './synthetic.js';

/**
 * Training benchmark: our histogram GBDT against XGBoost `tree_method=hist` on the same matrix file,
 * same trees, depth, learning rate, bins, lambda and min_child_weight, 2 threads each.
 * Targets: fit time ours / XGBoost <= 1.5, holdout AUC ours - XGBoost >= -0.005.
 */
export interface TrainBenchOptions {
  /** A matrix file (matrix.ts format), e.g. the churn features exported from the warehouse. */
  matrixPath?: string;
  /** Rows of the synthetic matrix when no path is given (20% of them are holdout). */
  rows?: number;
  /** Where the synthetic matrix is written once and then reused. */
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
  peakRssMb: number;
}

export interface TrainBenchResult {
  matrix: string;
  trainRows: number;
  holdoutRows: number;
  features: number;
  params: Record<string, number>;
  ours: SideResult & { profile: Record<string, number> };
  xgboost: (SideResult & { version: string }) | { skipped: string };
  /** Ours / XGBoost median fit time; target <= 1.5. */
  fitRatio: number | null;
  /** Ours − XGBoost holdout AUC; target >= −0.005. */
  aucDifference: number | null;
  /** 1-minute load average before and after: above the core count, other work was competing. */
  loadAverage: { before: number; after: number; cores: number };
  meetsTargets: boolean | null;
}

export const FIT_RATIO_TARGET = 1.5;
export const AUC_DIFFERENCE_TARGET = -0.005;

export async function runTrainBench(options: TrainBenchOptions = {}): Promise<TrainBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const params = {
    nTrees: options.trees ?? 200,
    maxDepth: options.depth ?? 6,
    learningRate: options.learningRate ?? 0.1,
    maxBins: options.maxBins ?? 256,
    lambda: options.lambda ?? 1,
    minChildWeight: options.minChildWeight ?? 1,
    threads: options.threads ?? 2,
  };
  const repeats = Math.max(1, options.repeats ?? 1);
  const loadBefore = loadavg()[0]!;
  const matrixPath = options.matrixPath ?? ensureSyntheticMatrix(options.rows ?? 160_000, options.workDir, log);
  const matrix = readMatrix(matrixPath);
  const { train, holdout } = splitMatrix(matrix);
  log(`matrix ${matrixPath}: ${train.nRows} train + ${holdout.nRows} holdout rows x ${matrix.nFeatures} features`);

  const xgbRuns: { fitSeconds: number; holdoutAuc: number; peakRssMb: number; version: string }[] = [];
  let skipped: string | null = null;
  const ourFits: number[] = [];
  let ourAuc = 0;
  let profile: Record<string, number> = {};
  for (let i = 0; i < repeats; i++) {
    // Alternate the two sides so that a noisy neighbour on the machine hits both alike.
    if (skipped === null) {
      const anchor = await runAnchor(options.python ?? '/usr/bin/python3', matrixPath, params);
      if ('skipped' in anchor) skipped = anchor.skipped;
      else xgbRuns.push(anchor);
    }
    const started = performance.now();
    const fitted = fitGbdtProfiled(train, params);
    ourFits.push((performance.now() - started) / 1000);
    ourAuc = rocAuc(holdout.labels, fitted.model.predictProba(holdout));
    profile = { ...fitted.profile };
  }
  // The factory path must agree with the profiled one (same model, same AUC).
  const viaFactory = createModel('gbdt', params).fit(train);
  const factoryAuc = rocAuc(holdout.labels, viaFactory.predictProba(holdout));
  if (factoryAuc !== ourAuc) throw new Error(`createModel('gbdt') gave AUC ${factoryAuc}, fitGbdtProfiled gave ${ourAuc}`);

  const ours = { fitSeconds: ourFits, medianFitSeconds: median(ourFits), holdoutAuc: ourAuc, peakRssMb: process.resourceUsage().maxRSS / 1024, profile };
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
  const result: TrainBenchResult = {
    matrix: matrixPath,
    trainRows: train.nRows,
    holdoutRows: holdout.nRows,
    features: matrix.nFeatures,
    params,
    ours,
    xgboost,
    fitRatio,
    aucDifference,
    loadAverage: { before: loadBefore, after: loadavg()[0]!, cores: availableParallelism() },
    meetsTargets: fitRatio === null || aucDifference === null ? null : fitRatio <= FIT_RATIO_TARGET && aucDifference >= AUC_DIFFERENCE_TARGET,
  };
  printTable(result, log);
  return result;
}

function ensureSyntheticMatrix(rows: number, workDir: string | undefined, log: (line: string) => void): string {
  const dir = workDir ?? join(tmpdir(), 'mlops-bench-train');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `synthetic-${rows}x30-seed42.mlmatrix`);
  if (!existsSync(path)) {
    log(`writing synthetic matrix ${path}`);
    writeMatrix(path, generateSyntheticMatrix(rows, { seed: 42, holdoutFraction: 0.2 }));
  }
  return path;
}

/** Train and holdout datasets from a matrix file's split column. */
export function splitMatrix(matrix: MatrixFile): { train: Dataset; holdout: Dataset } {
  const part = (flag: number): Dataset => {
    let count = 0;
    for (let r = 0; r < matrix.nRows; r++) if (matrix.split[r] === flag) count++;
    const values = new Float32Array(count * matrix.nFeatures);
    const labels = new Uint8Array(count);
    for (let r = 0, i = 0; r < matrix.nRows; r++) {
      if (matrix.split[r] !== flag) continue;
      values.set(matrix.values.subarray(r * matrix.nFeatures, (r + 1) * matrix.nFeatures), i * matrix.nFeatures);
      labels[i++] = matrix.labels[r]!;
    }
    return createDataset({ featureNames: matrix.featureNames, values, labels });
  };
  return { train: part(0), holdout: part(1) };
}

async function runAnchor(
  python: string,
  matrixPath: string,
  params: { nTrees: number; maxDepth: number; learningRate: number; maxBins: number; lambda: number; minChildWeight: number; threads: number },
): Promise<{ fitSeconds: number; holdoutAuc: number; peakRssMb: number; version: string } | { skipped: string }> {
  const script = new URL('./xgb_anchor.py', import.meta.url).pathname;
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
        const parsed = JSON.parse(line) as { skipped?: string; fitSeconds: number; holdoutAuc: number; peakRssMb: number; version: string };
        if (parsed.skipped !== undefined) resolve({ skipped: parsed.skipped });
        else resolve(parsed);
      } catch {
        const why = error === null ? `unreadable output: ${line.slice(0, 200)}` : `${error.message.split('\n')[0]} ${stderr.slice(-300)}`;
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

function printTable(result: TrainBenchResult, log: (line: string) => void): void {
  const p = result.params;
  log(`\ntrain bench: ${p.nTrees} trees, depth ${p.maxDepth}, lr ${p.learningRate}, ${p.maxBins} bins, lambda ${p.lambda}, min_child_weight ${p.minChildWeight}, ${p.threads} threads`);
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
    log(row(['fit seconds (median)', fmt(result.ours.medianFitSeconds, 3), fmt(x.medianFitSeconds, 3), `${fmt(result.fitRatio!, 2)}x`, '<= 1.5x']));
    log(row(['holdout ROC AUC', fmt(result.ours.holdoutAuc, 4), fmt(x.holdoutAuc, 4), `${result.aucDifference! >= 0 ? '+' : ''}${fmt(result.aucDifference!, 4)}`, '>= -0.005']));
    log(row(['peak RSS MB (process)', fmt(result.ours.peakRssMb, 0), fmt(x.peakRssMb, 0), '', '']));
    log(`fit seconds per run: ours [${result.ours.fitSeconds.map((s) => s.toFixed(3)).join(', ')}], XGBoost ${x.version} [${x.fitSeconds.map((s) => s.toFixed(3)).join(', ')}]`);
    log(`targets ${result.meetsTargets === true ? 'MET' : 'NOT MET'}`);
  }
  const load = result.loadAverage;
  log(`load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after, on ${load.cores} cores`);
  if (Math.max(load.before, load.after) > 1) {
    // XGBoost's OpenMP threads suffer far more than our lanes from a busy machine, so the ratio
    // flatters us then; compare on an idle machine.
    log('warning: other processes were using the CPU; fit times (XGBoost most of all) are inflated and the ratio is not reliable');
  }
  const pr = result.ours.profile;
  const parts = ['binning', 'gradients', 'histograms', 'splits', 'partition', 'stitch', 'leaves', 'waiting', 'other'].map((k) => `${k} ${(pr[k] ?? 0).toFixed(3)}s`);
  log(`our fit, where the calling thread's time goes (last run, ${pr.threads ?? '?'} threads): ${parts.join(', ')}`);
}

function parseArgs(argv: readonly string[]): TrainBenchOptions {
  const options: TrainBenchOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    const number = Number(value);
    switch (argv[i]) {
      case '--matrix':
        options.matrixPath = value;
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
        throw new Error(`unknown argument ${argv[i]}; use --matrix PATH --rows N --repeats N --threads N --trees N`);
    }
  }
  return options;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runTrainBench(parseArgs(process.argv.slice(2))).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
