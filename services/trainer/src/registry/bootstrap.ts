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

/** Rows by ascending score with their labels and clusters in that order, and the tie groups' ends. */
interface Ranking {
  /** `groupEnd[i]`: one past the last position of the tie group that starts at position i. */
  groupEnd: Uint32Array;
  /** Label of the row at each position. */
  labels: Uint8Array;
  /** Cluster of the row at each position. */
  cluster: Uint32Array;
}

function rank(scores: Float64Array, labels: Uint8Array, cluster: Uint32Array): Ranking {
  const order = Uint32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const groupEnd = new Uint32Array(scores.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && scores[order[end]!] === scores[order[start]!]) end += 1;
    groupEnd[start] = end;
    start = end;
  }
  // Laid out in score order, so each resample is one sequential pass (a row's weight is its
  // cluster's draw count, looked up in a table that stays in cache).
  return {
    groupEnd,
    labels: labels.map((_, k) => labels[order[k]!]!),
    cluster: cluster.map((_, k) => cluster[order[k]!]!),
  };
}

/**
 * Weighted ROC AUC (Mann–Whitney, ties count one half), a row weighing its cluster's count in
 * `draws`; NaN when a class weighs nothing.
 */
function weightedAuc(ranking: Ranking, draws: Uint32Array): number {
  const { groupEnd, labels, cluster } = ranking;
  const n = labels.length;
  let negativesBelow = 0;
  let positives = 0;
  let area = 0;
  for (let start = 0; start < n; ) {
    const end = groupEnd[start]!;
    let groupPositive = 0;
    let groupNegative = 0;
    for (let k = start; k < end; k++) {
      if (labels[k] === 1) groupPositive += draws[cluster[k]!]!;
      else groupNegative += draws[cluster[k]!]!;
    }
    area += groupPositive * (negativesBelow + groupNegative / 2);
    negativesBelow += groupNegative;
    positives += groupPositive;
    start = end;
  }
  return area / (positives * negativesBelow);
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
