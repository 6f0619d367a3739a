/** What bench/train measures and reports (train.bench.ts runs it, train.report.ts prints it). */

/** Fit time ours / XGBoost at most this. */
export const FIT_RATIO_TARGET = 1.0;
/** Holdout ROC AUC ours − XGBoost at least this. */
export const AUC_DIFFERENCE_TARGET = -0.005;

export interface BenchParams {
  nTrees: number;
  maxDepth: number;
  learningRate: number;
  maxBins: number;
  lambda: number;
  minChildWeight: number;
  threads: number;
}

export interface SideResult {
  fitSeconds: number[];
  medianFitSeconds: number;
  /** CPU time of the fit, every thread of the process (user + system). */
  cpuSeconds: number[];
  medianCpuSeconds: number;
  holdoutAuc: number;
  /** Largest peak RSS of the side's processes (each reads the matrix and fits once). */
  peakRssMb: number;
}

export interface TrainBenchResult {
  /** 'churn-small', 'churn', 'synthetic' or the path given. */
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
  /** Ours / XGBoost median fit time; target FIT_RATIO_TARGET. */
  fitRatio: number | null;
  /** Ours − XGBoost holdout AUC; target AUC_DIFFERENCE_TARGET. */
  aucDifference: number | null;
  /** 1-minute load average before and after this matrix's fits: above the core count, other work was competing. */
  loadAverage: { before: number; after: number; cores: number };
  meetsTargets: boolean | null;
}
