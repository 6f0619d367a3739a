/**
 * The hot loops of histogram-based boosting. They are plain functions over typed arrays with no
 * references outside their parameters, because the worker threads run them from their source text
 * (`Function.prototype.toString`): keep them self-contained, free of closures and helpers.
 *
 * Histogram layout: for feature `f` and bin `b`, the gradient sum is at `(f << 9) | (b << 1)` and
 * the hessian sum right after it. A row's four features `4j .. 4j+3` are one 32-bit word `j` of the
 * binned row, and occupy the histogram slice `[j << 11, (j + 1) << 11)`.
 *
 * Determinism: every (feature, bin) cell is summed by exactly one thread, over the node's rows in
 * the same order, so the result does not depend on the number of threads.
 */

/** Doubles per feature in a histogram: 256 bins x (gradient, hessian). */
export const HIST_FEATURE_SIZE = 512;
/** Doubles per 4-feature word in a histogram. */
export const HIST_WORD_SIZE = 2048;

/**
 * Zero, then accumulate, the histogram cells of words `words[wordFrom .. wordTo)` over the rows
 * `rows[start .. end)`. `gh` interleaves each row's gradient and hessian.
 */
export function accumulateHistogram(
  bins32: Uint32Array,
  wordsPerRow: number,
  gh: Float64Array,
  rows: Uint32Array,
  start: number,
  end: number,
  hist: Float64Array,
  words: Int32Array,
  wordFrom: number,
  wordTo: number,
): void {
  for (let w = wordFrom; w < wordTo; w++) {
    const o = words[w]! << 11;
    hist.fill(0, o, o + 2048);
  }
  if (wordTo - wordFrom === wordsPerRow) {
    // All words active: the common case, without the indirection through `words`.
    for (let i = start; i < end; i++) {
      const r = rows[i]!;
      const g = gh[r << 1]!;
      const h = gh[(r << 1) | 1]!;
      const base = r * wordsPerRow;
      for (let j = 0; j < wordsPerRow; j++) {
        const x = bins32[base + j]!;
        const o = j << 11;
        let k = o | ((x & 255) << 1);
        hist[k] = hist[k]! + g;
        hist[k | 1] = hist[k | 1]! + h;
        k = o | 512 | ((x >>> 7) & 510);
        hist[k] = hist[k]! + g;
        hist[k | 1] = hist[k | 1]! + h;
        k = o | 1024 | ((x >>> 15) & 510);
        hist[k] = hist[k]! + g;
        hist[k | 1] = hist[k | 1]! + h;
        k = o | 1536 | ((x >>> 23) & 510);
        hist[k] = hist[k]! + g;
        hist[k | 1] = hist[k | 1]! + h;
      }
    }
    return;
  }
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const g = gh[r << 1]!;
    const h = gh[(r << 1) | 1]!;
    const base = r * wordsPerRow;
    for (let w = wordFrom; w < wordTo; w++) {
      const j = words[w]!;
      const x = bins32[base + j]!;
      const o = j << 11;
      let k = o | ((x & 255) << 1);
      hist[k] = hist[k]! + g;
      hist[k | 1] = hist[k | 1]! + h;
      k = o | 512 | ((x >>> 7) & 510);
      hist[k] = hist[k]! + g;
      hist[k | 1] = hist[k | 1]! + h;
      k = o | 1024 | ((x >>> 15) & 510);
      hist[k] = hist[k]! + g;
      hist[k | 1] = hist[k | 1]! + h;
      k = o | 1536 | ((x >>> 23) & 510);
      hist[k] = hist[k]! + g;
      hist[k | 1] = hist[k | 1]! + h;
    }
  }
}

/** `parent -= child` over the given words: the histogram subtraction trick for the larger sibling. */
export function subtractHistogram(parent: Float64Array, child: Float64Array, words: Int32Array, wordFrom: number, wordTo: number): void {
  for (let w = wordFrom; w < wordTo; w++) {
    const o = words[w]! << 11;
    const e = o + 2048;
    for (let k = o; k < e; k++) parent[k] = parent[k]! - child[k]!;
  }
}
