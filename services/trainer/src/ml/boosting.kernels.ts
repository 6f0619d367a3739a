/**
 * The hot loops of histogram-based boosting. Worker threads run them from their source text
 * (`Function.prototype.toString`), so each must be self-contained: no imports, no module constants,
 * no helpers, nothing but its parameters and globals (Math, Atomics).
 *
 * Histogram layout: for feature `f` and bin `b`, the gradient sum is at `(f << 9) | (b << 1)` and
 * the hessian sum right after it. A binned row's features `4j .. 4j+3` are its 32-bit word `j`, and
 * fill the histogram slice `[j << 11, (j + 1) << 11)`.
 *
 * Determinism: every histogram cell and every feature's best split is computed by exactly one
 * thread, over the same rows in the same order, so results do not depend on the thread count.
 */

/** Doubles per 4-feature word in a histogram: 4 features x 256 bins x (gradient, hessian). */
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

/**
 * Logistic-loss gradient and hessian of the rows at positions `[from, to)` of `rows`, from their
 * margins. `weights` of length 0 means unweighted. exp is computed as in `fastExp` (fast-math.ts),
 * from the same tables, passed in because this function may not reference module constants.
 */
export function computeGradients(
  margin: Float64Array,
  labels: Uint8Array,
  weights: Float64Array,
  rows: Uint32Array,
  from: number,
  to: number,
  gh: Float64Array,
  expConstants: Float64Array,
  pow2Int: Float64Array,
  pow2Frac: Float64Array,
): void {
  const invLn2 = expConstants[0]!;
  const ln2Hi = expConstants[1]!;
  const ln2Lo = expConstants[2]!;
  const weighted = weights.length > 0;
  for (let i = from; i < to; i++) {
    const r = rows[i]!;
    // exp(-margin), with the argument clamped where the sigmoid is 0 or 1 in double precision anyway.
    let x = -margin[r]!;
    x = x > 700 ? 700 : x < -700 ? -700 : x;
    const biased = (x * invLn2 + 70400.5) | 0;
    const k = biased - 70400;
    const q = x - k * ln2Hi - k * ln2Lo;
    const e = pow2Int[biased >> 6]! * pow2Frac[biased & 63]! * (1 + q * (1 + q * (0.5 + q * (0.16666666666666666 + q * (0.041666666666666664 + q * 0.008333333333333333)))));
    const p = 1 / (1 + e);
    const w = weighted ? weights[r]! : 1;
    gh[r << 1] = (p - labels[r]!) * w;
    const h = p * (1 - p);
    // XGBoost floors the hessian at 1e-16 so leaves of confidently predicted rows stay finite.
    gh[(r << 1) | 1] = (h > 1e-16 ? h : 1e-16) * w;
  }
}

/**
 * Stable partition of `rows[start .. end)` on `bin(feature) <= bin`, reading the column-major bins:
 * left rows are packed at `rows[start ..]`, right rows at `tmp[start ..]`; returns the left count.
 * Branch-free, because a row's side is unpredictable and a mispredicted branch per row costs more
 * than the two stores.
 */
export function partitionRows(
  cols: Uint8Array,
  nRows: number,
  rows: Uint32Array,
  tmp: Uint32Array,
  start: number,
  end: number,
  feature: number,
  bin: number,
): number {
  const base = feature * nRows;
  let l = start;
  let rr = start;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const left = 1 ^ ((bin - cols[base + r]!) >>> 31);
    rows[l] = r;
    tmp[rr] = r;
    l += left;
    rr += 1 - left;
  }
  return l - start;
}

/**
 * Best split over the features `features[from .. to)` of a node with gradient sum `G` and hessian
 * sum `H`, by XGBoost's gain GL²/(HL+λ) + GR²/(HR+λ) − G²/(H+λ). Writes
 * [gain, feature, bin, GL, HL] at `out[at ..]`; feature is -1 when nothing beats `minGain`.
 * Ties keep the lowest feature, then the lowest bin.
 */
export function findBestSplit(
  hist: Float64Array,
  G: number,
  H: number,
  nBins: Int32Array,
  features: Int32Array,
  from: number,
  to: number,
  lambda: number,
  minChild: number,
  minGain: number,
  out: Float64Array,
  at: number,
): void {
  const parentScore = (G * G) / (H + lambda);
  let bestGain = minGain;
  let bestFeature = -1;
  let bestBin = -1;
  let bestGL = 0;
  let bestHL = 0;
  if (H >= 2 * minChild) {
    for (let i = from; i < to; i++) {
      const f = features[i]!;
      const first = f << 9;
      const last = first + ((nBins[f]! - 1) << 1);
      let gl = 0;
      let hl = 0;
      for (let k = first; k < last; k += 2) {
        gl += hist[k]!;
        hl += hist[k + 1]!;
        if (hl < minChild) continue;
        const hr = H - hl;
        if (hr < minChild) break;
        const gr = G - gl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          bestBin = (k - first) >> 1;
          bestGL = gl;
          bestHL = hl;
        }
      }
    }
  }
  out[at] = bestGain;
  out[at + 1] = bestFeature;
  out[at + 2] = bestBin;
  out[at + 3] = bestGL;
  out[at + 4] = bestHL;
}
