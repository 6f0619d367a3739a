import {
  computeCuts as cutsKernel,
  distinctCuts,
  extractColumns,
  fillBins,
  sortFloat64,
  transposeBins,
} from './kernels/binning.kernel.js';
import type { FeatureMatrix } from './dataset.js';
import { allocateUint8 } from './shared-memory.js';

/**
 * Feature values quantised to at most 256 bins per feature, one byte each, in two layouts:
 *
 * - row-major, `stride` bytes per row (the feature count rounded up to a multiple of 4), so the
 *   histogram kernel reads a row's bins four at a time as a 32-bit word and touches one cache line
 *   per row (a feature-major gather costs several times more, because every node below the root
 *   visits a scattered subset of rows);
 * - column-major, `nRows` bytes per feature, for partitioning a node on one feature, which from
 *   the row-major copy would cost a cache line per row.
 */
export interface BinnedMatrix {
  readonly nRows: number;
  readonly nFeatures: number;
  /** Bytes per row; a multiple of 4. */
  readonly stride: number;
  readonly bins: Uint8Array;
  readonly cols: Uint8Array;
  /** Byte offset of feature `f` inside a row (differs from `f` only on big-endian machines). */
  readonly byteOffset: Int32Array;
  /** Per feature, ascending cut values: bin `b` holds values in `(cuts[b-1], cuts[b]]`. */
  readonly cuts: readonly Float64Array[];
  /** Per feature, number of bins (`cuts.length + 1`). */
  readonly nBins: Int32Array;
}

export const MAX_BINS_LIMIT = 256;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Byte of each feature within a row: the histogram kernel reads byte q of word j as feature 4j+q. */
export function featureByteOffsets(nFeatures: number): Int32Array {
  const out = new Int32Array(nFeatures);
  for (let f = 0; f < nFeatures; f++) out[f] = LITTLE_ENDIAN ? f : 4 * (f >> 2) + 3 - (f & 3);
  return out;
}

/** Bytes per binned row. */
export function binStride(nFeatures: number): number {
  return Math.ceil(nFeatures / 4) * 4;
}

/**
 * Quantile cut points of one sorted feature: at most `maxBins` bins of roughly equal row counts,
 * where XGBoost's `hist` would cut (kernels/binning.kernel.ts).
 * When the feature has no more distinct values than bins, every distinct value gets its own bin, so
 * small integer and boolean features are split exactly. Cuts are raw data values, so a split learned
 * on bins applies unchanged to raw values (`x <= cut` goes left).
 */
export function computeCuts(sortedValues: Float64Array, maxBins: number): Float64Array {
  const out = new Float64Array(Math.max(0, maxBins - 1));
  return out.slice(0, cutsKernel(sortedValues, sortedValues.length, maxBins, out, 0));
}

/** The bin of a raw value: the number of cuts strictly below it. */
export function binOf(cuts: Float64Array, value: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Assemble a BinnedMatrix from the tables the binning kernels fill (cuts of feature f at f * 256). */
export function assembleBinned(
  nRows: number,
  nFeatures: number,
  bins: Uint8Array,
  cols: Uint8Array,
  cutsTable: Float64Array,
  nBins: Int32Array,
): BinnedMatrix {
  const cuts: Float64Array[] = [];
  for (let f = 0; f < nFeatures; f++)
    cuts.push(cutsTable.slice(f * MAX_BINS_LIMIT, f * MAX_BINS_LIMIT + nBins[f]! - 1));
  return {
    nRows,
    nFeatures,
    stride: binStride(nFeatures),
    bins,
    cols,
    byteOffset: featureByteOffsets(nFeatures),
    cuts,
    nBins: nBins.slice(),
  };
}

/** Quantise every feature of a matrix into bins on the calling thread (the trainer bins on its lanes). */
export function binMatrix(matrix: FeatureMatrix, options: { maxBins: number }): BinnedMatrix {
  const { nRows, nFeatures, values } = matrix;
  const maxBins = Math.min(MAX_BINS_LIMIT, options.maxBins);
  const stride = binStride(nFeatures);
  const bins = allocateUint8(nRows * stride, false);
  const cols = allocateUint8(nRows * nFeatures, false);
  const cutsTable = new Float64Array(nFeatures * MAX_BINS_LIMIT);
  const nBins = new Int32Array(nFeatures);
  const column = new Float64Array(nRows);
  const a = new Float64Array(nRows);
  const b = new Float64Array(nRows);
  const counts = new Uint32Array(2048);
  for (let f = 0; f < nFeatures; f++) {
    extractColumns(values, nRows, nFeatures, f, 1, 1, column);
    let nCuts = distinctCuts(column, nRows, maxBins, cutsTable, f * MAX_BINS_LIMIT);
    if (nCuts < 0)
      nCuts = cutsKernel(sortFloat64(column, nRows, a, b, counts), nRows, maxBins, cutsTable, f * MAX_BINS_LIMIT);
    nBins[f] = nCuts + 1;
    fillBins(column, nRows, cutsTable, f * MAX_BINS_LIMIT, nCuts, cols, f * nRows);
  }
  transposeBins(
    cols,
    nRows,
    nFeatures,
    bins,
    stride,
    featureByteOffsets(nFeatures),
    new Int32Array(nFeatures).fill(1),
    0,
    nRows,
  );
  return assembleBinned(nRows, nFeatures, bins, cols, cutsTable, nBins);
}
