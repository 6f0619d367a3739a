import { MAX_BINS_LIMIT } from './histogram.binner.js';
import { type ParamSpec, resolveParams } from './params.js';

/** Hyper-parameters of the gradient-boosted trees, named after their XGBoost counterparts. */
export interface GbdtParams {
  /** Boosting rounds (XGBoost `n_estimators`). */
  nTrees: number;
  /** Depth of every tree; growth is depth-wise like XGBoost's default. */
  maxDepth: number;
  /** Shrinkage applied to every leaf (`eta`). */
  learningRate: number;
  /** Bins per feature, at most 256 (`max_bin`). */
  maxBins: number;
  /** L2 penalty on leaf values (`reg_lambda`). */
  lambda: number;
  /** Minimum hessian sum in a child (`min_child_weight`). */
  minChildWeight: number;
  /** Minimum loss reduction to split (`gamma`, `min_split_loss`). */
  gamma: number;
  /** Fraction of rows drawn (Bernoulli) for each tree. */
  subsample: number;
  /** Fraction of features drawn for each tree. */
  colsampleByTree: number;
  /** Seed of the PRNG behind subsample and colsample. */
  seed: number;
  /**
   * Threads for histogram building; 0 picks 2 for large data when the machine has 2 cores. Does not
   * change the model: the same seed gives the same JSON at any thread count.
   */
  threads: number;
}

export const GBDT_PARAM_SPECS: Readonly<Record<keyof GbdtParams, ParamSpec>> = {
  nTrees: { default: 100, min: 1, max: 100_000, integer: true, doc: 'number of boosting rounds' },
  maxDepth: { default: 6, min: 1, max: 12, integer: true, doc: 'depth of each tree' },
  learningRate: { default: 0.1, min: 0, max: 1, minExclusive: true, doc: 'shrinkage per tree' },
  maxBins: { default: 256, min: 2, max: MAX_BINS_LIMIT, integer: true, doc: 'bins per feature' },
  lambda: { default: 1, min: 0, max: 1e9, doc: 'L2 penalty on leaf values' },
  minChildWeight: { default: 1, min: 0, max: 1e12, doc: 'minimum hessian sum per child' },
  gamma: { default: 0, min: 0, max: 1e12, doc: 'minimum split gain' },
  subsample: { default: 1, min: 0, max: 1, minExclusive: true, doc: 'row fraction per tree' },
  colsampleByTree: { default: 1, min: 0, max: 1, minExclusive: true, doc: 'feature fraction per tree' },
  seed: { default: 0, min: 0, max: 0xffffffff, integer: true, doc: 'PRNG seed' },
  threads: { default: 0, min: 0, max: 64, integer: true, doc: 'most histogram threads (one on small data), 0 = auto' },
};

/** Fill defaults and validate; throws `TRAINER.INVALID_PARAM` naming the parameter. */
export function resolveGbdtParams(
  given?: Readonly<Partial<GbdtParams>> | Readonly<Record<string, unknown>>,
): GbdtParams {
  return resolveParams('gbdt', GBDT_PARAM_SPECS, given);
}
