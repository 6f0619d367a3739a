import { describe, expect, it } from 'vitest';
import { type Dataset, createDataset, createRandom, fitLogistic } from '../src/index.js';
import { CHUNK_ROWS } from '../src/logistic.kernels.js';

/**
 * The fit before its passes were blocked: the standardised design matrix stored whole, the Hessian
 * summed row by row, the objective recomputed from the matrix at every line-search try. The blocked
 * passes must find the same optimum (their sums run in another order, so to rounding).
 */
function denseReference(data: Dataset, l2: number): { beta: Float64Array; iterations: number } {
  const { nRows: n, nFeatures: F, values, labels, weights } = data;
  const weight = (r: number): number => (weights === undefined ? 1 : weights[r]!);
  const means = new Float64Array(F);
  const scales = new Float64Array(F);
  let weightSum = 0;
  for (let r = 0; r < n; r++) {
    weightSum += weight(r);
    for (let f = 0; f < F; f++) means[f]! += weight(r) * values[r * F + f]!;
  }
  for (let f = 0; f < F; f++) means[f]! /= weightSum;
  for (let r = 0; r < n; r++)
    for (let f = 0; f < F; f++) scales[f]! += weight(r) * (values[r * F + f]! - means[f]!) ** 2;
  for (let f = 0; f < F; f++) {
    const sd = Math.sqrt(scales[f]! / weightSum);
    scales[f] = sd > 1e-12 * Math.max(1, Math.abs(means[f]!)) ? sd : 1;
  }
  const d = F + 1;
  const x = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    x[r * d] = 1;
    for (let f = 0; f < F; f++) x[r * d + 1 + f] = (values[r * F + f]! - means[f]!) / scales[f]!;
  }
  const objective = (b: Float64Array): number => {
    let loss = 0;
    for (let r = 0; r < n; r++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += x[r * d + j]! * b[j]!;
      const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
      loss += weight(r) * (softplus - labels[r]! * z);
    }
    let s = 0;
    for (let j = 1; j < d; j++) s += b[j]! * b[j]!;
    return loss + (l2 / 2) * s;
  };
  const beta = new Float64Array(d);
  let current = objective(beta);
  let iterations = 0;
  for (; iterations < 100; iterations++) {
    const g = new Float64Array(d);
    const h = new Float64Array(d * d);
    for (let r = 0; r < n; r++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += x[r * d + j]! * beta[j]!;
      const p = 1 / (1 + Math.exp(-z));
      for (let j = 0; j < d; j++) {
        g[j]! += weight(r) * (p - labels[r]!) * x[r * d + j]!;
        for (let k = 0; k <= j; k++) h[j * d + k]! += weight(r) * p * (1 - p) * x[r * d + j]! * x[r * d + k]!;
      }
    }
    for (let j = 1; j < d; j++) {
      g[j]! += l2 * beta[j]!;
      h[j * d + j]! += l2;
    }
    // Gaussian elimination on the full symmetric matrix (a different solver on purpose).
    const a = Array.from({ length: d }, (_, i) => [
      ...Array.from({ length: d }, (_, k) => h[Math.max(i, k) * d + Math.min(i, k)]!),
      g[i]!,
    ]);
    for (let c = 0; c < d; c++)
      for (let i = c + 1; i < d; i++) {
        const m = a[i]![c]! / a[c]![c]!;
        for (let k = c; k <= d; k++) a[i]![k]! -= m * a[c]![k]!;
      }
    const step = new Float64Array(d);
    for (let i = d - 1; i >= 0; i--) {
      let s = a[i]![d]!;
      for (let k = i + 1; k < d; k++) s -= a[i]![k]! * step[k]!;
      step[i] = s / a[i]![i]!;
    }
    let scale = 1;
    let candidate = beta;
    let next = current;
    for (let tries = 0; tries < 30; tries++, scale /= 2) {
      candidate = beta.map((b, j) => b - scale * step[j]!);
      next = objective(candidate);
      if (next <= current) break;
    }
    const largest = Math.max(...candidate.map((c, j) => Math.abs(c - beta[j]!)));
    if (next > current) break;
    const improvement = current - next;
    beta.set(candidate);
    current = next;
    if (largest < 1e-8 || improvement <= 1e-14 * Math.max(1, Math.abs(current))) {
      iterations++;
      break;
    }
  }
  return { beta, iterations };
}

/** Rows over several chunks and a partial last block, features on unlike scales, row weights. */
function weightedSet(nRows: number, float32: boolean): Dataset {
  const random = createRandom(7);
  const F = 6;
  const values = float32 ? new Float32Array(nRows * F) : new Float64Array(nRows * F);
  const labels = new Uint8Array(nRows);
  const weights = new Float64Array(nRows);
  for (let r = 0; r < nRows; r++) {
    const row = [
      random.nextInt(30),
      100 + 20 * random.nextFloat(),
      random.nextFloat() < 0.3 ? 0 : 500 * random.nextFloat(),
      random.nextFloat(),
      random.nextFloat() * random.nextFloat(),
      7,
    ];
    row.forEach((v, f) => (values[r * F + f] = v));
    const z = -1 + 0.05 * row[0]! - 0.02 * (row[1]! - 110) + 0.002 * row[2]! + 1.5 * row[3]! * row[4]!;
    labels[r] = random.nextFloat() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    weights[r] = 0.5 + random.nextInt(3);
  }
  return createDataset({
    featureNames: ['a', 'b', 'c', 'd', 'e', 'k'],
    values,
    labels,
    weights,
  });
}

describe('logistic fit in blocked passes', () => {
  const data = weightedSet(2 * CHUNK_ROWS + 1_001, false);

  it('finds the optimum of the row-by-row Newton fit, in as many iterations', () => {
    const reference = denseReference(data, 0.5);
    const model = fitLogistic(data, { l2: 0.5 });
    expect(model.iterations).toBe(reference.iterations);
    expect(Math.abs(model.intercept - reference.beta[0]!)).toBeLessThan(1e-10);
    model.coefficients.forEach((c, f) => expect(Math.abs(c - reference.beta[f + 1]!)).toBeLessThan(1e-10));
    expect(model.coefficients[5]).toBe(0);
  });

  it('gives the same bits on every run, and the same optimum from single-precision values', () => {
    const model = fitLogistic(data, { l2: 0.5 });
    expect(JSON.stringify(fitLogistic(data, { l2: 0.5 }))).toBe(JSON.stringify(model));
    const single = fitLogistic(weightedSet(2 * CHUNK_ROWS + 1_001, true), {
      l2: 0.5,
    });
    single.coefficients.forEach((c, f) => expect(Math.abs(c - model.coefficients[f]!)).toBeLessThan(1e-3));
  });
});
