/**
 * The uncertainty of a difference between two models scored on the same rows: a paired bootstrap
 * that resamples customers (a customer's rows at several snapshots are not independent, so rows
 * are drawn in clusters), with a fixed seed so the same evidence gives the same decision.
 *
 * Each resample weighs every row by how often its customer was drawn; both models are judged on
 * the same weights, so what varies is the difference itself. ROC AUC under weights is one pass
 * over each model's rows sorted once by score.
 */
import { createRandom } from '../ml/index.js';

/** A percentile interval of a bootstrapped statistic. */
export interface BootstrapInterval {
  /** The statistic on the rows as they are. */
  estimate: number;
  low: number;
  high: number;
  /** Coverage of the interval, e.g. 0.95. */
  level: number;
  resamples: number;
  seed: number;
  /** Customers drawn per resample (the clusters). */
  clusters: number;
}

/** Rows by ascending score: their labels, clusters and tie groups in that order. */
interface Ranking {
  /** Label of the row at each position, 0 or 1. */
  labels: Float64Array;
  /** Cluster of the row at each position. */
  cluster: Uint32Array;
  /** 1 at the first position of each tie group (rows of equal score), else 0. */
  starts: Float64Array;
}

function rank(scores: Float64Array, labels: Uint8Array, cluster: Uint32Array): Ranking {
  const order = Uint32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const starts = new Float64Array(scores.length);
  for (let k = 0; k < order.length; k++) starts[k] = k === 0 || scores[order[k]!] !== scores[order[k - 1]!] ? 1 : 0;
  // Laid out in score order, so each resample is one sequential pass (a row's weight is its
  // cluster's draw count, looked up in a table that stays in cache).
  return {
    labels: Float64Array.from(order, (i) => labels[i]!),
    cluster: cluster.map((_, k) => cluster[order[k]!]!),
    starts,
  };
}

/**
 * Weighted ROC AUC (Mann–Whitney, ties count one half), a row weighing its cluster's count in
 * `draws`; NaN when a class weighs nothing.
 *
 * A tie group's positives count the negatives below the group and half of the group's own:
 * gp·(below + gn/2) = (gp·below + gp·(below + gn)) / 2, the two terms being the negatives below
 * its first and past its last row. Both are summed in one pass without a branch on the label or
 * the group (the labels of a ranking are coin flips to a branch predictor). Every weight is a whole
 * count, so every sum is a whole number (or a half) far below 2^53 and exact in any order: the
 * result is the bits of the group-by-group sum.
 */
function weightedAuc(ranking: Ranking, draws: Uint32Array): number {
  const { labels, cluster, starts } = ranking;
  const n = labels.length;
  let negatives = 0;
  let positives = 0;
  let below = 0;
  let groupPositives = 0;
  let belowFirst = 0;
  let pastLast = 0;
  for (let k = 0; k < n; k++) {
    const start = starts[k]!;
    // A new group closes the last one: its positives times the negatives up to its end.
    pastLast += start * groupPositives * negatives;
    groupPositives -= start * groupPositives;
    below += start * (negatives - below);
    const w = draws[cluster[k]!]!;
    const positive = w * labels[k]!;
    belowFirst += positive * below;
    groupPositives += positive;
    positives += positive;
    negatives += w - positive;
  }
  pastLast += groupPositives * negatives;
  return (belowFirst + pastLast) / 2 / (positives * negatives);
}

function quantile(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(sorted.length - 1, lower + 1);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

/**
 * The ROC AUC difference `challenger − champion` on the same rows and its percentile interval
 * from `resamples` cluster resamples (customers drawn with replacement).
 */
export function pairedAucDifference(input: {
  labels: Uint8Array;
  challenger: Float64Array;
  champion: Float64Array;
  /** The customer of each row (any numbering). */
  clusters: Uint32Array;
  resamples: number;
  seed: number;
  level: number;
}): BootstrapInterval {
  const { labels, resamples } = input;
  const n = labels.length;
  const ids = new Map<number, number>();
  const cluster = new Uint32Array(n);
  for (let r = 0; r < n; r++) {
    let id = ids.get(input.clusters[r]!);
    if (id === undefined) ids.set(input.clusters[r]!, (id = ids.size));
    cluster[r] = id;
  }
  const nClusters = ids.size;
  const a = rank(input.challenger, labels, cluster);
  const b = rank(input.champion, labels, cluster);
  const draws = new Uint32Array(nClusters).fill(1);
  const estimate = weightedAuc(a, draws) - weightedAuc(b, draws);
  const random = createRandom(input.seed);
  const differences: number[] = [];
  for (let s = 0; s < resamples; s++) {
    draws.fill(0);
    for (let k = 0; k < nClusters; k++) draws[random.nextInt(nClusters)]! += 1;
    const difference = weightedAuc(a, draws) - weightedAuc(b, draws);
    if (Number.isFinite(difference)) differences.push(difference);
  }
  const sorted = Float64Array.from(differences).sort();
  const tail = (1 - input.level) / 2;
  return {
    estimate,
    low: sorted.length === 0 ? Number.NaN : quantile(sorted, tail),
    high: sorted.length === 0 ? Number.NaN : quantile(sorted, 1 - tail),
    level: input.level,
    resamples: sorted.length,
    seed: input.seed,
    clusters: nClusters,
  };
}
