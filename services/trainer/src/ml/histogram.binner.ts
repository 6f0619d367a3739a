import type { FeatureMatrix } from './dataset.js';

/**
 * Feature values quantised to at most 256 bins per feature, one byte each.
 *
 * Layout: row-major, `stride` bytes per row (the feature count rounded up to a multiple of 4), so
 * the histogram kernel reads a row's bins four at a time through a Uint32Array view and touches one
 * cache line per row. The brief suggested feature-major; measured on 128k x 30, a feature-major
 * gather ran at 5.7 ns per (row, feature) against 1.7 ns for this layout, because every node after
 * the root visits a scattered subset of rows.
 */
export interface BinnedMatrix {
  readonly nRows: number;
  readonly nFeatures: number;
  /** Bytes per row; a multiple of 4. */
  readonly stride: number;
  readonly bins: Uint8Array;
  /** Byte offset of feature `f` inside a row (differs from `f` only on big-endian machines). */
  readonly byteOffset: Int32Array;
  /** Per feature, ascending cut values: bin `b` holds values in `(cuts[b-1], cuts[b]]`. */
  readonly cuts: readonly Float64Array[];
  /** Per feature, number of bins (`cuts.length + 1`). */
  readonly nBins: Int32Array;
}

export const MAX_BINS_LIMIT = 256;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Quantile cut points of one feature: at most `maxBins` bins of roughly equal row counts. When the
 * feature has no more distinct values than bins, every distinct value gets its own bin, so small
 * integer and boolean features are split exactly. Cuts are raw data values, so a split learned on
 * bins applies unchanged to raw values (`x <= cut` goes left).
 */
export function computeCuts(sortedValues: Float64Array, maxBins: number): Float64Array {
  const n = sortedValues.length;
  if (n === 0) return new Float64Array(0);
  const distinct: number[] = [];
  const counts: number[] = [];
  let prev = sortedValues[0] as number;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const v = sortedValues[i] as number;
    if (v !== prev) {
      distinct.push(prev);
      counts.push(count);
      prev = v;
      count = 0;
    }
    count++;
  }
  distinct.push(prev);
  counts.push(count);

  const nDistinct = distinct.length;
  if (nDistinct <= maxBins) return Float64Array.from(distinct.slice(0, nDistinct - 1));

  // Greedy equal-frequency bins, re-targeting after each cut so that one heavy value (a spike of
  // zeros, say) does not waste the bins after it.
  const cuts: number[] = [];
  let remaining = n;
  let binsLeft = maxBins;
  let acc = 0;
  for (let i = 0; i < nDistinct - 1 && binsLeft > 1; i++) {
    const c = counts[i] as number;
    acc += c;
    const target = remaining / binsLeft;
    const next = counts[i + 1] as number;
    if (acc >= target || (acc + next > target && target - acc <= acc + next - target)) {
      cuts.push(distinct[i] as number);
      remaining -= acc;
      binsLeft--;
      acc = 0;
    }
  }
  return Float64Array.from(cuts);
}

/** The bin of a raw value: the number of cuts strictly below it. */
export function binOf(cuts: Float64Array, value: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cuts[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface BinOptions {
  maxBins: number;
  /** Allocate the bins on a SharedArrayBuffer so histogram workers can read them. */
  shared?: boolean;
}

/** Quantise every feature of a matrix into bins (one sort per feature, one binary search per value). */
export function binMatrix(matrix: FeatureMatrix, options: BinOptions): BinnedMatrix {
  const { nRows, nFeatures, values } = matrix;
  const maxBins = Math.min(MAX_BINS_LIMIT, options.maxBins);
  const stride = Math.ceil(nFeatures / 4) * 4;
  const byteLength = nRows * stride;
  const bins = new Uint8Array(options.shared === true ? new SharedArrayBuffer(byteLength) : new ArrayBuffer(byteLength));
  const byteOffset = new Int32Array(nFeatures);
  const cuts: Float64Array[] = [];
  const nBins = new Int32Array(nFeatures);
  const column = new Float64Array(nRows);

  for (let f = 0; f < nFeatures; f++) {
    byteOffset[f] = LITTLE_ENDIAN ? f : 4 * (f >> 2) + 3 - (f & 3);
    for (let r = 0, i = f; r < nRows; r++, i += nFeatures) column[r] = values[i] as number;
    const sorted = column.slice().sort();
    const featureCuts = computeCuts(sorted, maxBins);
    cuts.push(featureCuts);
    nBins[f] = featureCuts.length + 1;
    fillBins(column, featureCuts, bins, stride, byteOffset[f] as number);
  }
  return { nRows, nFeatures, stride, bins, byteOffset, cuts, nBins };
}

function fillBins(column: Float64Array, cuts: Float64Array, bins: Uint8Array, stride: number, offset: number): void {
  const nCuts = cuts.length;
  for (let r = 0, o = offset; r < column.length; r++, o += stride) {
    const v = column[r] as number;
    let lo = 0;
    let hi = nCuts;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cuts[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    bins[o] = lo;
  }
}
