import {
  computeCuts,
  distinctCuts,
  extractColumns,
  fillBins,
  sortFloat64,
  transposeBins,
} from '../kernels/binning.kernel.js';
import { computeGradients } from '../kernels/gradient.kernel.js';
import {
  HIST_SLICE,
  HIST_WORD_SIZE,
  accumulateHistogram,
  addHistogram,
  clearHistogram,
  subtractHistogram,
  subtractUnpacked,
  unpackHistograms,
} from '../kernels/histogram.kernel.js';
import { addLeafValues, closeLeaf, partitionRows, splitIntoLeaves } from '../kernels/partition.kernel.js';
import { findBestSplit } from '../kernels/split.kernel.js';
import type { WasmKernels } from '../wasm/wasm.module.js';

/** The kernels a lane runs, by the JavaScript kernels' signatures. */
export interface Kernels {
  accumulate: typeof accumulateHistogram;
  clear: typeof clearHistogram;
  subtract: typeof subtractHistogram;
  add: typeof addHistogram;
  subtractUnpacked: typeof subtractUnpacked;
  gradients: typeof computeGradients;
  partition: typeof partitionRows;
  leaves: typeof splitIntoLeaves;
  close: typeof closeLeaf;
  addLeaves: typeof addLeafValues;
  split: typeof findBestSplit;
  unpack: typeof unpackHistograms;
  sort: typeof sortFloat64;
  cuts: typeof computeCuts;
  distinct: typeof distinctCuts;
  fill: typeof fillBins;
  extract: typeof extractColumns;
  transpose: typeof transposeBins;
}

/** The JavaScript kernels. */
export const JS_KERNELS: Readonly<Kernels> = {
  accumulate: accumulateHistogram,
  clear: clearHistogram,
  subtract: subtractHistogram,
  add: addHistogram,
  subtractUnpacked,
  gradients: computeGradients,
  partition: partitionRows,
  leaves: splitIntoLeaves,
  close: closeLeaf,
  addLeaves: addLeafValues,
  split: findBestSplit,
  unpack: unpackHistograms,
  sort: sortFloat64,
  cuts: computeCuts,
  distinct: distinctCuts,
  fill: fillBins,
  extract: extractColumns,
  transpose: transposeBins,
};

/** Bytes per histogram word. */
const WORD_BYTES = 8 * HIST_WORD_SIZE;

/** Doubles of `scratch` per lane: 4 for the leaf sums, the 256 padded cuts of `fill`, the 1,024-slot table of `distinct`. */
export const LANE_SCRATCH = 4 + 256 + 1024;

/**
 * The kernels of lane `lane`: the JavaScript ones, with the WebAssembly histogram (accumulate,
 * clear, subtract, add), partition, leaf, (common case) gradient, sort, cut, bin and transpose kernels
 * in place of theirs. Arrays are views of the module's memory, so their byte offsets are
 * addresses; `scratch` holds LANE_SCRATCH doubles per lane. The binning kernels run once per fit,
 * so in JavaScript they ran mostly before V8 had optimised them (a fresh fit's binning took 84 ms
 * against 50 ms warm); WebAssembly runs compiled from the first call.
 */
export function laneKernels(wasm: WasmKernels, scratch: Float64Array, lane: number): Kernels {
  const sums = LANE_SCRATCH * lane;
  const sumsAt = scratch.byteOffset + 8 * sums;
  const pad = scratch.subarray(sums + 4, sums + 4 + 256);
  const table = scratch.subarray(sums + 4 + 256, sums + LANE_SCRATCH);
  return {
    ...JS_KERNELS,
    sort: (column, n, a, b, counts) =>
      wasm.sort(column.byteOffset, n, a.byteOffset, b.byteOffset, counts.byteOffset) === a.byteOffset ? a : b,
    distinct: (column, n, maxBins, out, at) => {
      const count = wasm.distinct(column.byteOffset, n, maxBins, table.byteOffset);
      if (count < 0) return -1;
      // Every distinct value but the largest, ascending (as distinctCuts gives them).
      const distinct = new Float64Array(count);
      let j = 0;
      for (let h = 0; h < table.length; h++) if (table[h] === table[h]) distinct[j++] = table[h]!;
      distinct.sort();
      out.set(distinct.subarray(0, Math.max(0, count - 1)), at);
      return Math.max(0, count - 1);
    },
    // Into `pad` (256 doubles; maxBins <= 256), then copied: the cuts table is not in the arena.
    cuts: (sorted, n, maxBins, out, at) => {
      const nCuts = wasm.cuts(sorted.byteOffset, n, maxBins, pad.byteOffset);
      out.set(pad.subarray(0, nCuts), at);
      return nCuts;
    },
    fill: (column, n, cuts, cutsAt, nCuts, out, at) => {
      if (nCuts === 0) {
        out.fill(0, at, at + n);
        return;
      }
      pad.fill(Number.POSITIVE_INFINITY);
      pad.set(cuts.subarray(cutsAt, cutsAt + nCuts));
      let half = 1;
      while (half * 2 <= nCuts) half *= 2;
      wasm.fill(column.byteOffset, n, pad.byteOffset, half, out.byteOffset + at);
    },
    transpose: (cols, nRows, nFeatures, bins, stride, byteOffset, mult, from, to) => {
      wasm.zero(bins.byteOffset + from * stride, (to - from) * stride);
      for (let f = 0; f < nFeatures; f++) {
        const o = byteOffset[f]!;
        if (o >= 0) wasm.transposeColumn(cols.byteOffset + f * nRows, bins.byteOffset + o, stride, from, to, mult[f]!);
      }
    },
    leaves: (cols, nRows, rows, start, end, feature, bin, leftId, rightId, leafOf, gh, out, at) => {
      wasm.leaves(
        cols.byteOffset + feature * nRows,
        rows.byteOffset,
        start,
        end,
        bin,
        leftId,
        rightId,
        leafOf.byteOffset,
        gh.byteOffset,
        sumsAt,
      );
      for (let j = 0; j < 4; j++) out[at + j] = scratch[sums + j]!;
    },
    close: (rows, start, end, id, leafOf, gh, out, at) => {
      wasm.close(rows.byteOffset, start, end, id, leafOf.byteOffset, gh.byteOffset, sumsAt);
      out[at] = scratch[sums]!;
      out[at + 1] = scratch[sums + 1]!;
    },
    // The common case (no subsample, no weights); the general loop stays in JavaScript.
    gradients: (
      margin,
      labels,
      weights,
      rows,
      from,
      to,
      fused,
      leafOf,
      leafValue,
      gh,
      packed,
      q,
      exp,
      pow2Int,
      pow2Frac,
    ) =>
      fused !== 1 || weights.length > 0
        ? computeGradients(
            margin,
            labels,
            weights,
            rows,
            from,
            to,
            fused,
            leafOf,
            leafValue,
            gh,
            packed,
            q,
            exp,
            pow2Int,
            pow2Frac,
          )
        : wasm.gradients(
            margin.byteOffset,
            labels.byteOffset,
            rows.byteOffset,
            from,
            to,
            leafOf.byteOffset,
            leafValue.byteOffset,
            gh.byteOffset,
            packed.byteOffset,
            pow2Int.byteOffset,
            pow2Frac.byteOffset,
            q[3]! | 0,
            exp[0]!,
            exp[1]!,
            exp[2]!,
            q[0]!,
            q[1]!,
            q[2]!,
          ),
    accumulate: (bins32, wordsPerRow, packed, rows, start, end, hist, wordFrom, wordTo, lastBytes) =>
      wasm.accumulate(
        bins32.byteOffset,
        wordsPerRow,
        packed.byteOffset,
        rows.byteOffset,
        start,
        end,
        hist.byteOffset,
        wordFrom,
        wordTo,
        lastBytes,
      ),
    clear: (hist, wordFrom, wordTo) =>
      wasm.zero(hist.byteOffset + WORD_BYTES * wordFrom, WORD_BYTES * (wordTo - wordFrom)),
    subtract: (parent, child, wordFrom, wordTo) =>
      wasm.subtract(
        parent.byteOffset + WORD_BYTES * wordFrom,
        child.byteOffset + WORD_BYTES * wordFrom,
        WORD_BYTES * (wordTo - wordFrom),
      ),
    add: (hist, partial, wordFrom, wordTo) =>
      wasm.add(
        hist.byteOffset + WORD_BYTES * wordFrom,
        partial.byteOffset + WORD_BYTES * wordFrom,
        WORD_BYTES * (wordTo - wordFrom),
      ),
    unpack: (hist, features, from, to, slotOf, mult, span, nBins, histAt) => {
      for (let i = from; i < to; i++) {
        const f = features[i]!;
        const s = slotOf[f]! * HIST_SLICE;
        const at = histAt[f]!;
        if (at !== s) wasm.unpack(hist.byteOffset + 8 * s, hist.byteOffset + 8 * at, nBins[f]!, mult[f]!, span[f]!);
      }
    },
    partition: (cols, nRows, rows, left, right, start, end, feature, bin) =>
      wasm.partition(
        cols.byteOffset + feature * nRows,
        rows.byteOffset,
        left.byteOffset,
        right.byteOffset,
        start,
        end,
        bin,
      ),
  };
}
