import { TRAINER_ERROR_CODES as CODES, TrainerError, describeNumber } from './errors.js';

/**
 * Binary-classification metrics. Definitions follow scikit-learn (roc_auc_score,
 * average_precision_score, log_loss, calibration_curve with strategy="quantile"), and the tests pin
 * them to values scikit-learn computed. Labels are 0/1; scores are any finite numbers (probabilities
 * where stated); optional weights are non-negative.
 */

/** Row share of one calibration bin. */
export interface CalibrationBin {
  /** 0-based decile (quantile bin) index; empty bins are left out, as scikit-learn does. */
  bin: number;
  count: number;
  /** Mean predicted probability in the bin. */
  meanPredicted: number;
  /** Observed positive rate in the bin. */
  observedRate: number;
}

export interface ThresholdMetrics {
  threshold: number;
  accuracy: number;
  /** 0 when nothing is predicted positive (scikit-learn's zero_division=0). */
  precision: number;
  /** 0 when there are no positives. */
  recall: number;
  f1: number;
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
}

export interface BinaryMetrics {
  rows: number;
  positiveRate: number;
  rocAuc: number;
  prAuc: number;
  logLoss: number;
  calibration: CalibrationBin[];
  atThreshold: ThresholdMetrics;
}

/** The default clipping of log loss: probabilities are kept in [eps, 1 − eps]. */
export const LOG_LOSS_EPS = 1e-15;

/**
 * Area under the ROC curve, as the Mann–Whitney rank statistic: the probability that a random
 * positive scores above a random negative, ties counting one half. Weighted when weights are given.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>, weights?: ArrayLike<number>): number {
  const order = checkedOrder('ROC AUC', labels, scores, weights);
  const { positive, negative } = classTotals(labels, weights);
  if (positive === 0 || negative === 0) {
    throw new TrainerError(
      CODES.UNDEFINED_METRIC,
      'ROC AUC is undefined when only one class is present in the labels',
      {
        metric: 'rocAuc',
      },
    );
  }
  let area = 0;
  let positivesAbove = 0;
  for (let i = 0; i < order.length; ) {
    // One group of tied scores: its negatives rank below the positives above it and tie with its own.
    let groupPositive = 0;
    let groupNegative = 0;
    const s = scores[order[i]!]!;
    for (; i < order.length && scores[order[i]!] === s; i++) {
      const r = order[i]!;
      const w = weights === undefined ? 1 : weights[r]!;
      if (labels[r] === 1) groupPositive += w;
      else groupNegative += w;
    }
    area += groupNegative * (positivesAbove + groupPositive / 2);
    positivesAbove += groupPositive;
  }
  return area / (positive * negative);
}

/**
 * Average precision (area under the precision–recall curve, step-wise): Σ (Rₖ − Rₖ₋₁) · Pₖ over
 * the distinct score thresholds in decreasing order, as scikit-learn's average_precision_score.
 */
export function averagePrecision(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  weights?: ArrayLike<number>,
): number {
  const order = checkedOrder('average precision', labels, scores, weights);
  const { positive } = classTotals(labels, weights);
  if (positive === 0) {
    throw new TrainerError(CODES.UNDEFINED_METRIC, 'average precision is undefined when there are no positive labels', {
      metric: 'averagePrecision',
    });
  }
  let ap = 0;
  let tp = 0;
  let fp = 0;
  let previousRecall = 0;
  for (let i = 0; i < order.length; ) {
    const s = scores[order[i]!]!;
    for (; i < order.length && scores[order[i]!] === s; i++) {
      const r = order[i]!;
      const w = weights === undefined ? 1 : weights[r]!;
      if (labels[r] === 1) tp += w;
      else fp += w;
    }
    const recall = tp / positive;
    const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
    ap += (recall - previousRecall) * precision;
    previousRecall = recall;
  }
  return ap;
}

/** Mean negative log-likelihood, probabilities clipped to [eps, 1 − eps]; weighted mean when weights are given. */
export function logLoss(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  weights?: ArrayLike<number>,
  eps = LOG_LOSS_EPS,
): number {
  checkInputs('log loss', labels, probabilities, weights, true);
  let total = 0;
  let weightSum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probabilities[i]!));
    const w = weights === undefined ? 1 : weights[i]!;
    total -= w * (labels[i] === 1 ? Math.log(p) : Math.log(1 - p));
    weightSum += w;
  }
  if (weightSum <= 0) throw new TrainerError(CODES.UNDEFINED_METRIC, 'log loss is undefined when every weight is zero');
  return total / weightSum;
}

/**
 * Calibration by quantile bins (deciles by default): bin edges are the percentiles of the predicted
 * probabilities, a probability equal to an edge falls in the lower bin, and empty bins are left out
 * (scikit-learn's calibration_curve with strategy="quantile", plus the count per bin).
 */
export function calibrationByDecile(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  nBins = 10,
): CalibrationBin[] {
  checkInputs('calibration', labels, probabilities, undefined, true);
  if (!Number.isInteger(nBins) || nBins < 1) {
    throw new TrainerError(CODES.INVALID_PARAM, `calibration needs a positive whole number of bins, got ${nBins}`);
  }
  const n = labels.length;
  const sorted = Float64Array.from(probabilities).sort();
  // Inner edges, computed as numpy.percentile's "linear" method does, to the last bit.
  const edges = new Float64Array(nBins - 1);
  for (let k = 1; k < nBins; k++) {
    const q = (k * (1 / nBins) * 100) / 100;
    edges[k - 1] = percentileLinear(sorted, q);
  }
  const count = new Float64Array(nBins);
  const sumPredicted = new Float64Array(nBins);
  const sumObserved = new Float64Array(nBins);
  for (let i = 0; i < n; i++) {
    const p = probabilities[i]!;
    let bin = 0;
    while (bin < edges.length && edges[bin]! < p) bin++;
    count[bin]!++;
    sumPredicted[bin]! += p;
    sumObserved[bin]! += labels[i]!;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < nBins; b++) {
    if (count[b] === 0) continue;
    out.push({
      bin: b,
      count: count[b]!,
      meanPredicted: sumPredicted[b]! / count[b]!,
      observedRate: sumObserved[b]! / count[b]!,
    });
  }
  return out;
}

/** Confusion counts and rates when scores at or above `threshold` are predicted positive. */
export function thresholdMetrics(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold = 0.5,
  weights?: ArrayLike<number>,
): ThresholdMetrics {
  checkInputs('threshold metrics', labels, scores, weights, false);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    const predicted = scores[i]! >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp += w;
      else fn += w;
    } else if (predicted) fp += w;
    else tn += w;
  }
  const total = tp + fp + tn + fn;
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  return {
    threshold,
    accuracy: total > 0 ? (tp + tn) / total : 0,
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    truePositives: tp,
    falsePositives: fp,
    trueNegatives: tn,
    falseNegatives: fn,
  };
}

/** Every metric of a holdout evaluation at once. */
export function evaluateBinary(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  options: { threshold?: number } = {},
): BinaryMetrics {
  const { positive, negative } = classTotals(labels, undefined);
  return {
    rows: labels.length,
    positiveRate: positive / Math.max(1, positive + negative),
    rocAuc: rocAuc(labels, probabilities),
    prAuc: averagePrecision(labels, probabilities),
    logLoss: logLoss(labels, probabilities),
    calibration: calibrationByDecile(labels, probabilities),
    atThreshold: thresholdMetrics(labels, probabilities, options.threshold ?? 0.5),
  };
}

/** numpy.percentile(sorted, q * 100) with the default linear method, bit for bit. */
function percentileLinear(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const virtual = (n - 1) * q;
  if (virtual >= n - 1) return sorted[n - 1]!;
  if (virtual < 0) return sorted[0]!;
  const previous = Math.floor(virtual);
  const a = sorted[previous]!;
  const b = sorted[previous + 1]!;
  const t = virtual - previous;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

function classTotals(
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
): { positive: number; negative: number } {
  let positive = 0;
  let negative = 0;
  for (let i = 0; i < labels.length; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    if (labels[i] === 1) positive += w;
    else negative += w;
  }
  return { positive, negative };
}

/** Validate, then order rows by decreasing score (stable). */
function checkedOrder(
  metric: string,
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
): Uint32Array {
  checkInputs(metric, labels, scores, weights, false);
  const order = new Uint32Array(labels.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

function checkInputs(
  metric: string,
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
  probabilities: boolean,
): void {
  if (labels.length !== scores.length || (weights !== undefined && weights.length !== labels.length)) {
    throw new TrainerError(
      CODES.SHAPE_MISMATCH,
      `${metric}: ${labels.length} labels, ${scores.length} scores` +
        (weights === undefined ? '' : `, ${weights.length} weights`),
    );
  }
  if (labels.length === 0)
    throw new TrainerError(CODES.UNDEFINED_METRIC, `${metric} is undefined for zero rows`, { metric });
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y !== 0 && y !== 1) {
      throw new TrainerError(
        CODES.INVALID_LABEL,
        `${metric}: label of row ${i} is ${describeNumber(y)}; labels must be 0 or 1`,
        { row: i },
      );
    }
    const s = scores[i]!;
    if (!Number.isFinite(s) || (probabilities && (s < 0 || s > 1))) {
      throw new TrainerError(
        CODES.INVALID_SCORE,
        `${metric}: ${probabilities ? 'probability' : 'score'} of row ${i} is ${describeNumber(s)}` +
          (probabilities ? '; it must be in [0, 1]' : ''),
        { row: i },
      );
    }
    if (weights !== undefined && !(Number.isFinite(weights[i]) && weights[i]! >= 0)) {
      throw new TrainerError(CODES.INVALID_WEIGHT, `${metric}: weight of row ${i} is ${describeNumber(weights[i]!)}`, {
        row: i,
      });
    }
  }
}
