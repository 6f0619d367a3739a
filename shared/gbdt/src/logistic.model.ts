import { type Dataset, type FeatureMatrix, assertSameFeatures } from './dataset.js';
import { TRAINER_ERROR_CODES as CODES, TrainerError } from './errors.js';
import type { BinaryClassifier, FeatureImportance, LogisticModelJson } from './model.port.js';
import { asFeatureNames, asFinite, asFiniteArray, asParams, asRecord, invalidJson, sigmoid } from './model.json.js';
import {
  LogisticScratch,
  type StandardisedRows,
  gradientAndHessian,
  logLossAt,
  stepMargins,
} from './logistic.kernels.js';
import { type ParamSpec, resolveParams } from './params.js';

/** Hyper-parameters of the logistic-regression baseline. */
export interface LogisticParams {
  /** L2 penalty on the standardised coefficients (not the intercept): scikit-learn's 1 / C. */
  l2: number;
  /** Newton iterations at most. */
  maxIterations: number;
  /** Converged when no coefficient moves more than this in one step. */
  tolerance: number;
}

export const LOGISTIC_PARAM_SPECS: Readonly<Record<keyof LogisticParams, ParamSpec>> = {
  l2: { default: 1, min: 0, max: 1e12, doc: 'L2 penalty on standardised coefficients (1 / C)' },
  maxIterations: { default: 100, min: 1, max: 10_000, integer: true, doc: 'Newton iterations at most' },
  tolerance: { default: 1e-8, min: 0, max: 1, minExclusive: true, doc: 'largest coefficient step at convergence' },
};

export function resolveLogisticParams(
  given?: Readonly<Partial<LogisticParams>> | Readonly<Record<string, unknown>>,
): LogisticParams {
  return resolveParams('logreg', LOGISTIC_PARAM_SPECS, given);
}

/** A fitted logistic regression on standardised features. */
export class LogisticModel implements BinaryClassifier {
  readonly kind = 'logreg' as const;
  readonly featureNames: readonly string[];

  constructor(
    featureNames: readonly string[],
    readonly params: Readonly<Record<string, number>>,
    readonly means: Float64Array,
    readonly scales: Float64Array,
    readonly coefficients: Float64Array,
    readonly intercept: number,
    readonly iterations: number,
  ) {
    this.featureNames = Object.freeze([...featureNames]);
  }

  predictProba(matrix: FeatureMatrix): Float64Array {
    assertSameFeatures(this.featureNames, matrix);
    const { nRows, nFeatures, values } = matrix;
    const out = new Float64Array(nRows);
    for (let r = 0; r < nRows; r++) out[r] = sigmoid(this.margin(values, r * nFeatures));
    return out;
  }

  predictRow(row: ArrayLike<number>): number {
    if (row.length !== this.featureNames.length) {
      throw new TrainerError(
        CODES.FEATURE_MISMATCH,
        `a row has ${row.length} values; the model expects ${this.featureNames.length}`,
      );
    }
    return sigmoid(this.margin(row, 0));
  }

  /** |coefficient| on the standardised scale, comparable across features. */
  featureImportance(): FeatureImportance[] {
    return this.featureNames
      .map((feature, f) => ({
        feature,
        gain: Math.abs(this.coefficients[f]!),
        splits: this.coefficients[f] === 0 ? 0 : 1,
      }))
      .sort((a, b) => b.gain - a.gain || a.feature.localeCompare(b.feature));
  }

  toJSON(): LogisticModelJson {
    return {
      format: 'mlops.logreg.v1',
      kind: 'logreg',
      featureNames: [...this.featureNames],
      params: { ...this.params },
      means: [...this.means],
      scales: [...this.scales],
      coefficients: [...this.coefficients],
      intercept: this.intercept,
      iterations: this.iterations,
    };
  }

  static fromJSON(json: unknown): LogisticModel {
    const record = asRecord(json, 'the model');
    if (record.format !== 'mlops.logreg.v1')
      throw invalidJson(`format ${JSON.stringify(record.format)} is not mlops.logreg.v1`);
    const featureNames = asFeatureNames(record.featureNames);
    const n = featureNames.length;
    const scales = asFiniteArray(record.scales, 'scales', n);
    if (scales.some((s) => s <= 0)) throw invalidJson('scales must be positive');
    return new LogisticModel(
      featureNames,
      asParams(record.params),
      Float64Array.from(asFiniteArray(record.means, 'means', n)),
      Float64Array.from(scales),
      Float64Array.from(asFiniteArray(record.coefficients, 'coefficients', n)),
      asFinite(record.intercept, 'intercept'),
      asFinite(record.iterations, 'iterations'),
    );
  }

  private margin(values: ArrayLike<number>, offset: number): number {
    let z = this.intercept;
    for (let f = 0; f < this.coefficients.length; f++)
      z += (this.coefficients[f]! * (values[offset + f]! - this.means[f]!)) / this.scales[f]!;
    return z;
  }
}

/**
 * Fit L2-regularised logistic regression by Newton's method (IRLS) with a backtracking line search,
 * on features standardised to zero mean and unit variance (zero-variance features get scale 1 and
 * stay at coefficient 0). Minimises Σ wᵢ·logloss + (l2 / 2)·‖β‖², the intercept unpenalised: the
 * same optimum as scikit-learn's LogisticRegression(C = 1 / l2) on StandardScaler output.
 * Deterministic: no randomness, a fixed order of every sum.
 */
export function fitLogistic(
  data: Dataset,
  given?: Readonly<Partial<LogisticParams>> | Readonly<Record<string, unknown>>,
): LogisticModel {
  const params = resolveLogisticParams(given);
  const { nRows: n, nFeatures: F, values, labels } = data;
  const weights = data.weights;
  const weight = (r: number): number => (weights === undefined ? 1 : weights[r]!);

  // Standardise (weighted mean and population variance).
  const means = new Float64Array(F);
  const scales = new Float64Array(F);
  let weightSum = 0;
  for (let r = 0; r < n; r++) {
    const w = weight(r);
    weightSum += w;
    for (let f = 0; f < F; f++) means[f]! += w * values[r * F + f]!;
  }
  for (let f = 0; f < F; f++) means[f]! /= weightSum;
  for (let r = 0; r < n; r++) {
    const w = weight(r);
    for (let f = 0; f < F; f++) {
      const d = values[r * F + f]! - means[f]!;
      scales[f]! += w * d * d;
    }
  }
  for (let f = 0; f < F; f++) {
    const sd = Math.sqrt(scales[f]! / weightSum);
    scales[f] = sd > 1e-12 * Math.max(1, Math.abs(means[f]!)) ? sd : 1;
  }
  const inverseScales = scales.map((scale) => 1 / scale);
  const rows: StandardisedRows = { nRows: n, nFeatures: F, values, labels, weights, means, inverseScales };
  const d = F + 1;
  const beta = new Float64Array(d);
  const penalty = (b: Float64Array): number => {
    let s = 0;
    for (let j = 1; j < d; j++) s += b[j]! * b[j]!;
    return (params.l2 / 2) * s;
  };

  const scratch = new LogisticScratch(d);
  const margins = new Float64Array(n);
  const stepMargin = new Float64Array(n);
  const gradient = new Float64Array(d);
  const hessian = new Float64Array(d * d);
  const step = new Float64Array(d);
  const candidate = new Float64Array(d);
  let current = logLossAt(rows, margins, undefined, 0) + penalty(beta);
  let iterations = 0;
  for (; iterations < params.maxIterations; iterations++) {
    gradientAndHessian(rows, beta, margins, gradient, hessian, scratch);
    for (let j = 1; j < d; j++) {
      gradient[j]! += params.l2 * beta[j]!;
      hessian[j * d + j]! += params.l2;
    }
    // A whisker of ridge keeps the Cholesky factorisation defined when the data are separable.
    for (let j = 0; j < d; j++) hessian[j * d + j]! += 1e-10;
    solveCholesky(hessian, gradient, step, d);

    // Backtracking: halve the Newton step until the objective does not increase. The margins are
    // linear in the coefficients, so each try costs one pass over n margins, not over the matrix.
    stepMargins(rows, step, stepMargin);
    let scale = 1;
    let next = current;
    for (let tries = 0; tries < 30; tries++, scale /= 2) {
      for (let j = 0; j < d; j++) candidate[j] = beta[j]! - scale * step[j]!;
      next = logLossAt(rows, margins, stepMargin, scale) + penalty(candidate);
      if (next <= current) break;
    }
    let largest = 0;
    for (let j = 0; j < d; j++) largest = Math.max(largest, Math.abs(candidate[j]! - beta[j]!));
    if (next > current) break;
    beta.set(candidate);
    const improvement = current - next;
    current = next;
    if (largest < params.tolerance || improvement <= 1e-14 * Math.max(1, Math.abs(current))) {
      iterations++;
      break;
    }
  }
  return new LogisticModel(data.featureNames, { ...params }, means, scales, beta.slice(1), beta[0]!, iterations);
}

/** Solve A·x = b for symmetric positive-definite A (lower triangle filled), in place of a copy. */
function solveCholesky(a: Float64Array, b: Float64Array, out: Float64Array, d: number): void {
  const l = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    let sum = a[j * d + j]!;
    for (let k = 0; k < j; k++) sum -= l[j * d + k]! * l[j * d + k]!;
    const diagonal = Math.sqrt(Math.max(sum, 1e-300));
    l[j * d + j] = diagonal;
    for (let i = j + 1; i < d; i++) {
      let s = a[i * d + j]!;
      for (let k = 0; k < j; k++) s -= l[i * d + k]! * l[j * d + k]!;
      l[i * d + j] = s / diagonal;
    }
  }
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * d + k]! * out[k]!;
    out[i] = s / l[i * d + i]!;
  }
  for (let i = d - 1; i >= 0; i--) {
    let s = out[i]!;
    for (let k = i + 1; k < d; k++) s -= l[k * d + i]! * out[k]!;
    out[i] = s / l[i * d + i]!;
  }
}
