/**
 * The passes over the rows behind `fitLogistic`'s Newton steps. The standardised design matrix is
 * never stored (it would be rows x (features + 1) doubles, ~0.5 GB at a year's training set): each
 * block of rows is standardised into a small column-major buffer, and the Hessian's lower triangle
 * is accumulated from it in register tiles (two rows by four columns of the Hessian per sweep of
 * the block), so each product of two standardised values is one load-free multiply-add.
 *
 * Deterministic: every sum has a fixed order that depends on the row count only. Rows are grouped
 * into chunks of `CHUNK_ROWS`; each chunk's gradient and Hessian start from zero and the chunks are
 * added in row order, so the result would not change if chunks were summed on other threads.
 */
import type { FeatureValues } from './dataset.js';
import { sigmoid } from './model.json.js';

/** Rows standardised together (their columns stay in the first-level cache). */
export const BLOCK_ROWS = 128;
/**
 * Distance between two columns of a block: not a power of two, so the columns a tile reads (and the
 * fifty a row is written across) do not all fall in the same few cache sets.
 */
const STRIDE = BLOCK_ROWS + 8;
/** Rows whose gradient and Hessian are summed apart before being added in row order. */
export const CHUNK_ROWS = 65_536;

/** The rows of a training set, standardised on the fly. */
export interface StandardisedRows {
  readonly nRows: number;
  readonly nFeatures: number;
  readonly values: FeatureValues;
  readonly labels: Uint8Array;
  readonly weights: Float64Array | undefined;
  readonly means: Float64Array;
  /** 1 / scale of each feature. */
  readonly inverseScales: Float64Array;
}

/** Scratch buffers of one thread of passes (the block's columns and its weighted copy). */
export class LogisticScratch {
  /** Columns of the design matrix (intercept first) padded to a multiple of 4. */
  readonly width: number;
  readonly columns: Float64Array;
  readonly weighted: Float64Array;
  readonly margins: Float64Array;
  readonly residuals: Float64Array;
  readonly chunkHessian: Float64Array;
  readonly chunkGradient: Float64Array;

  constructor(readonly columnsUsed: number) {
    this.width = Math.ceil(columnsUsed / 4) * 4;
    this.columns = new Float64Array(this.width * STRIDE);
    this.weighted = new Float64Array(this.width * STRIDE);
    this.margins = new Float64Array(BLOCK_ROWS);
    this.residuals = new Float64Array(BLOCK_ROWS);
    this.chunkHessian = new Float64Array(this.width * this.width);
    this.chunkGradient = new Float64Array(this.width);
  }
}

/**
 * Standardise rows [start, start + count) into `columns` (column-major, STRIDE apart; column 0 is
 * the intercept's 1) as (x − mean) · (1 / scale), and their margins under `beta` into `margins`
 * (summed over the columns in order, intercept first). Multiplying by the reciprocal may differ from
 * the model's division in the last bit, which moves the optimum by rounding only; a division per
 * value would cost a fair share of the pass.
 */
function fillBlock(
  rows: StandardisedRows,
  beta: Float64Array,
  start: number,
  count: number,
  columns: Float64Array,
  margins: Float64Array,
): void {
  const { nFeatures: F, values, means, inverseScales } = rows;
  const b0 = beta[0]!;
  for (let i = 0, at = start * F; i < count; i++) {
    columns[i] = 1;
    let z = b0;
    for (let f = 0, to = STRIDE + i; f < F; f++, at++, to += STRIDE) {
      const x = (values[at]! - means[f]!) * inverseScales[f]!;
      columns[to] = x;
      z += x * beta[f + 1]!;
    }
    margins[i] = z;
  }
}

/**
 * One pass at coefficients `beta` (intercept first): the margins of every row into `margins`, the
 * gradient Σ w·(p − y)·x into `gradient` and the Hessian Σ w·p·(1 − p)·x·xᵀ into the lower triangle
 * of `hessian` (d x d row-major; the upper triangle is left as it was), no penalty.
 */
export function gradientAndHessian(
  rows: StandardisedRows,
  beta: Float64Array,
  margins: Float64Array,
  gradient: Float64Array,
  hessian: Float64Array,
  scratch: LogisticScratch,
): void {
  const d = rows.nFeatures + 1;
  gradient.fill(0);
  for (let j = 0; j < d; j++) for (let k = 0; k <= j; k++) hessian[j * d + k] = 0;
  for (let start = 0; start < rows.nRows; start += CHUNK_ROWS) {
    const end = Math.min(rows.nRows, start + CHUNK_ROWS);
    chunkPass(rows, beta, margins, start, end, scratch);
    const { width, chunkHessian, chunkGradient } = scratch;
    for (let j = 0; j < d; j++) gradient[j]! += chunkGradient[j]!;
    for (let j = 0; j < d; j++) for (let k = 0; k <= j; k++) hessian[j * d + k]! += chunkHessian[j * width + k]!;
  }
}

/** The gradient and Hessian of rows [start, end) into the scratch's chunk buffers, from zero. */
function chunkPass(
  rows: StandardisedRows,
  beta: Float64Array,
  margins: Float64Array,
  start: number,
  end: number,
  scratch: LogisticScratch,
): void {
  const { labels, weights } = rows;
  const d = rows.nFeatures + 1;
  const { width, columns, weighted, residuals, chunkHessian: hp, chunkGradient: gp } = scratch;
  const z = scratch.margins;
  hp.fill(0);
  gp.fill(0);
  for (let block = start; block < end; block += BLOCK_ROWS) {
    const count = Math.min(BLOCK_ROWS, end - block);
    fillBlock(rows, beta, block, count, columns, z);
    let intercept = 0;
    for (let i = 0; i < count; i++) {
      const p = sigmoid(z[i]!);
      const w = weights === undefined ? 1 : weights[block + i]!;
      const residual = w * (p - labels[block + i]!);
      residuals[i] = residual;
      intercept += residual;
      // weighted[0][i] = h_i (x_i0 = 1).
      weighted[i] = w * p * (1 - p);
      margins[block + i] = z[i]!;
    }
    gp[0]! += intercept;
    // One sweep per column: its gradient term, and weighted[j][i] = h_i · x_ij for the Hessian.
    for (let j = 1; j < d; j++) {
      const base = j * STRIDE;
      let s = 0;
      for (let i = 0; i < count; i++) {
        const x = columns[base + i]!;
        s += residuals[i]! * x;
        weighted[base + i] = weighted[i]! * x;
      }
      gp[j]! += s;
    }
    hessianTiles(columns, weighted, count, width, hp);
  }
}

/**
 * hp[j][k] += Σ_i weighted[j][i]·columns[k][i] for every k <= j (and a few k just above the
 * diagonal, unused), two Hessian rows by four columns per sweep: eight sums held in registers.
 * Padding columns are zero, so whole tiles are safe.
 */
function hessianTiles(
  columns: Float64Array,
  weighted: Float64Array,
  count: number,
  width: number,
  hp: Float64Array,
): void {
  for (let jt = 0; jt < width; jt += 2) {
    const a0 = jt * STRIDE;
    const a1 = a0 + STRIDE;
    for (let kt = 0; kt <= jt + 1; kt += 4) {
      const b0 = kt * STRIDE;
      const b1 = b0 + STRIDE;
      const b2 = b1 + STRIDE;
      const b3 = b2 + STRIDE;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      for (let i = 0; i < count; i++) {
        const h0 = weighted[a0 + i]!;
        const h1 = weighted[a1 + i]!;
        const x0 = columns[b0 + i]!;
        const x1 = columns[b1 + i]!;
        const x2 = columns[b2 + i]!;
        const x3 = columns[b3 + i]!;
        s00 += h0 * x0;
        s01 += h0 * x1;
        s02 += h0 * x2;
        s03 += h0 * x3;
        s10 += h1 * x0;
        s11 += h1 * x1;
        s12 += h1 * x2;
        s13 += h1 * x3;
      }
      const r0 = jt * width + kt;
      const r1 = r0 + width;
      hp[r0]! += s00;
      hp[r0 + 1]! += s01;
      hp[r0 + 2]! += s02;
      hp[r0 + 3]! += s03;
      hp[r1]! += s10;
      hp[r1 + 1]! += s11;
      hp[r1 + 2]! += s12;
      hp[r1 + 3]! += s13;
    }
  }
}

/** The margin of a step: out[r] = Σ_j step_j · x_rj (intercept first), each row in column order. */
export function stepMargins(rows: StandardisedRows, step: Float64Array, out: Float64Array): void {
  const { nRows: n, nFeatures: F, values, means, inverseScales } = rows;
  const s0 = step[0]!;
  for (let r = 0, at = 0; r < n; r++) {
    let u = s0;
    for (let f = 0; f < F; f++, at++) u += (values[at]! - means[f]!) * inverseScales[f]! * step[f + 1]!;
    out[r] = u;
  }
}

/**
 * Σ w·(log(1 + e^z) − y·z) at margins z_r = base_r − scale·direction_r (no penalty), summed in row
 * order; `direction` undefined means the margins `base` themselves.
 */
export function logLossAt(
  rows: StandardisedRows,
  base: Float64Array,
  direction: Float64Array | undefined,
  scale: number,
): number {
  const { nRows: n, labels, weights } = rows;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const z = direction === undefined ? base[r]! : base[r]! - scale * direction[r]!;
    // log(1 + e^z) − y·z, computed without overflow.
    const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    loss += (weights === undefined ? 1 : weights[r]!) * (softplus - labels[r]! * z);
  }
  return loss;
}
