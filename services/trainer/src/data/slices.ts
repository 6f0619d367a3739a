/**
 * Slices of a holdout and their metrics. The model scores customers still active at the snapshot
 * (an order within the horizon), so `active` is the population every decision is made on; `all`
 * (lapsed customers included, who are nearly certain churners) is reported for comparison only.
 *
 * - `all`: every holdout row;
 * - `active`: last order at most `horizon` days before the snapshot;
 * - `recency_0_7`, `recency_8_<horizon>`: the active rows by days since the last order;
 * - `segment_<name>`: the active rows of one customer segment.
 */
import { calibrationByDecile, logLoss, type CalibrationBin } from '../ml/index.js';
import type { RowFacts } from './dataset.artifact.js';

/** Metrics of one slice (ROC AUC and PR AUC are null when the slice holds one class only). */
export interface SliceMetrics {
  rows: number;
  positiveRate: number;
  rocAuc: number | null;
  prAuc: number | null;
  logLoss: number;
  /** Expected calibration error over ten equal-count bins of prediction. */
  ece: number;
  calibration: { decile: number; meanPredicted: number; observedRate: number; count: number }[];
}

/** The rows (indices into the part) of every slice, in a stable order. */
export function sliceRows(facts: RowFacts, segments: readonly string[], horizonDays: number): Map<string, number[]> {
  const out = new Map<string, number[]>([
    ['all', []],
    ['active', []],
    ['recency_0_7', []],
    [`recency_8_${horizonDays}`, []],
  ]);
  for (const name of segments) out.set(`segment_${name}`, []);
  const n = facts.daysSinceLastOrder.length;
  for (let r = 0; r < n; r++) {
    out.get('all')!.push(r);
    const days = facts.daysSinceLastOrder[r]!;
    if (days > horizonDays) continue;
    out.get('active')!.push(r);
    out.get(days <= 7 ? 'recency_0_7' : `recency_8_${horizonDays}`)!.push(r);
    out.get(`segment_${segments[facts.segment[r]!]}`)!.push(r);
  }
  return out;
}

function ece(bins: readonly CalibrationBin[]): number {
  const n = bins.reduce((sum, bin) => sum + bin.count, 0);
  return bins.reduce((sum, bin) => sum + (bin.count / n) * Math.abs(bin.meanPredicted - bin.observedRate), 0);
}

/** Expected calibration error: the count-weighted gap between mean prediction and observed rate per decile. */
export function expectedCalibrationError(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  return ece(calibrationByDecile(labels, probabilities));
}

/**
 * ROC AUC and average precision of rows holding both classes, the same bits as `rocAuc` and
 * `averagePrecision`: both walk the distinct scores in decreasing order with each one's count of
 * positives and negatives (whole numbers, so the order within a tie does not matter), which the
 * two classes' scores sorted apart (native typed-array sorts, no comparator) give by a merge.
 */
export function rankingMetrics(labels: Uint8Array, scores: Float64Array): { rocAuc: number; prAuc: number } {
  const n = labels.length;
  let positives = 0;
  for (let r = 0; r < n; r++) positives += labels[r]!;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('ranking metrics need both classes');
  const positive = new Float64Array(positives);
  const negative = new Float64Array(negatives);
  for (let r = 0, p = 0, q = 0; r < n; r++) {
    if (labels[r] === 1) positive[p++] = scores[r]!;
    else negative[q++] = scores[r]!;
  }
  positive.sort();
  negative.sort();
  let area = 0;
  let positivesAbove = 0;
  let ap = 0;
  let falsePositives = 0;
  let previousRecall = 0;
  for (let i = positives - 1, j = negatives - 1; i >= 0 || j >= 0; ) {
    const s = i < 0 ? negative[j]! : j < 0 ? positive[i]! : Math.max(positive[i]!, negative[j]!);
    let groupPositive = 0;
    let groupNegative = 0;
    for (; i >= 0 && positive[i] === s; i--) groupPositive++;
    for (; j >= 0 && negative[j] === s; j--) groupNegative++;
    area += groupNegative * (positivesAbove + groupPositive / 2);
    positivesAbove += groupPositive;
    falsePositives += groupNegative;
    const recall = positivesAbove / positives;
    const precision = positivesAbove + falsePositives > 0 ? positivesAbove / (positivesAbove + falsePositives) : 0;
    ap += (recall - previousRecall) * precision;
    previousRecall = recall;
  }
  return { rocAuc: area / (positives * negatives), prAuc: ap };
}

function metricsOf(labels: Uint8Array, probabilities: Float64Array): SliceMetrics {
  const positives = labels.reduce((sum, y) => sum + y, 0);
  const oneClass = positives === 0 || positives === labels.length;
  // Validates labels and probabilities (0/1, finite, in [0, 1]) before the ranking reads them.
  const bins = calibrationByDecile(labels, probabilities);
  const ranking = oneClass ? null : rankingMetrics(labels, probabilities);
  return {
    rows: labels.length,
    positiveRate: positives / labels.length,
    rocAuc: ranking?.rocAuc ?? null,
    prAuc: ranking?.prAuc ?? null,
    logLoss: logLoss(labels, probabilities),
    ece: ece(bins),
    calibration: bins.map((bin) => ({
      decile: bin.bin,
      meanPredicted: bin.meanPredicted,
      observedRate: bin.observedRate,
      count: bin.count,
    })),
  };
}

/** Metrics of every non-empty slice for one model's holdout probabilities. */
export function sliceMetrics(
  labels: Uint8Array,
  probabilities: Float64Array,
  slices: ReadonlyMap<string, readonly number[]>,
): Record<string, SliceMetrics> {
  const out: Record<string, SliceMetrics> = {};
  for (const [name, rows] of slices) {
    if (rows.length === 0) continue;
    // Plain loops: `from` with a mapping callback costs a call per row of every slice.
    const n = rows.length;
    const sliceLabels = new Uint8Array(n);
    const sliceProbabilities = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      sliceLabels[i] = labels[r]!;
      sliceProbabilities[i] = probabilities[r]!;
    }
    out[name] = metricsOf(sliceLabels, sliceProbabilities);
  }
  return out;
}
